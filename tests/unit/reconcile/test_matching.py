"""The comparison's rules on hand-made statements (pure: no workspace)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from trackrecord.domain import Side
from trackrecord.reconcile.flex import CashKind, FlexCash, FlexFill, FlexStatement
from trackrecord.reconcile.matching import LedgerFill, LedgerFlow, LedgerRecord, LedgerSnapshot, reconcile

D = Decimal
SECTIONS = frozenset({"Trades", "CashTransactions", "OpenPositions"})


def _statement(fills=(), cash=(), navs=(), positions=(), sections=SECTIONS) -> FlexStatement:  # type: ignore[no-untyped-def]
    return FlexStatement("U1", "GBP", date(2025, 3, 1), date(2025, 3, 31), "", None, tuple(fills), tuple(cash),
                         tuple(navs), tuple(positions), None, (), sections)


def _fill(exec_id: str | None, commission: str = "3", order_ref: str = "", booking: bool = False) -> FlexFill:
    return FlexFill("Trade #1", exec_id, "11", "SXLK", "1", Side.BUY, D(10), D("101.5"), "GBP", D(commission), "GBP",
                    order_ref, date(2025, 3, 3), booking)


def _ours(exec_id: str = "e1", commission: str | None = "3", order_ref: str = "tr-U1-20250303-SXLK-B") -> LedgerFill:
    return LedgerFill(exec_id, "SXLK", Side.BUY, D(10), D("101.5"), "GBP", None if commission is None else D(commission),
                      order_ref, date(2025, 3, 3))


def _deposit(day: date, amount: str, transaction_id: str = "", level: str = "DETAIL") -> FlexCash:
    return FlexCash("CashTransaction #1", transaction_id, CashKind.EXTERNAL_FLOW, "Deposits/Withdrawals", day, D(amount),
                    "GBP", D(1), "", level)


def _record(fills=(), flows=(), snapshots=()) -> LedgerRecord:  # type: ignore[no-untyped-def]
    return LedgerRecord("U1", "GBP", list(fills), list(flows), list(snapshots))


def _kinds(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(b.area.value, b.kind.value) for b in result.breaks]


def test_a_book_trade_without_exec_id_matches_a_fill_of_the_same_symbol_side_quantity_and_day() -> None:
    result = reconcile(_statement([_fill(None, booking=True)]), _record([_ours("e9")]), {})
    assert result.ok and result.matched["fills"] == 1
    missing = reconcile(_statement([_fill(None, booking=True)]), _record(), {})
    assert _kinds(missing) == [("fill", "missing_in_ledger")] and "without exec id" in missing.breaks[0].message


def test_a_pending_commission_and_another_order_ref_are_differences() -> None:
    result = reconcile(_statement([_fill("e1", order_ref="manual")]), _record([_ours(commission=None)]), {})
    assert [b.key for b in result.breaks] == ["e1 commission", "e1 orderRef"]


def test_an_order_ref_ib_does_not_show_is_no_difference() -> None:
    assert reconcile(_statement([_fill("e1")]), _record([_ours()]), {}).ok


def test_ib_symbols_are_mapped_to_ours() -> None:
    fill = FlexFill("Trade #1", "e1", "11", "SXLK.L", "1", Side.BUY, D(10), D("101.5"), "GBP", D(3), "GBP", "",
                    date(2025, 3, 3), False)
    assert reconcile(_statement([fill]), _record([_ours()]), {"SXLK.L": "SXLK"}).ok
    assert [b.key for b in reconcile(_statement([fill]), _record([_ours()]), {}).breaks] == ["e1 symbol"]


def test_a_flow_booked_on_the_next_session_matches_and_one_out_of_window_does_not() -> None:
    statement = _statement(cash=[_deposit(date(2025, 3, 8), "5000")])  # a Saturday
    assert reconcile(statement, _record(flows=[LedgerFlow(4, date(2025, 3, 10), D(5000), "GBP", "")]), {}).ok
    late = reconcile(statement, _record(flows=[LedgerFlow(4, date(2025, 3, 20), D(5000), "GBP", "")]), {})
    assert _kinds(late) == [("cashflow", "missing_in_ledger"), ("cashflow", "missing_at_broker")]


def test_summary_rows_do_not_double_a_flow() -> None:
    day = date(2025, 3, 3)
    statement = _statement(cash=[_deposit(day, "5000", level="SUMMARY"), _deposit(day, "5000", "77")])
    result = reconcile(statement, _record(flows=[LedgerFlow(4, day, D(5000), "GBP", "")]), {})
    assert result.ok and result.compared["cashflows"] == 1


def test_a_flow_imported_with_its_transaction_id_matches_by_it() -> None:
    statement = _statement(cash=[_deposit(date(2025, 3, 3), "5000", "77"), _deposit(date(2025, 3, 3), "5000", "78")])
    flows = [LedgerFlow(9, date(2025, 3, 3), D(5000), "GBP", "IBKR Flex Deposits/Withdrawals transactionID 78: x"),
             LedgerFlow(4, date(2025, 3, 3), D(5000), "GBP", "by hand")]
    assert reconcile(statement, _record(flows=flows), {}).matched["cashflows"] == 2


def test_a_section_the_query_left_out_is_not_compared() -> None:
    result = reconcile(_statement(sections=frozenset()), _record([_ours()], snapshots=[
        LedgerSnapshot(date(2025, 3, 3), D(100), {"SXLK": D(10)})]), {})
    assert result.ok and result.compared == {}


def test_positions_compare_with_the_last_snapshot_before_their_date() -> None:
    snapshots = [LedgerSnapshot(date(2025, 3, 28), D(100), {"SXLK": D(10)}),
                 LedgerSnapshot(date(2025, 4, 2), D(100), {"SXLK": D(12)})]
    result = reconcile(_statement(), _record(snapshots=snapshots), {})
    assert _kinds(result) == [("position", "missing_at_broker")] and "10 SXLK" in result.breaks[0].message
