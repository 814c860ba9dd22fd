"""Invariant of the comparison: a statement that says what the ledger says has no break, and
removing any set of its fills, flows and NAV days gives exactly one break for each, no other."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.domain import Side
from trackrecord.reconcile.flex import CashKind, FlexCash, FlexFill, FlexNav, FlexStatement
from trackrecord.reconcile.matching import LedgerFill, LedgerFlow, LedgerRecord, LedgerSnapshot, reconcile

START = date(2025, 1, 6)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2)


@st.composite
def records(draw: st.DrawFn) -> LedgerRecord:
    days = draw(st.integers(min_value=1, max_value=30))
    fills = [LedgerFill(f"e{i}", draw(st.sampled_from(["SXLK", "SXLU", "SXLE"])), draw(st.sampled_from(list(Side))),
                        Decimal(draw(st.integers(1, 500))), draw(amounts), "GBP", draw(amounts), f"ref{i}",
                        START + timedelta(days=draw(st.integers(0, days - 1))))
             for i in range(draw(st.integers(0, 12)))]
    flows = [LedgerFlow(100 + i, START + timedelta(days=7 * i), draw(amounts) * draw(st.sampled_from([1, -1])), "GBP", "")
             for i in range(draw(st.integers(0, 4))) if 7 * i < days]
    snapshots = [LedgerSnapshot(START + timedelta(days=d), draw(amounts), {}) for d in range(days)]
    return LedgerRecord("U1", "GBP", fills, flows, snapshots)


def statement_of(record: LedgerRecord) -> FlexStatement:
    fills = tuple(FlexFill(f"Trade #{n}", f.exec_id, str(n), f.symbol, "", f.side, f.quantity, f.price, f.currency,
                           f.commission or Decimal(0), "GBP", f.order_ref, f.executed_on, False)
                  for n, f in enumerate(record.fills, start=1))
    cash = tuple(FlexCash(f"CashTransaction #{n}", str(9000 + n), CashKind.EXTERNAL_FLOW, "Deposits/Withdrawals",
                          f.day, f.amount, f.currency, Decimal(1), "", level)
                 for n, f in enumerate(record.flows, start=1) for level in ("SUMMARY", "DETAIL"))
    navs = tuple(FlexNav(s.session_date, s.nav, None) for s in record.snapshots)
    return FlexStatement("U1", "GBP", record.snapshots[0].session_date, record.snapshots[-1].session_date, "", None,
                         fills, cash, navs, (), None, (), frozenset({"Trades", "CashTransactions", "OpenPositions"}))


@settings(max_examples=120, deadline=None, derandomize=True)
@given(record=records(), data=st.data())
def test_each_removed_row_is_one_break_and_nothing_else(record: LedgerRecord, data: st.DataObject) -> None:
    statement = statement_of(record)
    assert reconcile(statement, record, {}).ok
    fills = data.draw(st.sets(st.sampled_from(range(len(statement.fills)))) if statement.fills else st.just(set()))
    flows = data.draw(st.sets(st.sampled_from([c.transaction_id for c in statement.cash])) if statement.cash
                      else st.just(set()))
    navs = data.draw(st.sets(st.sampled_from(range(len(statement.navs)))))
    planted = FlexStatement(
        statement.account_id, statement.base_currency, statement.from_date, statement.to_date, "", None,
        tuple(f for i, f in enumerate(statement.fills) if i not in fills),
        tuple(c for c in statement.cash if c.transaction_id not in flows),
        tuple(n for i, n in enumerate(statement.navs) if i not in navs), (), None, (), statement.sections)
    found = sorted((b.area.value, b.kind.value, b.key) for b in reconcile(planted, record, {}).breaks)
    expected = sorted([("fill", "missing_at_broker", statement.fills[i].exec_id or "") for i in fills]
                      + [("cashflow", "missing_at_broker", f"seq {record.flows[int(t) - 9001].seq}") for t in flows]
                      + ([("nav", "missing_at_broker", statement.navs[i].report_date.isoformat()) for i in navs]
                         if len(navs) < len(statement.navs) else []))
    assert found == expected
