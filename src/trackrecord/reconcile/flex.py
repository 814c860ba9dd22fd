"""IBKR Activity Flex statements (XML) read into typed values, through ``ibflex``'s converters.

Traps of real statements, handled here once:

* Dates come as ``yyyy-MM-dd``, ``yyyyMMdd`` or ``MM/dd/yyyy``, date-times with ``;`` and a
  time of ``HHmmss`` or ``HH:mm:ss``, or a bare date (``dateTime="2025-01-14"``): ibflex's
  converters read them all.
* Newer and older schemas carry attributes ibflex does not know (``startingCashIBUKL`` ...)
  and enum values it does not know (``type="Bond Interest"``): ``ibflex.parser.parse`` fails
  on the second. Rows are read attribute by attribute here: unknown attributes are counted
  and reported as a warning, type-like attributes are kept as IB's own text.
* ``<Trades>`` may hold ``SymbolSummary``/``AssetSummary``/``Order`` rows: only
  ``levelOfDetail="EXECUTION"`` (or none, old schema) rows are fills. ``BookTrade`` rows
  (assignment, expiry) have no ``ibExecID``.
* Cash transactions come at ``SUMMARY`` and ``DETAIL`` level in one statement: adding both
  doubles every flow. DETAIL rows count; SUMMARY rows only for a type that has no other row.
* ``OpenPositions`` hold ``SUMMARY`` and ``LOT`` rows: SUMMARY counts; LOTs are summed only
  for an instrument that has no SUMMARY row.
* IB's ``ibCommission`` is negative (a cost); here ``commission`` is the cost, >= 0 for a charge.
* ``ChangeInNAV.twr`` is in percent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Iterable

from ibflex import Types, parser

from trackrecord.domain import Side
from trackrecord.errors import UserError
from trackrecord.ledger.parsing import number_problem


class CashKind(str, Enum):
    """What a cash transaction is to the record: an external flow, or income / a cost."""

    EXTERNAL_FLOW = "external_flow"
    DIVIDEND = "dividend"
    WITHHOLDING_TAX = "withholding_tax"
    INTEREST = "interest"
    FEE = "fee"
    OTHER = "other"


CASH_KINDS = {
    "deposits/withdrawals": CashKind.EXTERNAL_FLOW,
    "deposits & withdrawals": CashKind.EXTERNAL_FLOW,
    "dividends": CashKind.DIVIDEND,
    "payment in lieu of dividends": CashKind.DIVIDEND,
    "withholding tax": CashKind.WITHHOLDING_TAX,
    "871(m) withholding": CashKind.WITHHOLDING_TAX,
    "broker interest paid": CashKind.INTEREST,
    "broker interest received": CashKind.INTEREST,
    "bond interest": CashKind.INTEREST,
    "bond interest paid": CashKind.INTEREST,
    "bond interest received": CashKind.INTEREST,
    "other fees": CashKind.FEE,
    "advisor fees": CashKind.FEE,
    "commission adjustments": CashKind.FEE,
}

EXECUTION_LEVELS = ("EXECUTION", "")
CHANGE_IN_NAV_NOT_COMPONENTS = {"accountId", "acctAlias", "model", "fromDate", "toDate", "startingValue",
                                "endingValue", "twr", "currency"}


@dataclass(frozen=True, slots=True)
class FlexFill:
    """One execution as IB reports it; ``quantity`` > 0, ``side`` gives the direction."""

    row: str
    exec_id: str | None
    trade_id: str
    symbol: str
    conid: str
    side: Side
    quantity: Decimal
    price: Decimal
    currency: str
    commission: Decimal
    commission_currency: str
    order_ref: str
    trade_date: date | None
    booking: bool  # a BookTrade (assignment, exercise, expiry): no exec id
    asset_category: str = "STK"  # CASH: a currency conversion (IB's AutoFX among them)

    @property
    def is_fx_conversion(self) -> bool:
        return self.asset_category == "CASH"


@dataclass(frozen=True, slots=True)
class FlexCash:
    """One cash transaction; ``amount`` in ``currency``, > 0 into the account."""

    row: str
    transaction_id: str
    kind: CashKind
    type_text: str
    day: date
    amount: Decimal
    currency: str
    fx_rate_to_base: Decimal
    description: str
    level: str

    @property
    def amount_in_base(self) -> Decimal:
        return self.amount * self.fx_rate_to_base


@dataclass(frozen=True, slots=True)
class FlexNav:
    """A row of ``EquitySummaryByReportDateInBase``: the account's NAV (base currency) on a day."""

    report_date: date
    total: Decimal
    cash: Decimal | None


@dataclass(frozen=True, slots=True)
class FlexPosition:
    symbol: str
    conid: str
    quantity: Decimal
    mark_price: Decimal | None
    value: Decimal | None
    currency: str
    report_date: date | None


@dataclass(frozen=True, slots=True)
class ChangeInNav:
    from_date: date | None
    to_date: date | None
    start: Decimal
    end: Decimal
    components: tuple[tuple[str, Decimal], ...]
    twr_percent: Decimal | None

    @property
    def component_total(self) -> Decimal:
        return sum((value for _, value in self.components), Decimal(0))

    def component(self, name: str) -> Decimal:
        return next((value for key, value in self.components if key == name), Decimal(0))


@dataclass(frozen=True, slots=True)
class CashReportLine:
    currency: str  # BASE_SUMMARY, or a currency
    level: str
    deposit_withdrawals: Decimal | None
    deposits: Decimal | None
    withdrawals: Decimal | None


@dataclass(frozen=True)
class FlexStatement:
    """One ``<FlexStatement>``: one account over one period."""

    account_id: str
    base_currency: str | None
    from_date: date
    to_date: date
    period: str
    when_generated: datetime | None
    fills: tuple[FlexFill, ...]
    cash: tuple[FlexCash, ...]
    navs: tuple[FlexNav, ...]
    positions: tuple[FlexPosition, ...]
    change_in_nav: ChangeInNav | None
    cash_report: tuple[CashReportLine, ...]
    sections: frozenset[str]

    def counted_cash(self) -> tuple[FlexCash, ...]:
        """The cash rows that count: DETAIL (or unlevelled) rows, and SUMMARY rows only for a
        type that has no other row (a query set to summary level)."""
        detailed = {row.type_text for row in self.cash if row.level != "SUMMARY"}
        return tuple(row for row in self.cash if row.level != "SUMMARY" or row.type_text not in detailed)

    def external_flows(self) -> tuple[FlexCash, ...]:
        return tuple(row for row in self.counted_cash() if row.kind is CashKind.EXTERNAL_FLOW)

    def income_and_costs(self) -> tuple[FlexCash, ...]:
        return tuple(row for row in self.counted_cash() if row.kind is not CashKind.EXTERNAL_FLOW)

    def base_cash_report(self) -> CashReportLine | None:
        return next((line for line in self.cash_report if line.currency == "BASE_SUMMARY"), None)


@dataclass(frozen=True)
class FlexDocument:
    statements: tuple[FlexStatement, ...]
    warnings: tuple[str, ...] = field(default=())

    def statement_of(self, account_id: str | None, source: str) -> FlexStatement:
        """The statement of ``account_id`` (the only one when None). UserError otherwise."""
        accounts = [s.account_id for s in self.statements]
        if account_id is None:
            if len(self.statements) > 1:
                raise UserError(f"{source}: holds statements of {len(accounts)} accounts ({', '.join(accounts)}); "
                                "name one with --account")
            return self.statements[0]
        for statement in self.statements:
            if statement.account_id == account_id:
                return statement
        raise UserError(f"--account {account_id}: {source} holds no statement of that account "
                        f"(it holds {', '.join(accounts)})")


# -- reading ------------------------------------------------------------------------------------

_HTML = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?<(!doctype\s+html|html|head|body)\b", re.IGNORECASE)


def parse_flex(data: bytes, source: str) -> FlexDocument:
    """Every statement of a Flex XML document. ``UserError`` (one line, naming ``source``)
    for anything that is not a readable Activity Flex statement."""
    root = _root(data, source)
    unknown: Counter[str] = Counter()
    statements = tuple(_statement(elem, source, unknown) for elem in root.iter("FlexStatement"))
    if not statements:
        raise UserError(f"{source}: no <FlexStatement> in the file: an empty Flex query response")
    warnings = []
    if unknown:
        examples = ", ".join(name for name, _ in unknown.most_common(3))
        warnings.append(f"{sum(unknown.values())} value(s) of {len(unknown)} attribute(s) ibflex does not know were "
                        f"left out of the comparison (e.g. {examples})")
    return FlexDocument(statements, tuple(warnings))


def _root(data: bytes, source: str) -> ET.Element:
    if not data.strip():
        raise UserError(f"{source}: the file is empty; expected an IBKR Flex statement (XML)")
    if _HTML.match(data[:2048]):
        raise UserError(f"{source}: this is an HTML page, not an IBKR Flex statement (XML); "
                        "save the statement from Client Portal as XML, or use `trackrecord flex fetch`")
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data[:4096]:
        raise UserError(f"{source}: the XML declares a DOCTYPE or entities, which IBKR Flex statements never do")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise UserError(f"{source} line {line} column {column}: not well-formed XML ({_reason(exc)}); "
                        "expected an IBKR Flex statement") from None
    except (LookupError, ValueError) as exc:  # an unknown encoding="..." in the declaration
        raise UserError(f"{source}: not readable XML ({exc}); expected an IBKR Flex statement (UTF-8)") from None
    if root.tag == "FlexStatementResponse":
        code = root.findtext("ErrorCode") or "?"
        raise UserError(f"{source}: an IBKR Flex Web Service reply (error {code}: "
                        f"{(root.findtext('ErrorMessage') or '').strip()}), not a statement")
    if root.tag != "FlexQueryResponse":
        raise UserError(f"{source}: root element <{root.tag}>, expected <FlexQueryResponse> "
                        "(an IBKR Activity Flex statement)")
    return root


def _reason(exc: ET.ParseError) -> str:
    return str(exc).split(":")[0]


class _Rows:
    """Typed attribute access to one statement's rows, naming each row in errors."""

    def __init__(self, source: str, unknown: Counter[str]) -> None:
        self.source, self.unknown = source, unknown

    def values(self, elem: ET.Element, where: str, names: Iterable[str]) -> dict[str, Any]:
        cls = getattr(Types, elem.tag, None)
        known = cls.__annotations__ if cls is not None else {}
        for name in elem.attrib:
            if name not in known:
                self.unknown[f"{elem.tag}.{name}"] += 1
        out: dict[str, Any] = {}
        for name in names:
            raw = elem.get(name)
            if raw is None or name not in known:
                out[name] = raw
                continue
            try:
                out[name] = parser.parse_element_attr(cls, name, raw)[1]
            except (parser.FlexParserError, KeyError, ValueError, ArithmeticError):
                raise UserError(f"{self.source}: {where}: {name}={_shown(raw)} is not a valid "
                                f"{_type_word(known[name])}") from None
            self.check_number(out[name], where, name, raw)
        return out

    def check_number(self, value: Any, where: str, name: str, raw: str) -> None:
        """NaN, infinities and absurd magnitudes are refused as the ledger refuses them."""
        problem = number_problem(value) if isinstance(value, Decimal) else None
        if problem is not None:
            raise UserError(f"{self.source}: {where}: {name}={_shown(raw)}: {problem}")

    def required(self, values: dict[str, Any], where: str, name: str) -> Any:
        value = values.get(name)
        if value is None or value == "":
            raise UserError(f"{self.source}: {where}: attribute {name} is missing or empty")
        return value


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")


def _type_word(annotation: Any) -> str:
    text = str(annotation)
    for word, shown in (("Decimal", "number"), ("datetime.datetime", "date-time"), ("datetime.date", "date"),
                        ("int", "integer"), ("bool", "Y/N flag")):
        if word in text:
            return shown
    return "value"


def _statement(elem: ET.Element, source: str, unknown: Counter[str]) -> FlexStatement:
    account = (elem.get("accountId") or "").strip()
    if not account:
        raise UserError(f"{source}: a <FlexStatement> has no accountId")
    rows = _Rows(source, unknown)
    where = f"FlexStatement of {account}"
    head = rows.values(elem, where, ("fromDate", "toDate", "period", "whenGenerated"))
    from_date = rows.required(head, where, "fromDate")
    to_date = rows.required(head, where, "toDate")
    info = elem.find("AccountInformation")
    base = (info.get("currency") or "").strip().upper() or None if info is not None else None
    change = elem.find("ChangeInNAV")
    return FlexStatement(
        account_id=account, base_currency=base, from_date=from_date, to_date=to_date,
        period=head.get("period") or "", when_generated=head.get("whenGenerated"),
        fills=tuple(_fills(elem, rows)), cash=tuple(_cash(elem, rows)), navs=tuple(_navs(elem, rows)),
        positions=tuple(_positions(elem, rows)),
        change_in_nav=_change_in_nav(change, rows) if change is not None and change.attrib else None,
        cash_report=tuple(_cash_report(elem, rows)),
        sections=frozenset(child.tag for child in elem),
    )


def _children(statement: ET.Element, section: str, tag: str) -> Iterable[tuple[int, ET.Element]]:
    container = statement.find(section)
    if container is None:
        return []
    return [(index, child) for index, child in enumerate(container, start=1) if child.tag == tag]


def _fills(statement: ET.Element, rows: _Rows) -> Iterable[FlexFill]:
    names = ("symbol", "conid", "buySell", "quantity", "tradePrice", "currency", "ibCommission",
             "ibCommissionCurrency", "orderReference", "tradeDate", "dateTime", "ibExecID", "tradeID",
             "transactionType", "levelOfDetail")
    for index, elem in _children(statement, "Trades", "Trade"):
        if (elem.get("levelOfDetail") or "").upper() not in EXECUTION_LEVELS:
            continue
        where = f"Trade #{index} (tradeID {elem.get('tradeID') or '?'})"
        v = rows.values(elem, where, names)
        quantity = rows.required(v, where, "quantity")
        side_text = (elem.get("buySell") or "").upper()
        side = Side.SELL if side_text.startswith("SELL") or (not side_text and quantity < 0) else Side.BUY
        executed = v.get("dateTime")
        commission = v.get("ibCommission")
        yield FlexFill(
            row=where, exec_id=(elem.get("ibExecID") or "").strip() or None, trade_id=elem.get("tradeID") or "",
            symbol=rows.required(v, where, "symbol"), conid=elem.get("conid") or "", side=side,
            quantity=abs(quantity), price=rows.required(v, where, "tradePrice"),
            currency=rows.required(v, where, "currency"),
            commission=Decimal(0) if commission is None else -commission,
            commission_currency=v.get("ibCommissionCurrency") or v["currency"],
            order_ref=(elem.get("orderReference") or "").strip(),
            trade_date=v.get("tradeDate") or (executed.date() if isinstance(executed, datetime) else executed),
            booking=(elem.get("transactionType") or "") == "BookTrade",
            asset_category=(elem.get("assetCategory") or "STK").upper(),
        )


def _cash(statement: ET.Element, rows: _Rows) -> Iterable[FlexCash]:
    names = ("currency", "fxRateToBase", "dateTime", "reportDate", "settleDate", "amount", "transactionID",
             "description")
    for index, elem in _children(statement, "CashTransactions", "CashTransaction"):
        where = f"CashTransaction #{index} (transactionID {elem.get('transactionID') or '?'})"
        v = rows.values(elem, where, names)
        when = v.get("dateTime") or v.get("reportDate") or v.get("settleDate")
        if when is None:
            raise UserError(f"{rows.source}: {where}: no dateTime, reportDate or settleDate")
        type_text = (elem.get("type") or "").strip()
        yield FlexCash(
            row=where, transaction_id=(elem.get("transactionID") or "").strip(),
            kind=CASH_KINDS.get(type_text.lower(), CashKind.OTHER), type_text=type_text,
            day=when.date() if isinstance(when, datetime) else when,
            amount=rows.required(v, where, "amount"), currency=rows.required(v, where, "currency"),
            fx_rate_to_base=v.get("fxRateToBase") or Decimal(1), description=(v.get("description") or "").strip(),
            level=(elem.get("levelOfDetail") or "").upper(),
        )


def _navs(statement: ET.Element, rows: _Rows) -> Iterable[FlexNav]:
    for index, elem in _children(statement, "EquitySummaryInBase", "EquitySummaryByReportDateInBase"):
        where = f"EquitySummaryByReportDateInBase #{index}"
        v = rows.values(elem, where, ("reportDate", "total", "cash"))
        yield FlexNav(rows.required(v, where, "reportDate"), rows.required(v, where, "total"), v.get("cash"))


def _positions(statement: ET.Element, rows: _Rows) -> Iterable[FlexPosition]:
    read: list[tuple[str, FlexPosition]] = []
    for index, elem in _children(statement, "OpenPositions", "OpenPosition"):
        where = f"OpenPosition #{index} ({elem.get('symbol') or '?'})"
        v = rows.values(elem, where, ("symbol", "conid", "position", "markPrice", "positionValue", "currency",
                                      "reportDate"))
        position = FlexPosition(rows.required(v, where, "symbol"), elem.get("conid") or "",
                                rows.required(v, where, "position"), v.get("markPrice"), v.get("positionValue"),
                                v.get("currency") or "", v.get("reportDate"))
        read.append(((elem.get("levelOfDetail") or "SUMMARY").upper(), position))
    summarised = {p.conid or p.symbol for level, p in read if level != "LOT"}
    lots: dict[str, list[FlexPosition]] = {}
    for level, position in read:
        key = position.conid or position.symbol
        if level != "LOT":
            yield position
        elif key not in summarised:
            lots.setdefault(key, []).append(position)
    for parts in lots.values():
        first = parts[0]
        values = [p.value for p in parts]
        yield FlexPosition(first.symbol, first.conid, sum((p.quantity for p in parts), Decimal(0)), first.mark_price,
                           None if None in values else sum(values, Decimal(0)),  # type: ignore[arg-type]
                           first.currency, first.report_date)


def _change_in_nav(elem: ET.Element, rows: _Rows) -> ChangeInNav:
    where = "ChangeInNAV"
    numeric = [name for name in elem.attrib if name not in CHANGE_IN_NAV_NOT_COMPONENTS
               and not name.endswith(("MTD", "YTD"))]
    v = rows.values(elem, where, ("fromDate", "toDate", "startingValue", "endingValue", "twr", *numeric))
    components = []
    for name in numeric:
        value = _number(v[name])
        if value is not None:
            rows.check_number(value, where, name, str(v[name]))
            components.append((name, value))
    return ChangeInNav(v.get("fromDate"), v.get("toDate"), rows.required(v, where, "startingValue"),
                       rows.required(v, where, "endingValue"), tuple(components), v.get("twr"))


def _number(value: Any) -> Decimal | None:
    """A Decimal, or the number an attribute ibflex does not know holds (None if it holds none)."""
    if isinstance(value, Decimal) or value is None:
        return value
    try:
        return Decimal(str(value).replace(",", ""))
    except ArithmeticError:
        return None


def _cash_report(statement: ET.Element, rows: _Rows) -> Iterable[CashReportLine]:
    for index, elem in _children(statement, "CashReport", "CashReportCurrency"):
        where = f"CashReportCurrency #{index} ({elem.get('currency') or '?'})"
        v = rows.values(elem, where, ("currency", "depositWithdrawals", "deposits", "withdrawals"))
        yield CashReportLine(elem.get("currency") or "", (elem.get("levelOfDetail") or "").upper(),
                             v.get("depositWithdrawals"), v.get("deposits"), v.get("withdrawals"))
