"""``trackrecord attribution`` on a paper record with known frictions (issue 15 item 3): a fixed
commission per order, the simulated slippage, one rebalance the kill switch refused and a 5 %
cash buffer. Each bucket equals the friction put in and the buckets sum to the TWR gap."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult

BUFFER = 0.05
COMMISSION = 5.0
BASE, REFUSED = "2025-07-31", "2025-09-01"
REBALANCES = ("2025-08-01", REFUSED, "2025-10-01", "2025-11-03", "2025-12-01")


def _configure(root: Path) -> None:
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', 'mode: "paper"', config.read_text(), flags=re.MULTILINE)
    for old, new in (('history_start: "2015-01-01"', 'history_start: "2024-06-01"'),
                     ("cash_buffer: 0.01", f"cash_buffer: {BUFFER}"), ('commission_rate: "0.0005"', 'commission_rate: "0"'),
                     ('commission_min: "3"', f'commission_min: "{COMMISSION:g}"'), ('slippage_bps: "2"', 'slippage_bps: "3"')):
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text)


def _json(result: CliResult) -> Any:
    assert result.code == 0, result
    return json.loads(result.out)


def _build(root: Path, rebalances: tuple[str, ...], database_url: str | None = None) -> Path:
    """Monthly rebalances on synthetic prices from a funded base snapshot; the kill switch refuses
    the one on REFUSED."""
    from trackrecord.cli.app import run

    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    _configure(root)
    if database_url is not None:
        config = root / "trackrecord.yaml"
        config.write_text(config.read_text().replace("  url: null", f'  url: "{database_url}"', 1))
    home = ["--home", str(root)]
    assert run([*home, "prices", "update"]) == 0
    assert run([*home, "cashflow", "add", "--date", "2025-07-01", "--amount", "100000"]) == 0
    assert run([*home, "snapshot", "--as-of", BASE]) == 0
    for session in rebalances:
        if session == REFUSED:
            assert run([*home, "kill-switch", "activate", "a refused rebalance, on purpose"]) == 0
            assert run([*home, "execute", "--as-of", session]) == 3
            assert run([*home, "kill-switch", "deactivate", "--yes"]) == 0
            assert run([*home, "snapshot", "--as-of", session]) == 0
        else:
            assert run([*home, "execute", "--as-of", session]) == 0
        if session == "2025-11-03":  # its plan had no order: nothing snapshotted it
            assert run([*home, "snapshot", "--as-of", session]) == 0
    return root


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five monthly rebalances on synthetic prices; the kill switch refuses the second."""
    return _build(tmp_path_factory.mktemp("attribution") / "ws", REBALANCES)


@pytest.fixture
def copied(record: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(record, root)
    return root


def test_each_bucket_equals_the_friction_put_in_and_they_sum_to_the_gap(record: Path, cli) -> None:  # type: ignore[no-untyped-def]
    document = _json(cli("--home", record, "attribution", "--json"))
    assert document["simulated"] is True and document["paper"] is True
    months = {m["period"]: m for m in document["months"]}
    assert list(months) == ["2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    for period in (*months.values(), document["total"]):
        assert sum(period["buckets"].values()) == pytest.approx(period["gap"], abs=1e-9)
        # the residual: the simulated broker marks at closes rounded to 0.0001, the stored close is a float
        assert abs(period["buckets"]["residual"]) < 1e-6 and abs(period["buckets"]["income"]) < 1e-9

    # the refused rebalance: selection, only while the model held what the account did not
    assert document["untraded_model_sessions"] == [REFUSED]
    selection = {label: m["buckets"]["selection"] for label, m in months.items()}
    assert selection["2025-08"] == selection["2025-09"] == 0.0
    assert abs(selection["2025-10"]) > 1e-5
    assert abs(selection["2025-11"]) < 1e-12 and abs(selection["2025-12"]) < 1e-12

    # the cash buffer: after each traded rebalance the buffered portfolio is (1 - b) of the traded one
    for label in ("2025-09", "2025-11", "2025-12"):  # months whose base is a traded rebalance
        m = months[label]
        assert m["buckets"]["cash_drag"] == pytest.approx(BUFFER * m["returns"]["traded"], abs=1e-12)

    # commissions and execution: their money is what the simulated broker charged, and in the
    # month of the first rebalance the bucket is that money on the opening NAV
    slippage = _json(cli("--home", record, "slippage", "--json"))["total"]
    money = document["total"]["money"]
    assert money["commissions"] == pytest.approx(slippage["commission"], abs=1e-9)
    assert money["commissions"] == COMMISSION * slippage["fills"]
    assert money["execution"] == pytest.approx(slippage["execution_cost"], abs=1e-6) and money["execution"] > 0
    assert money["delay"] == pytest.approx(slippage["delay_cost"], abs=1e-6)
    first = months["2025-08"]
    assert first["buckets"]["costs"] == pytest.approx(first["money"]["commissions"] / 100_000, abs=1e-12)
    assert first["buckets"]["execution"] == pytest.approx(first["money"]["execution"] / 100_000, abs=1e-12)
    navs = {e["payload"]["session_date"]: float(e["payload"]["nav"])
            for e in _json(cli("--home", record, "ledger", "log", "--kind", "snapshot.recorded", "--json"))}
    paid = 0.0
    for m in months.values():  # later months: also the earlier commissions, kept as cash by the account without them
        base = navs[m["start"]]
        carry = paid / base * abs(m["returns"]["executed"]) * 1.5
        assert m["buckets"]["costs"] == pytest.approx(m["money"]["commissions"] / base, abs=carry + 1e-9)
        paid += m["money"]["commissions"]

    # the live side is the record's own TWR, as `stats` shows it
    stats = _json(cli("--home", record, "stats", "--json"))
    assert document["total"]["live_return"] == pytest.approx(stats["metrics"]["total_return"], abs=1e-12)


def test_the_table_shows_the_months_the_total_and_the_untraded_rebalance(record: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("--home", record, "attribution", "2025-10-01", "2025-12-31")
    assert shown.code == 0, shown
    assert "SIMULATED" in shown.out and "total" in shown.out and "2025-09" not in shown.out
    assert f"did not trade on their session: {REFUSED}" not in shown.out  # outside the period
    assert "Resid" in shown.out, "the residual is always shown"


def test_months_as_from_and_to_are_their_first_and_last_days(record: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """`attribution 2025-10 2025-12` is October to December, as a trader types it; `stats`
    takes months the same way."""
    for command in ("attribution", "stats"):
        months = cli("--home", record, command, "2025-10", "2025-12", "--json")
        assert months.code == 0, months
        assert _json(months) == _json(cli("--home", record, command, "2025-10-01", "2025-12-31", "--json"))


def test_attribution_refuses_bad_input_in_one_line_and_writes_nothing(copied: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = len(_json(cli("--home", copied, "ledger", "log", "--json")))
    for args, words in ((("2025-13-01",), "FROM"), (("2025-12-01", "2025-10-01"), "after"),
                        (("--account", "NOPE"),  "NOPE"), (("2030-01-01",), "no snapshot")):
        refused = cli("--home", copied, "attribution", *args)
        assert refused.code == 2, (args, refused)
        assert refused.err.startswith("error: ") and refused.err.count("\n") == 1, refused
        assert words in refused.err and "Traceback" not in refused.err
    assert len(_json(cli("--home", copied, "ledger", "log", "--json"))) == before


def test_a_record_without_an_executed_plan_has_no_model(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    _configure(root)
    assert cli("--home", root, "prices", "update").code == 0
    assert cli("--home", root, "cashflow", "add", "--date", "2025-07-01", "--amount", "1000").code == 0
    for day in ("2025-07-31", "2025-08-29"):
        assert cli("--home", root, "snapshot", "--as-of", day).code == 0
    refused = cli("--home", root, "attribution")
    assert refused.code == 2 and "no executed plan" in refused.err and refused.err.count("\n") == 1, refused


@pytest.mark.slow
def test_the_same_record_on_postgresql_has_the_same_attribution(record: Path, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                                pg_url: str) -> None:
    on_postgresql = _build(tmp_path / "ws", REBALANCES[:3], pg_url)
    assert "postgresql" in (on_postgresql / "trackrecord.yaml").read_text()
    short = _json(cli("--home", on_postgresql, "attribution", "--json"))
    full = {m["period"]: m for m in _json(cli("--home", record, "attribution", "--json"))["months"]}
    assert [m["period"] for m in short["months"]] == ["2025-08", "2025-09", "2025-10"]
    assert short["untraded_model_sessions"] == [REFUSED]
    for month in short["months"]:  # these months end before the sessions the short record lacks
        assert month["buckets"] == pytest.approx(full[month["period"]]["buckets"], abs=1e-12)
        assert month["gap"] == pytest.approx(sum(month["buckets"].values()), abs=1e-9)
