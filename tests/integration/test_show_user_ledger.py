"""`ledger log` and `cashflow list` as a trader types them: a typo in a kind or an account is
one line and exit 2 (it printed an empty table, exit 0), `--limit 0` shows none, and the net
of flows in two currencies is one net per currency (it added CHF to USD)."""

from __future__ import annotations

import json
from pathlib import Path


def _events(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    return len(json.loads(cli("--home", root, "ledger", "log", "--json").out))


def test_a_misspelt_event_kind_is_refused_naming_the_kinds(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", workspace, "ledger", "log", "--kind", "snapshot.recoded")
    assert result.code == 2, result
    assert "--kind 'snapshot.recoded': not an event kind" in result.err and "snapshot.recorded" in result.err
    assert result.err.count("\n") == 1 and result.out == ""


def test_a_known_kind_with_no_event_yet_is_an_empty_list(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", workspace, "ledger", "log", "--kind", "commitment.made", "--json")
    assert result.code == 0 and json.loads(result.out) == []


def test_limit_zero_shows_no_event(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    assert _events(cli, workspace) > 0
    result = cli("--home", workspace, "ledger", "log", "--limit", "0", "--json")
    assert result.code == 0 and json.loads(result.out) == []
    latest = json.loads(cli("--home", workspace, "ledger", "log", "--limit", "1", "--json").out)
    assert [e["seq"] for e in latest] == [_events(cli, workspace)]


def test_cashflow_list_of_an_unknown_account_is_refused(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-03-02", "--amount", "1000").code == 0
    result = cli("--home", workspace, "cashflow", "list", "--account", "U999")
    assert result.code == 2, result
    assert "--account U999: the ledger holds nothing of it" in result.err and result.err.count("\n") == 1


def test_the_net_of_flows_in_two_currencies_is_one_per_currency(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    config = workspace / "trackrecord.yaml"  # a flow in USD needs a USD rate (without one it is refused)
    config.write_text(config.read_text().replace("fx_rates: {}", "fx_rates: {USD: '0.8'}", 1))
    for amount, currency in (("1000", "GBP"), ("-250", "GBP"), ("500", "USD")):
        result = cli("--home", workspace, "cashflow", "add", "--date", "2026-03-02", "--amount", amount,
                     "--currency", currency, "--again")
        assert result.code == 0, result
    out = cli("--home", workspace, "cashflow", "list").out
    assert "3 cash flow(s), net 750.00 GBP, 500.00 USD" in out
    assert "1,250.00" not in out


def test_a_snapshot_or_a_fill_dated_in_the_future_is_refused_and_nothing_written(  # type: ignore[no-untyped-def]
        cli, workspace: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T18:00:00Z")
    before = _events(cli, workspace)
    (tmp_path / "navs.csv").write_text("date,nav\n2026-05-29,100000\n2027-06-01,100500\n")
    result = cli("--home", workspace, "import", "snapshots", tmp_path / "navs.csv")
    assert result.code == 2, result
    assert "navs.csv: the snapshot of 2027-06-01 is in the future (today is 2026-06-01)" in result.err
    (tmp_path / "fills.csv").write_text("trade_id,timestamp,symbol,side,quantity,fill_price,commission,"
                                        "commission_currency\nX1,2026-06-02T10:00:00Z,SXLK,BUY,3,100,-3,GBP\n")
    result = cli("--home", workspace, "import", "fills", tmp_path / "fills.csv")
    assert result.code == 2 and "fill X1 executed on 2026-06-02 is in the future" in result.err, result
    assert result.err.count("\n") == 1 and _events(cli, workspace) == before
    (tmp_path / "navs.csv").write_text("date,nav\n2026-05-29,100000\n2026-06-01,100500\n")
    assert cli("--home", workspace, "import", "snapshots", tmp_path / "navs.csv").code == 0


def test_a_record_of_one_day_does_not_claim_a_frequency(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "navs.csv").write_text("date,nav\n2026-03-02,100000\n")
    assert cli("--home", workspace, "import", "snapshots", tmp_path / "navs.csv").code == 0
    out = cli("--home", workspace, "stats").out
    assert "Record frequency: not known yet (a single snapshot, no return)" in out
    assert "base 2026-03-02: no return yet (one snapshot)" in out and "returns - to" not in out
