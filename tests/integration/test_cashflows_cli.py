"""Cash flows as a trader records them: each of one account, dated on a session, never in the
future, voidable by a correction event, and checked against the NAV they should move."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _events(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


def _snapshots(cli, root: Path, tmp_path: Path, account: str, navs: list[tuple[str, float]]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"nav-{account}.csv"
    path.write_text("date,nav\n" + "".join(f"{d},{v}\n" for d, v in navs))
    result = cli("--home", root, "import", "snapshots", path, "--account", account)
    assert result.code == 0, result


def _stats(cli, root: Path, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("--home", root, "stats", "--benchmark", "none", "--json", *args)
    assert result.code == 0, result
    return json.loads(result.out)


def _listed(cli, root: Path) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    result = cli("--home", root, "cashflow", "list", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def test_an_account_is_not_moved_by_another_accounts_deposit(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _snapshots(cli, workspace, tmp_path, "A", [("2026-01-05", 100000), ("2026-01-06", 151000), ("2026-01-07", 151000)])
    _snapshots(cli, workspace, tmp_path, "B", [("2026-01-05", 100), ("2026-01-06", 100), ("2026-01-07", 100)])
    added = cli("--home", workspace, "cashflow", "add", "--date", "2026-01-06", "--amount", "50000", "--account", "A")
    assert added.code == 0, added
    assert "for account A" in added.out
    assert _stats(cli, workspace, "--account", "B")["metrics"]["total_return"] == pytest.approx(0.0, abs=1e-12)
    # A: (151 000 - 100 000 - 50 000) / (100 000 + 50 000) = +0.667 %, not +51 %
    assert _stats(cli, workspace, "--account", "A")["metrics"]["total_return"] == pytest.approx(1000 / 150000)
    assert [f["account"] for f in _listed(cli, workspace)] == ["A"]


def test_a_flow_without_an_account_belongs_to_the_default_account(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Flows recorded before flows had accounts (or imported without one) keep counting for the
    account `stats` shows by default, and for no other."""
    _snapshots(cli, workspace, tmp_path, "A", [("2026-01-05", 100000), ("2026-01-06", 110000), ("2026-01-07", 110000)])
    _snapshots(cli, workspace, tmp_path, "B", [("2026-01-05", 100), ("2026-01-06", 100)])
    flows = tmp_path / "flows.csv"
    flows.write_text("date,amount\n2026-01-06,10000\n")
    assert cli("--home", workspace, "import", "cashflows", flows).code == 0
    assert _stats(cli, workspace)["metrics"]["total_return"] == pytest.approx(0.0, abs=1e-12)
    assert _stats(cli, workspace, "--account", "B")["metrics"]["total_return"] == pytest.approx(0.0, abs=1e-12)


def test_a_future_dated_flow_is_refused(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    before = _events(cli, workspace)
    result = cli("--home", workspace, "cashflow", "add", "--date", "2099-01-05", "--amount", "1000")
    assert result.code == 2 and result.err.startswith("error: --date 2099-01-05") and "future" in result.err
    assert result.err.count("\n") == 1
    assert _events(cli, workspace) == before


def test_a_flow_on_a_weekend_is_booked_on_the_next_session(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", workspace, "cashflow", "add", "--date", "2026-01-03", "--amount", "1000")
    assert result.code == 0, result
    assert "2026-01-03 is not a XLON session: booked on the next session, 2026-01-05" in result.out
    [flow] = _listed(cli, workspace)
    assert flow["date"] == "2026-01-05" and flow["date_given"] == "2026-01-03"
    assert cli("--home", workspace, "verify").code == 0


def test_a_voided_flow_counts_in_no_figure(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _snapshots(cli, workspace, tmp_path, "A", [("2026-01-05", 100000), ("2026-01-06", 100000), ("2026-01-07", 101000)])
    wrong = cli("--home", workspace, "cashflow", "add", "--date", "2026-01-06", "--amount", "20000", "--account", "A")
    assert wrong.code == 0
    seq = _listed(cli, workspace)[0]["seq"]
    assert _stats(cli, workspace, "--account", "A")["metrics"]["total_return"] < -0.1
    voided = cli("--home", workspace, "cashflow", "void", seq, "--reason", "typed on the wrong account")
    assert voided.code == 0, voided
    assert _stats(cli, workspace, "--account", "A")["metrics"]["total_return"] == pytest.approx(0.01)
    [flow] = _listed(cli, workspace)
    assert flow["voided_by"] > seq  # still in the record, with its correction
    assert "0 cash flow(s), net 0.00; 1 voided" in cli("--home", workspace, "cashflow", "list").out
    assert cli("--home", workspace, "verify").code == 0


@pytest.mark.parametrize("target", ["twice", "unknown", "not a flow"])
def test_voiding_twice_or_an_unknown_id_is_refused(cli, workspace: Path, target: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "1000").code == 0
    seq = _listed(cli, workspace)[0]["seq"]
    if target == "twice":
        assert cli("--home", workspace, "cashflow", "void", seq, "--reason", "duplicate").code == 0
    ident = {"twice": seq, "unknown": 999, "not a flow": 1}[target]
    before = _events(cli, workspace)
    result = cli("--home", workspace, "cashflow", "void", ident, "--reason", "again")
    assert result.code == 2 and result.err.startswith(f"error: cashflow void {ident}:") and result.err.count("\n") == 1
    assert _events(cli, workspace) == before


def test_a_repeated_flow_needs_again(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    args = ("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "1000", "--note", "top-up")
    assert cli(*args).code == 0
    seq = _listed(cli, workspace)[0]["seq"]
    before = _events(cli, workspace)
    repeated = cli(*args)
    assert repeated.code == 2 and f"seq {seq}" in repeated.err and "--again" in repeated.err
    assert _events(cli, workspace) == before
    assert cli(*args, "--again").code == 0
    assert len(_listed(cli, workspace)) == 2
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "1000",
               "--note", "another").code == 0


def test_a_deposit_the_nav_does_not_show_is_warned_about(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _snapshots(cli, workspace, tmp_path, "A", [("2026-01-05", 100000), ("2026-01-06", 100200)])
    result = cli("--home", workspace, "cashflow", "add", "--date", "2026-01-06", "--amount", "1000000", "--account", "A")
    assert result.code == 0, result
    assert "warning: the deposit of 1,000,000.00 on 2026-01-06 is not reflected in the NAV" in result.err
    assert "100,000.00 on 2026-01-05 to 100,200.00 on 2026-01-06" in result.err
    quiet = cli("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "100000", "--account", "A")
    assert quiet.code == 0 and "warning" not in quiet.err  # on the base snapshot: nothing to compare with


def test_stats_warns_about_a_flow_the_nav_does_not_show(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _snapshots(cli, workspace, tmp_path, "A", [("2026-01-05", 100000), ("2026-01-06", 100200), ("2026-01-07", 100300)])
    flows = tmp_path / "flows.csv"
    flows.write_text("date,amount\n2026-01-06,1000000\n")
    assert cli("--home", workspace, "import", "cashflows", flows).code == 0
    result = cli("--home", workspace, "stats", "--benchmark", "none")
    assert result.code == 0, result
    assert "Warning: the deposit of 1,000,000.00 on 2026-01-06 is not reflected in the NAV" in result.out


def _paper(workspace: Path, fx_rates: str = "{}") -> None:
    path = workspace / "trackrecord.yaml"
    text = path.read_text().replace('mode: "dry_run"', 'mode: "paper"')
    lines = [f"  fx_rates: {fx_rates}  # rates" if line.startswith("  fx_rates: ") else line for line in text.splitlines()]
    path.write_text("\n".join(lines) + "\n")


def test_a_flow_in_a_currency_without_a_rate_is_refused_before_it_is_recorded(  # type: ignore[no-untyped-def]
        cli, workspace: Path, tmp_path: Path) -> None:
    """Recorded, a USD deposit in a GBP paper account without a USD rate made every later
    paper command a BrokerError traceback (the simulated account books every flow)."""
    _paper(workspace)
    before = _events(cli, workspace)
    added = cli("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "1000", "--currency", "USD")
    assert added.code == 2 and added.err == ("error: --currency USD: the base currency is GBP and prices.fx_rates has "
                                             "no USD rate; add one to trackrecord.yaml (units of GBP per USD), or "
                                             "record the flow in GBP\n"), added
    (tmp_path / "flows.csv").write_text("date,amount,currency\n2026-01-05,500,GBP\n2026-01-06,7,EUR\n")
    imported = cli("--home", workspace, "import", "cashflows", tmp_path / "flows.csv")
    assert imported.code == 2 and f"{tmp_path / 'flows.csv'}:3: column 'currency' EUR" in imported.err, imported
    assert _events(cli, workspace) == before


def test_a_rate_removed_after_its_flow_was_recorded_is_named_not_a_traceback(  # type: ignore[no-untyped-def]
        cli, workspace: Path) -> None:
    _paper(workspace, "{USD: '0.8'}")
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "1000",
               "--currency", "USD").code == 0
    _paper(workspace)  # the rate taken out of trackrecord.yaml again
    for step in (("snapshot",), ("cashflow", "add", "--date", "2026-01-06", "--amount", "-10")):
        result = cli("--home", workspace, *step)
        assert result.code == 2 and result.err.count("\n") == 1, (step, result)
        assert "is in USD" in result.err and "add a USD rate to prices.fx_rates" in result.err, result
    _paper(workspace, "{USD: '0.8'}")
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-01-06", "--amount", "-10").code == 0
