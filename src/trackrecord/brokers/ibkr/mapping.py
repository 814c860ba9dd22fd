"""The one place where IB vocabulary becomes ours.

Status strings, BOT/SLD, UNSET_DOUBLE sentinels, execId versions, ib_async objects
(Trade, Fill, PortfolioItem, AccountValue) go in; domain values come out. Nothing
defined by ib_async is returned from here except the request objects the adapter
sends (``to_ib_contract``, ``to_ib_order``), and ib_async is imported only inside
those two functions.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping

from trackrecord.brokers.base import BrokerError
from trackrecord.domain import (
    BrokerOrder,
    Fill,
    IbContract,
    Instrument,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    ReportedPosition,
    Side,
)
from trackrecord.ledger.parsing import number_problem

log = logging.getLogger(__name__)

UNSET_DOUBLE = 1.7976931348623157e308  # ib_async.util.UNSET_DOUBLE: IB's "no value"
UNSET_INTEGER = 2**31 - 1  # ib_async.util.UNSET_INTEGER
UNSET_DOUBLE_DECIMAL = Decimal(repr(UNSET_DOUBLE))
CANCELLED_BY_REQUEST = 202  # "Order Canceled - reason:" follows every cancel we ask for

ORDER_STATUS: Mapping[str, OrderStatus] = {
    "PendingSubmit": OrderStatus.PENDING_SUBMIT,
    "ApiPending": OrderStatus.PENDING_SUBMIT,
    "PreSubmitted": OrderStatus.SUBMITTED,  # e.g. MOC waiting for the closing auction
    "Submitted": OrderStatus.SUBMITTED,
    "ApiUpdate": OrderStatus.SUBMITTED,
    "PendingCancel": OrderStatus.SUBMITTED,  # still working until IB confirms
    "ValidationError": OrderStatus.SUBMITTED,  # ib_async's label for an IB *warning*; order lives
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "ApiCancelled": OrderStatus.CANCELLED,
    "Inactive": OrderStatus.REJECTED,
}
EXECUTION_SIDE: Mapping[str, Side] = {"BOT": Side.BUY, "SLD": Side.SELL}
ORDER_ACTION: Mapping[str, Side] = {"BUY": Side.BUY, "SELL": Side.SELL}
ORDER_TYPE: Mapping[str, OrderType] = {t.value: t for t in OrderType}


POSITION_VALUE_TOLERANCE = Decimal("0.01")  # market value vs quantity x price, relative


def decimal_or_none(value: float | int | str | None, field: str) -> Decimal | None:
    """IB number -> Decimal; None for IB's 'unset' (empty, UNSET_DOUBLE, UNSET_INTEGER).
    NaN, infinities and numbers outside the ledger's bounds (``ledger.parsing``) are a
    BrokerError naming ``field``: a broker's answer is held to what the ledger accepts."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except ArithmeticError:
        raise BrokerError(f"IB sent {field} = {value!r}: expected a number; nothing was recorded") from None
    if number.is_finite() and number in (UNSET_INTEGER, UNSET_DOUBLE_DECIMAL):
        return None
    problem = number_problem(number)
    if problem is not None:
        raise BrokerError(f"IB sent {field} = {value!r}: {problem}; nothing was recorded")
    return number


def decimal(value: float | int | str, field: str) -> Decimal:
    number = decimal_or_none(value, field)
    if number is None:
        raise BrokerError(f"IB sent no value for {field} ({value!r}), where a number is required")
    return number


def non_negative(value: float | int | str, field: str) -> Decimal:
    number = decimal(value, field)
    if number < 0:
        raise BrokerError(f"IB sent {field} = {value!r}: expected zero or more; nothing was recorded")
    return number


def positive(value: float | int | str, field: str) -> Decimal:
    number = decimal(value, field)
    if number <= 0:
        raise BrokerError(f"IB sent {field} = {value!r}: expected a positive number; nothing was recorded")
    return number


# ---------------------------------------------------------------- requests we send


def to_ib_contract(contract: IbContract) -> Any:
    from ib_async import Contract

    return Contract(
        conId=contract.con_id or 0,
        symbol=contract.symbol,
        secType=contract.sec_type,
        exchange=contract.exchange,
        primaryExchange=contract.primary_exchange or "",
        currency=contract.currency,
    )


def to_ib_order(order: OrderRequest, account: str, quote_divisor: Decimal) -> Any:
    """Our order -> ib_async Order. Limit prices go out in the line's quote unit."""
    from ib_async import Order

    ib_order = Order(
        action=order.side.value,
        totalQuantity=float(order.quantity),
        orderType=order.order_type.value,
        tif="DAY",
        account=account,
        orderRef=order.order_ref,
        transmit=True,
    )
    if order.order_type is OrderType.LIMIT:
        if order.limit_price is None:
            raise BrokerError(f"Limit order {order.order_ref} for {order.symbol} has no limit price")
        ib_order.lmtPrice = float(order.limit_price * quote_divisor)
    return ib_order


# ---------------------------------------------------------------- contracts


def pin_contract(instrument: Instrument, details: list[Any]) -> tuple[Instrument, str]:
    """Qualify against IB's contract details: returns the instrument with its conId
    pinned, and IB's list of accepted order types."""
    wanted = instrument.ib
    if not details:
        raise BrokerError(f"IB knows no contract for {instrument.symbol} ({_describe(wanted)})")
    if len(details) > 1:
        candidates = ", ".join(_describe_ib(d.contract) for d in details)
        raise BrokerError(
            f"IB finds several contracts for {instrument.symbol} ({_describe(wanted)}): {candidates}; "
            "set ib.con_id or ib.primary_exchange and ib.currency to choose one"
        )
    found = details[0].contract
    if wanted.con_id is not None and found.conId != wanted.con_id:
        raise BrokerError(
            f"IB contract for {instrument.symbol} has conId {found.conId}, configuration pins {wanted.con_id}"
        )
    if found.currency != wanted.currency:
        raise BrokerError(
            f"IB trades {instrument.symbol} ({_describe(wanted)}) in {found.currency}, configuration says {wanted.currency}"
        )
    pinned = replace(instrument, ib=replace(wanted, con_id=int(found.conId)))
    return pinned, str(details[0].orderTypes or "")


def accepts_order_type(order_types: str, order_type: OrderType) -> bool:
    return order_type.value in {t.strip() for t in order_types.split(",")}


def _describe(c: IbContract) -> str:
    where = f"{c.exchange}/{c.primary_exchange}" if c.primary_exchange else c.exchange
    return f"{c.sec_type} {c.symbol} {where} {c.currency}"


def _describe_ib(c: Any) -> str:
    return f"conId {c.conId} {c.symbol} {c.primaryExchange or c.exchange} {c.currency}"


# ---------------------------------------------------------------- orders


def status_of(trade: Any) -> OrderStatus:
    """IB's status string, refined: a cancel IB did on its own with an error code is a
    rejection; a working order with fills is partially filled."""
    status = ORDER_STATUS.get(trade.orderStatus.status)
    if status is None:
        raise BrokerError(f"IB order status {trade.orderStatus.status!r} is not understood")
    code = error_code(trade)
    if status is OrderStatus.CANCELLED and code is not None and code != CANCELLED_BY_REQUEST:
        return OrderStatus.REJECTED
    if status is OrderStatus.SUBMITTED and filled_quantity(trade) > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


def error_code(trade: Any) -> int | None:
    coded = [entry for entry in trade.log if entry.errorCode]
    return int(coded[-1].errorCode) if coded else None


def status_message(trade: Any) -> str:
    messages = [entry.message for entry in trade.log if entry.message and not entry.message.startswith("Fill ")]
    return messages[-1] if messages else ""


def filled_quantity(trade: Any) -> Decimal:
    where = f"order {trade.order.orderRef or trade.order.permId}"
    reported = [
        decimal_or_none(trade.orderStatus.filled, f"{where} filled quantity") or Decimal(0),
        decimal_or_none(trade.order.filledQuantity, f"{where} filled quantity") or Decimal(0),
        sum((positive(f.execution.shares, f"execution {f.execution.execId} shares") for f in trade.fills), Decimal(0)),
    ]
    return max(reported)


def to_broker_order(trade: Any, symbol: str, quote_divisor: Decimal) -> BrokerOrder:
    order = trade.order
    order_type = ORDER_TYPE.get(order.orderType)
    if order_type is None:
        raise BrokerError(f"IB order {order.orderRef or order.permId} has type {order.orderType}, which trackrecord does not send")
    where = f"order {order.orderRef or order.permId}"
    average = decimal_or_none(trade.orderStatus.avgFillPrice, f"{where} average fill price")
    if average is not None and average < 0:
        raise BrokerError(f"IB sent {where} average fill price = {average}: expected zero or more")
    return BrokerOrder(
        order_ref=order.orderRef,
        broker_order_id=str(order.permId or trade.orderStatus.permId or order.orderId),
        symbol=symbol,
        side=ORDER_ACTION[order.action],
        quantity=positive(order.totalQuantity, f"{where} quantity"),
        order_type=order_type,
        status=status_of(trade),
        filled_quantity=filled_quantity(trade),
        average_fill_price=average / quote_divisor if average else None,
        message=status_message(trade),
    )


def order_from_executions(order_ref: str, fills: list[Any], symbol: str, quote_divisor: Decimal) -> BrokerOrder:
    """An order IB no longer shows (not working, no completed order), rebuilt from its
    executions: done, filled as far as they go. IB's executions say neither the ordered
    quantity nor the order type; a corrected execution counts in its latest version."""
    replaced = set(superseded_ids(f.execution.execId for f in fills).values())
    current = [f for f in fills if f.execution.execId not in replaced]
    shares = [(positive(f.execution.shares, f"execution {f.execution.execId} shares"),
               positive(f.execution.price, f"execution {f.execution.execId} price")) for f in current]
    quantity = sum((q for q, _ in shares), Decimal(0))
    value = sum((q * p for q, p in shares), Decimal(0))
    first = current[0].execution
    side = EXECUTION_SIDE.get(first.side)
    if side is None:
        raise BrokerError(f"IB execution {first.execId} has side {first.side!r}")
    return BrokerOrder(
        order_ref=order_ref,
        broker_order_id=str(first.permId or first.orderId),
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=None,
        status=OrderStatus.FILLED,
        filled_quantity=quantity,
        average_fill_price=value / quantity / quote_divisor if quantity else None,
        message=f"IB returned no order for {order_ref}: rebuilt from {len(current)} execution(s)",
    )


# ---------------------------------------------------------------- executions


def exec_id_version(exec_id: str) -> tuple[str, int] | None:
    """``0000e0d5.6543ab12.01.02`` -> (``0000e0d5.6543ab12.01``, 2): IB corrects an
    execution by sending the same id with its last component incremented."""
    base, dot, last = exec_id.rpartition(".")
    if not dot or not last.isdigit():
        return None
    return base, int(last)


def superseded_ids(exec_ids: Iterable[str]) -> dict[str, str]:
    """For each corrected execId, the id it replaces: the highest earlier version seen,
    else the immediately preceding version (the original may be in an earlier pull)."""
    versions: dict[str, list[tuple[int, str]]] = {}
    for exec_id in exec_ids:
        parsed = exec_id_version(exec_id)
        if parsed is not None:
            versions.setdefault(parsed[0], []).append((parsed[1], exec_id))
    supersedes: dict[str, str] = {}
    for base, seen in versions.items():
        seen.sort()
        width = len(seen[0][1].rpartition(".")[2])
        for index, (version, exec_id) in enumerate(seen):
            if index > 0:
                supersedes[exec_id] = seen[index - 1][1]
            elif version > 1:
                supersedes[exec_id] = f"{base}.{version - 1:0{width}d}"
    return supersedes


def commission_of(fill: Any) -> tuple[Decimal | None, str | None]:
    """None until IB's commission report for this very execId has arrived (ib_async
    pre-fills a blank report with commission 0.0: that zero is not a commission)."""
    report = fill.commissionReport
    if report.execId != fill.execution.execId:
        return None, None
    amount = decimal_or_none(report.commission, f"commission of execution {report.execId}")
    return (amount, report.currency or None) if amount is not None else (None, None)


def to_fill(fill: Any, symbol: str, currency: str, quote_divisor: Decimal, supersedes: str | None) -> Fill:
    execution = fill.execution
    side = EXECUTION_SIDE.get(execution.side)
    if side is None:
        raise BrokerError(f"IB execution {execution.execId} has side {execution.side!r}")
    commission, commission_currency = commission_of(fill)
    return Fill(
        exec_id=execution.execId,
        order_ref=execution.orderRef,
        symbol=symbol,
        side=side,
        quantity=positive(execution.shares, f"execution {execution.execId} shares"),
        price=positive(execution.price, f"execution {execution.execId} price") / quote_divisor,
        currency=currency,
        executed_at=execution.time,
        commission=commission,
        commission_currency=commission_currency,
        supersedes=supersedes,
        account_id=execution.acctNumber,
    )


def executed_at_or_after(fill: Any, since: datetime) -> bool:
    return bool(fill.execution.time >= since)


# ---------------------------------------------------------------- account


def account_value(values: Iterable[Any], tag: str, currency: str) -> Decimal | None:
    for value in values:
        if value.tag == tag and value.currency == currency:
            return decimal_or_none(value.value, f"account value {tag} ({currency})")
    return None


def currencies_of(values: Iterable[Any], tag: str) -> list[str]:
    return sorted({v.currency for v in values if v.tag == tag and v.currency not in ("", "BASE")})


def to_position(item: Any, symbol: str, currency: str, quote_divisor: Decimal) -> Position:
    """IB's portfolio line in our units, with IB's raw values kept beside the converted ones.

    Prices and the average cost come in the line's quote unit (pence for GBX: divided by
    ``quote_divisor``). The market value comes in the quote unit from some gateways and in
    the currency from others: it is read as whichever makes it quantity x price (within
    1 %); if neither does, the line is refused, naming the symbol.
    """
    where = f"position {symbol}"
    quantity = decimal(item.position, f"{where} quantity")
    price = non_negative(item.marketPrice, f"{where} market price")
    avg_cost = non_negative(item.averageCost, f"{where} average cost")
    value = decimal(item.marketValue, f"{where} market value")
    value_divisor = market_value_divisor(symbol, quantity, price, value, quote_divisor)
    return Position(
        symbol=symbol,
        quantity=quantity,
        avg_cost=avg_cost / quote_divisor,
        market_price=price / quote_divisor,
        market_value=value / value_divisor,
        currency=currency,
        reported=ReportedPosition(market_price=price, avg_cost=avg_cost, market_value=value,
                                  price_divisor=quote_divisor, value_divisor=value_divisor),
    )


def market_value_divisor(symbol: str, quantity: Decimal, price: Decimal, value: Decimal,
                         quote_divisor: Decimal) -> Decimal:
    """What IB's market value must be divided by to be in the line's currency: the quote
    divisor when it is quantity x (quote-unit) price, 1 when it is already in the currency."""
    in_quote_unit = quantity * price
    for divisor in dict.fromkeys((quote_divisor, Decimal(1))):
        expected = in_quote_unit * divisor / quote_divisor  # what IB's value is if it is in these units
        if abs(value - expected) <= POSITION_VALUE_TOLERANCE * abs(expected) or value == expected:
            return divisor
    raise BrokerError(
        f"IB position {symbol}: market value {value} is not quantity x price ({quantity} x {price} = "
        f"{in_quote_unit}{f', or {in_quote_unit / quote_divisor} in pounds' if quote_divisor != 1 else ''}) "
        "within 1 %; the snapshot was not recorded"
    )
