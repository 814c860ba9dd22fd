"""`trackrecord reconcile`: a replay record exported as a synthetic Flex statement reconciles
with 0 breaks, and each break planted in the statement is found, and nothing else."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.flex_synthetic import SyntheticStatement, ledger_events, statement_from_events


@pytest.fixture(scope="module")
def replay_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-year SIMULATED demo record (~25 fills, 2 deposits, ~270 snapshots; it ends today), made once."""
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("replay") / "demo"
    assert run(["demo", str(root), "--years", "1", "--seed", "3"]) == 0
    return root


@pytest.fixture
def home(replay_record: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(replay_record, copy)
    return copy


@pytest.fixture
def statement(cli, home: Path) -> SyntheticStatement:  # type: ignore[no-untyped-def]
    return statement_from_events(ledger_events(cli, home))


def _reconcile(cli, home: Path, statement: SyntheticStatement, *options: str):  # type: ignore[no-untyped-def]
    path = home.parent / "statement.xml"
    path.write_bytes(statement.render())
    return cli("--home", home, "reconcile", path, "--json", *options)


def _breaks(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(b["area"], b["kind"]) for b in json.loads(result.out)["breaks"]]


def test_an_exported_replay_record_reconciles_with_no_break(cli, home: Path, statement: SyntheticStatement) -> None:
    result = _reconcile(cli, home, statement)
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["ok"] and document["breaks"] == []
    assert document["simulated"] is True
    assert document["compared"]["fills"] == document["matched"]["fills"] == len(statement.trades) > 15
    assert document["matched"]["cashflows"] == 2, "SUMMARY + DETAIL rows count once"
    assert document["matched"]["navs"] == len(statement.navs) > 200
    assert document["matched"]["positions"] == 3, "SUMMARY and LOT rows count once"
    assert set(document["checks_held"]) == {"change_in_nav", "change_in_nav_end", "change_in_nav_flows",
                                            "cash_report_flows"}
    income = {line["type"]: line for line in document["income_and_costs"]}
    assert income["Dividends"]["is"] == "income" and income["Withholding Tax"]["is"] == "cost"


def test_a_reconciliation_is_recorded_with_the_statement_and_its_hash(cli, home: Path,
                                                                     statement: SyntheticStatement) -> None:
    import hashlib

    result = _reconcile(cli, home, statement)
    document = json.loads(result.out)
    saved = home / document["statement"]["file"]
    assert saved.read_bytes() == statement.render()
    assert document["statement"]["sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert saved.with_name(saved.name + ".sha256").read_text().split()[0] == document["statement"]["sha256"]
    done = json.loads(cli("--home", home, "ledger", "log", "--kind", "reconciliation.done", "--json").out)
    assert [e["seq"] for e in done] == [document["seq"]]
    payload = done[0]["payload"]
    assert payload["statement"]["sha256"] == document["statement"]["sha256"] and payload["ok"] is True
    assert payload["statement"]["from_date"] == statement.from_date.isoformat()
    assert payload["break_count"] == 0 and payload["matched"]["fills"] == len(statement.trades) > 15
    assert cli("--home", home, "verify").code == 0


def test_reconciling_the_same_statement_again_with_the_same_result_records_nothing(
        cli, home: Path, statement: SyntheticStatement) -> None:
    first = json.loads(_reconcile(cli, home, statement).out)
    events = len(json.loads(cli("--home", home, "ledger", "log", "--json").out))
    again = json.loads(_reconcile(cli, home, statement).out)
    assert again["recorded"] is False and again["seq"] == first["seq"] and first["recorded"] is True
    assert len(json.loads(cli("--home", home, "ledger", "log", "--json").out)) == events
    statement.trades.pop()
    changed = json.loads(_reconcile(cli, home, statement).out)
    assert changed["recorded"] is True and changed["seq"] > first["seq"], "another statement: recorded"


def test_a_fill_missing_from_the_statement_is_the_only_break(cli, home: Path, statement: SyntheticStatement) -> None:
    gone = statement.trades.pop(7)
    result = _reconcile(cli, home, statement)
    assert result.code == 1
    assert _breaks(result) == [("fill", "missing_at_broker")]
    assert gone["ibExecID"] in json.loads(result.out)["breaks"][0]["message"]
    assert result.err.startswith("1 break(s) with the statement") and gone["ibExecID"] in result.err


def test_a_fill_the_ledger_lacks_is_the_only_break(cli, home: Path, statement: SyntheticStatement) -> None:
    statement.trades.append({**statement.trades[3], "ibExecID": "0000e0d5.6553e2e1.01.01", "tradeID": "9"})
    statement.trades[-1]["ibCommission"] = "0"
    result = _reconcile(cli, home, statement)
    assert _breaks(result) == [("fill", "missing_in_ledger")] and result.code == 1


def test_a_changed_commission_is_the_only_break(cli, home: Path, statement: SyntheticStatement) -> None:
    trade = statement.trades[4]
    trade["ibCommission"] = str(Decimal(trade["ibCommission"]) - Decimal("1.50"))
    result = _reconcile(cli, home, statement)
    assert _breaks(result) == [("fill", "different")]
    found = json.loads(result.out)["breaks"][0]
    assert found["key"] == f"{trade['ibExecID']} commission"


def test_a_deposit_missing_from_the_statement_is_the_only_break(cli, home: Path,
                                                                statement: SyntheticStatement) -> None:
    statement.remove_flow(statement.deposits()[1])
    result = _reconcile(cli, home, statement)
    assert _breaks(result) == [("cashflow", "missing_at_broker")]
    assert "25000" in json.loads(result.out)["breaks"][0]["message"]


def test_a_nav_off_by_one_unit_is_the_only_break(cli, home: Path, statement: SyntheticStatement) -> None:
    row = statement.navs[len(statement.navs) // 2]
    row["total"] = str(Decimal(row["total"]) + 1)
    result = _reconcile(cli, home, statement)
    assert _breaks(result) == [("nav", "different")]
    assert json.loads(result.out)["breaks"][0]["key"] == row["reportDate"]


def test_an_extra_position_at_the_broker_is_the_only_break(cli, home: Path, statement: SyntheticStatement) -> None:
    extra = {**statement.positions[0], "symbol": "SXLK", "conid": "4242", "position": "10"}
    statement.positions.append(extra)
    result = _reconcile(cli, home, statement)
    assert _breaks(result) == [("position", "missing_in_ledger")]
    assert json.loads(result.out)["breaks"][0]["key"] == "SXLK"


def test_a_statement_whose_totals_do_not_add_up_is_a_break(cli, home: Path, statement: SyntheticStatement) -> None:
    text = statement.render().replace(b'depositWithdrawals="125000"', b'depositWithdrawals="125001"')
    path = home.parent / "bad-totals.xml"
    path.write_bytes(text)
    result = cli("--home", home, "reconcile", path, "--json")
    assert _breaks(result) == [("statement", "totals")]


def test_import_cashflows_leaves_a_flow_the_simulated_account_cannot_take_as_a_break_with_the_reason(
        cli, home: Path, statement: SyntheticStatement) -> None:
    day = statement.from_date + timedelta(days=60)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    statement.add_flow(day, Decimal("5000"), "31222684826")
    events = len(json.loads(cli("--home", home, "ledger", "log", "--json").out))
    result = _reconcile(cli, home, statement, "--import-cashflows")
    document = json.loads(result.out)
    assert result.code == 1 and _breaks(result) == [("cashflow", "missing_in_ledger")]
    assert document["imported_cashflows"] == []
    assert any("31222684826" in w and "not booked" in w and "cannot be revalued" in w for w in document["warnings"])
    # the reconciliation and its checkpoint, no flow
    assert len(json.loads(cli("--home", home, "ledger", "log", "--json").out)) == events + 2


def test_the_text_report_names_each_break(cli, home: Path, statement: SyntheticStatement) -> None:
    statement.trades.pop(0)
    path = home.parent / "statement.xml"
    path.write_bytes(statement.render())
    result = cli("--home", home, "reconcile", path)
    assert result.code == 1
    assert "SIMULATED ledger" in result.out and "1 break(s)" in result.out
    assert "fill missing at broker: fill SIM-" in result.out and "not in the statement" in result.out
