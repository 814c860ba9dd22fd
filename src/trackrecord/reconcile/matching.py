"""The ledger against one IBKR Flex statement: every difference named as a break. Pure: no I/O.

What is compared, and the rule for each (tolerances are stated in every report):

* **Fills**: IB's ``ibExecID`` is our ``exec_id``. Currency trades (``assetCategory="CASH"``,
  AutoFX among them) are counted, not compared: the ledger records no FX trade. A matched fill must agree on symbol (IB's
  symbol mapped through the universe's ``ib.symbol``), side, quantity (exactly), price (within
  ``price_relative``), commission and currency (within ``amount``), and ``orderRef`` when IB
  shows one. ``BookTrade`` rows (assignment, expiry) carry no exec id: they match a ledger fill
  of the same symbol, side, quantity and day, or are missing in the ledger. Compared only when
  the statement has a ``Trades`` section, over its period.
* **External flows**: the statement's deposits and withdrawals at DETAIL level (SUMMARY rows
  repeat them) against the ledger's flows: first by IB's transaction id written in a flow's note
  (``--import-cashflows`` writes it), then by currency and amount with the ledger's date within
  ``flow_days`` of IB's (a flow is booked on the next session). Dividends, interest, withholding
  tax and fees are listed as income or costs: they are never external flows and never breaks.
* **NAV**: each ``EquitySummaryByReportDateInBase`` day against the ledger's snapshot of that
  session (within ``amount``, base currency); ledger snapshots of the period that IB does not
  show are missing at the broker.
* **Positions**: ``OpenPositions`` (SUMMARY rows; LOTs summed only where no SUMMARY row exists)
  against the ledger's last snapshot on or before the positions' report date, quantity exactly.
* **The statement's own totals**: ChangeInNAV start + components = end; its start and end equal
  the NAV rows of the day before and the last day; DETAIL deposits and withdrawals (in base)
  equal the CashReport figure and ChangeInNAV's ``depositsWithdrawals``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Iterable, Mapping, Sequence

from trackrecord.ledger.account_records import LedgerFill, LedgerSnapshot
from trackrecord.reconcile.flex import FlexCash, FlexFill, FlexStatement

TRANSACTION_NOTE = re.compile(r"transactionID (\S+)")


class Area(str, Enum):
    FILL = "fill"
    CASHFLOW = "cashflow"
    NAV = "nav"
    POSITION = "position"
    STATEMENT = "statement"


class BreakKind(str, Enum):
    MISSING_IN_LEDGER = "missing_in_ledger"
    MISSING_AT_BROKER = "missing_at_broker"
    DIFFERENT = "different"
    TOTALS = "totals"  # the statement's own figures do not add up


@dataclass(frozen=True, slots=True)
class Break:
    area: Area
    kind: BreakKind
    key: str  # exec id, transaction id, date or symbol
    message: str

    def document(self) -> dict[str, str]:
        return {"area": self.area.value, "kind": self.kind.value, "key": self.key, "message": self.message}


@dataclass(frozen=True, slots=True)
class Tolerance:
    amount: Decimal = Decimal("0.01")  # money: NAV, commission, flows (their currency)
    price_relative: Decimal = Decimal("0.000001")
    flow_days: int = 5

    def document(self) -> dict[str, object]:
        return {"amount": str(self.amount), "price_relative": str(self.price_relative), "flow_days": self.flow_days}


@dataclass(frozen=True, slots=True)
class LedgerFlow:
    seq: int
    day: date
    amount: Decimal
    currency: str
    note: str

    @property
    def transaction_id(self) -> str | None:
        found = TRANSACTION_NOTE.search(self.note)
        return found.group(1) if found else None


@dataclass(frozen=True)
class LedgerRecord:
    """What the ledger holds for one account, as the comparison needs it."""

    account_id: str
    base_currency: str
    fills: Sequence[LedgerFill]
    flows: Sequence[LedgerFlow]
    snapshots: Sequence[LedgerSnapshot]


@dataclass(frozen=True, slots=True)
class IncomeLine:
    """Income (> 0) or costs (< 0) of one type and currency: not external flows."""

    type_text: str
    currency: str
    total: Decimal
    rows: int

    def document(self) -> dict[str, object]:
        return {"type": self.type_text, "currency": self.currency, "total": str(self.total), "rows": self.rows,
                "is": "income" if self.total > 0 else "cost"}


@dataclass(frozen=True)
class Reconciliation:
    breaks: tuple[Break, ...]
    matched: Mapping[str, int]
    compared: Mapping[str, int]
    income_and_costs: tuple[IncomeLine, ...]
    checks: tuple[str, ...]  # the statement's internal checks that held
    broker_only_flows: tuple[FlexCash, ...] = field(default=())
    fx_conversions: int = 0  # IB's currency trades: not compared, the ledger records no FX trade

    @property
    def ok(self) -> bool:
        return not self.breaks


def reconcile(statement: FlexStatement, ledger: LedgerRecord, symbols: Mapping[str, str],
              tolerance: Tolerance = Tolerance()) -> Reconciliation:
    """Compare one statement with the ledger's record of its account. ``symbols`` maps IB's
    symbol to ours (unmapped symbols are compared as they are)."""
    breaks: list[Break] = []
    matched: dict[str, int] = {}
    compared: dict[str, int] = {}
    checks = _statement_totals(statement, tolerance, breaks)
    trades = tuple(f for f in statement.fills if not f.is_fx_conversion)
    if "Trades" in statement.sections:
        compared["fills"] = len(trades)
        matched["fills"] = _fills(statement, trades, ledger, symbols, tolerance, breaks)
    broker_only: list[FlexCash] = []
    if "CashTransactions" in statement.sections:
        flows = statement.external_flows()
        compared["cashflows"] = len(flows)
        matched["cashflows"], broker_only = _flows(statement, flows, ledger, tolerance, breaks)
    if statement.navs:
        compared["navs"] = len(statement.navs)
        matched["navs"] = _navs(statement, ledger, tolerance, breaks)
    if "OpenPositions" in statement.sections:
        compared["positions"] = len(statement.positions)
        matched["positions"] = _positions(statement, ledger, symbols, breaks)
    return Reconciliation(tuple(breaks), matched, compared, _income(statement), tuple(checks), tuple(broker_only),
                          len(statement.fills) - len(trades))


def _close(a: Decimal, b: Decimal, tolerance: Decimal) -> bool:
    return abs(a - b) <= tolerance


def _in_period(day: date, statement: FlexStatement) -> bool:
    return statement.from_date <= day <= statement.to_date


# -- the statement's own totals ---------------------------------------------------------------


def _statement_totals(statement: FlexStatement, tolerance: Tolerance, breaks: list[Break]) -> list[str]:
    held: list[str] = []

    def check(name: str, ok: bool, message: str) -> None:
        if ok:
            held.append(name)
        else:
            breaks.append(Break(Area.STATEMENT, BreakKind.TOTALS, name, message))

    change = statement.change_in_nav
    flows_in_base = sum((row.amount_in_base for row in statement.external_flows()), Decimal(0))
    if change is not None:
        total = change.start + change.component_total
        check("change_in_nav", _close(total, change.end, tolerance.amount),
              f"ChangeInNAV: starting value {change.start} + components {change.component_total} = {total}, "
              f"but the ending value is {change.end}")
        before = [nav for nav in statement.navs if nav.report_date < statement.from_date]
        if before:
            start = max(before, key=lambda nav: nav.report_date)
            check("change_in_nav_start", _close(start.total, change.start, tolerance.amount),
                  f"ChangeInNAV starting value {change.start} differs from the NAV of {start.report_date}, {start.total}")
        last = next((nav for nav in statement.navs if nav.report_date == statement.to_date), None)
        if last is not None:
            check("change_in_nav_end", _close(last.total, change.end, tolerance.amount),
                  f"ChangeInNAV ending value {change.end} differs from the NAV of {last.report_date}, {last.total}")
        if "CashTransactions" in statement.sections:
            reported = change.component("depositsWithdrawals")
            check("change_in_nav_flows", _close(reported, flows_in_base, tolerance.amount),
                  f"ChangeInNAV depositsWithdrawals {reported} differs from the DETAIL deposits and "
                  f"withdrawals, {flows_in_base} in base")
    report = statement.base_cash_report()
    if report is not None and report.deposit_withdrawals is not None and "CashTransactions" in statement.sections:
        check("cash_report_flows", _close(report.deposit_withdrawals, flows_in_base, tolerance.amount),
              f"CashReport depositWithdrawals {report.deposit_withdrawals} differs from the DETAIL deposits and "
              f"withdrawals, {flows_in_base} in base")
    return held


# -- fills ----------------------------------------------------------------------------------


def _fills(statement: FlexStatement, trades: Sequence[FlexFill], ledger: LedgerRecord, symbols: Mapping[str, str],
           tolerance: Tolerance, breaks: list[Break]) -> int:
    ours = {fill.exec_id: fill for fill in ledger.fills}
    used: set[str] = set()
    matched = 0
    bookings: list[FlexFill] = []
    for fill in trades:
        if fill.exec_id is None:
            bookings.append(fill)
            continue
        mine = ours.get(fill.exec_id)
        if mine is None:
            breaks.append(Break(Area.FILL, BreakKind.MISSING_IN_LEDGER, fill.exec_id,
                                f"fill {fill.exec_id} ({fill.side.value} {fill.quantity} {fill.symbol} at {fill.price} "
                                f"{fill.currency} on {fill.trade_date}) is at the broker, not in the ledger"))
            continue
        used.add(mine.exec_id)
        differences = list(_fill_differences(fill, mine, symbols, tolerance))
        breaks.extend(differences)
        matched += not differences
    for fill in bookings:
        mine = next((f for f in ledger.fills if f.exec_id not in used and f.symbol == symbols.get(fill.symbol, fill.symbol)
                     and f.side is fill.side and f.quantity == fill.quantity and f.executed_on == fill.trade_date), None)
        if mine is None:
            breaks.append(Break(Area.FILL, BreakKind.MISSING_IN_LEDGER, f"trade {fill.trade_id}",
                                f"booking {fill.trade_id} ({fill.side.value} {fill.quantity} {fill.symbol} on "
                                f"{fill.trade_date}, an assignment or expiry without exec id) is not in the ledger"))
        else:
            used.add(mine.exec_id)
            matched += 1
    for mine in ledger.fills:
        if mine.exec_id not in used and _in_period(mine.executed_on, statement):
            breaks.append(Break(Area.FILL, BreakKind.MISSING_AT_BROKER, mine.exec_id,
                                f"fill {mine.exec_id} ({mine.side.value} {mine.quantity} {mine.symbol} at {mine.price} "
                                f"{mine.currency} on {mine.executed_on}) is in the ledger, not in the statement"))
    return matched


def _fill_differences(fill: FlexFill, mine: LedgerFill, symbols: Mapping[str, str],
                      tolerance: Tolerance) -> Iterable[Break]:
    def differ(name: str, broker: object, ledger: object) -> Break:
        return Break(Area.FILL, BreakKind.DIFFERENT, f"{fill.exec_id} {name}",
                     f"fill {fill.exec_id}: {name} is {broker} at the broker, {ledger} in the ledger")

    if symbols.get(fill.symbol, fill.symbol) != mine.symbol:
        yield differ("symbol", fill.symbol, mine.symbol)
    if fill.side is not mine.side:
        yield differ("side", fill.side.value, mine.side.value)
    if fill.quantity != mine.quantity:
        yield differ("quantity", fill.quantity, mine.quantity)
    if abs(fill.price - mine.price) > tolerance.price_relative * abs(mine.price):
        yield differ("price", fill.price, mine.price)
    if fill.currency != mine.currency:
        yield differ("currency", fill.currency, mine.currency)
    if mine.commission is None:
        yield differ("commission", fill.commission, "not reported")
    elif not _close(fill.commission, mine.commission, tolerance.amount):
        yield differ("commission", fill.commission, mine.commission)
    if fill.order_ref and fill.order_ref != mine.order_ref:
        yield differ("orderRef", fill.order_ref, mine.order_ref or "(none)")


# -- external flows ---------------------------------------------------------------------------


def _flows(statement: FlexStatement, flows: Sequence[FlexCash], ledger: LedgerRecord, tolerance: Tolerance,
           breaks: list[Break]) -> tuple[int, list[FlexCash]]:
    by_transaction = {flow.transaction_id: flow for flow in ledger.flows if flow.transaction_id}
    used: set[int] = set()
    unmatched: list[FlexCash] = []
    for row in flows:
        mine = by_transaction.get(row.transaction_id) if row.transaction_id else None
        if mine is None or mine.seq in used:
            candidates = [f for f in ledger.flows if f.seq not in used and f.currency == row.currency
                          and _close(f.amount, row.amount, tolerance.amount)
                          and abs((f.day - row.day).days) <= tolerance.flow_days]
            mine = min(candidates, key=lambda f: (abs((f.day - row.day).days), f.seq)) if candidates else None
        if mine is None:
            unmatched.append(row)
            kind = "deposit" if row.amount > 0 else "withdrawal"
            breaks.append(Break(Area.CASHFLOW, BreakKind.MISSING_IN_LEDGER, row.transaction_id or row.day.isoformat(),
                                f"{kind} of {row.amount} {row.currency} on {row.day} (transaction "
                                f"{row.transaction_id or '?'}) is at the broker, not in the ledger; "
                                "--import-cashflows records it"))
            continue
        used.add(mine.seq)
        if not _close(mine.amount, row.amount, tolerance.amount) or mine.currency != row.currency:
            breaks.append(Break(Area.CASHFLOW, BreakKind.DIFFERENT, row.transaction_id,
                                f"flow {row.transaction_id}: {row.amount} {row.currency} at the broker, "
                                f"{mine.amount} {mine.currency} in the ledger (seq {mine.seq})"))
    for mine in ledger.flows:
        if mine.seq not in used and _in_period(mine.day, statement):
            kind = "deposit" if mine.amount > 0 else "withdrawal"
            breaks.append(Break(Area.CASHFLOW, BreakKind.MISSING_AT_BROKER, f"seq {mine.seq}",
                                f"{kind} of {mine.amount} {mine.currency} on {mine.day} (seq {mine.seq}) is in the "
                                "ledger, not in the statement"))
    return len(used), unmatched


def _income(statement: FlexStatement) -> tuple[IncomeLine, ...]:
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for row in statement.income_and_costs():
        totals[(row.type_text, row.currency)].append(row.amount)
    return tuple(IncomeLine(kind, currency, sum(amounts, Decimal(0)), len(amounts))
                 for (kind, currency), amounts in sorted(totals.items()))


# -- NAV and positions ------------------------------------------------------------------------


def _navs(statement: FlexStatement, ledger: LedgerRecord, tolerance: Tolerance, breaks: list[Break]) -> int:
    if statement.base_currency and statement.base_currency != ledger.base_currency:
        breaks.append(Break(Area.NAV, BreakKind.DIFFERENT, "base currency",
                            f"the statement's base currency is {statement.base_currency}, the ledger's "
                            f"{ledger.base_currency}: NAVs not compared"))
        return 0
    ours = {snapshot.session_date: snapshot for snapshot in ledger.snapshots}
    matched = 0
    for nav in statement.navs:
        mine = ours.get(nav.report_date)
        day = nav.report_date.isoformat()
        if mine is None:
            breaks.append(Break(Area.NAV, BreakKind.MISSING_IN_LEDGER, day,
                                f"NAV {nav.total} on {day} is at the broker; the ledger has no snapshot that day"))
        elif not _close(mine.nav, nav.total, tolerance.amount):
            breaks.append(Break(Area.NAV, BreakKind.DIFFERENT, day,
                                f"NAV on {day}: {nav.total} at the broker, {mine.nav} in the ledger "
                                f"(difference {mine.nav - nav.total}, tolerance {tolerance.amount})"))
        else:
            matched += 1
    shown = {nav.report_date for nav in statement.navs}
    for snapshot in ledger.snapshots:
        if snapshot.session_date not in shown and _in_period(snapshot.session_date, statement):
            breaks.append(Break(Area.NAV, BreakKind.MISSING_AT_BROKER, snapshot.session_date.isoformat(),
                                f"the ledger's snapshot of {snapshot.session_date} (NAV {snapshot.nav}) has no NAV "
                                "row in the statement"))
    return matched


def _positions(statement: FlexStatement, ledger: LedgerRecord, symbols: Mapping[str, str],
               breaks: list[Break]) -> int:
    as_of = max((p.report_date for p in statement.positions if p.report_date), default=statement.to_date)
    earlier = [s for s in ledger.snapshots if s.session_date <= as_of]
    held: Mapping[str, Decimal] = max(earlier, key=lambda s: s.session_date).positions if earlier else {}
    broker: dict[str, Decimal] = defaultdict(Decimal)
    for position in statement.positions:
        if position.quantity:
            broker[symbols.get(position.symbol, position.symbol)] += position.quantity
    matched = 0
    for symbol in sorted(set(broker) | {s for s, q in held.items() if q}):
        theirs, mine = broker.get(symbol, Decimal(0)), held.get(symbol, Decimal(0))
        if theirs == mine:
            matched += 1
        elif not mine:
            breaks.append(Break(Area.POSITION, BreakKind.MISSING_IN_LEDGER, symbol,
                                f"position {theirs} {symbol} on {as_of} is at the broker, not in the ledger"))
        elif not theirs:
            breaks.append(Break(Area.POSITION, BreakKind.MISSING_AT_BROKER, symbol,
                                f"position {mine} {symbol} on {as_of} is in the ledger, not at the broker"))
        else:
            breaks.append(Break(Area.POSITION, BreakKind.DIFFERENT, symbol,
                                f"position {symbol} on {as_of}: {theirs} at the broker, {mine} in the ledger"))
    return matched
