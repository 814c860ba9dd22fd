"""Domain objects as ledger payloads (exact decimals, UTC timestamps)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from trackrecord.domain import AccountSnapshot, BrokerOrder, Fill, OrderRequest, Position
from trackrecord.ledger.canonical import (
    Canonical,
    CanonicalList,
    format_decimal,
    format_moment,
    quote,
    quoted_date,
)


def snapshot_payload(snapshot: AccountSnapshot, simulated: bool, source: str) -> dict[str, Any]:
    return {
        "account_id": snapshot.account_id, "session_date": snapshot.session_date, "taken_at": snapshot.taken_at,
        "base_currency": snapshot.base_currency, "nav": snapshot.net_liquidation, "cash": snapshot.cash,
        "is_paper": snapshot.is_paper, "simulated": simulated, "source": source,
        "positions": [
            {"symbol": p.symbol, "quantity": p.quantity, "avg_cost": p.avg_cost, "market_price": p.market_price,
             "market_value": p.market_value, "currency": p.currency, **_reported(p),
             **({"price_date": p.price_date} if p.price_date is not None else {})}
            for p in snapshot.positions
        ],
    }


# snapshot_payload's keys in the order it writes them (a position's price date last, when it has one)
_SNAPSHOT_KEYS = ("account_id", "session_date", "taken_at", "base_currency", "nav", "cash", "is_paper", "simulated",
                  "source", "positions")
_POSITION_KEYS = ("symbol", "quantity", "avg_cost", "market_price", "market_value", "currency", "price_date")
_UNDATED_POSITION_KEYS = _POSITION_KEYS[:-1]
_JSON_BOOLEANS = {True: "true", False: "false"}


def canonical_snapshot(payload: dict[str, Any]) -> Canonical | None:
    """The canonical text and data of a ``snapshot_payload``, written straight in canonical
    key order (a session's snapshot is the one event every session of a replay records);
    None when the payload is not of the plain shape (stale marks, the broker's reported
    values, a value not of its exact type): the generic walk then. A property test holds
    it byte for byte to ``canonical_json_and_data``; refusals (a naive moment, a decimal
    that is not finite) are the generic walk's own (``CanonicalError``)."""
    if tuple(payload) != _SNAPSHOT_KEYS:
        return None
    account_id, session_date, taken_at, base, nav, cash, is_paper, simulated, source, positions = payload.values()
    if not (type(account_id) is str and type(base) is str and type(source) is str and type(session_date) is date
            and type(taken_at) is datetime and type(nav) is Decimal and type(cash) is Decimal
            and type(is_paper) is bool and type(simulated) is bool and type(positions) is list):
        return None
    held = _canonical_positions(positions)
    if held is None:
        return None
    positions_text, positions_data = held
    nav_text, cash_text, day, moment = format_decimal(nav), format_decimal(cash), quoted_date(session_date), \
        format_moment(taken_at)  # a new moment each session: not one for format_timestamp's cache
    text = (f'{{"account_id":{quote(account_id)},"base_currency":{quote(base)},"cash":"{cash_text}",'
            f'"is_paper":{_JSON_BOOLEANS[is_paper]},"nav":"{nav_text}","positions":{positions_text},'
            f'"session_date":{day},"simulated":{_JSON_BOOLEANS[simulated]},"source":{quote(source)},'
            f'"taken_at":"{moment}"}}')
    data = {"account_id": account_id, "base_currency": base, "cash": cash_text, "is_paper": is_paper,
            "nav": nav_text, "positions": CanonicalList(positions_data, positions_text), "session_date": day[1:-1],
            "simulated": simulated, "source": source, "taken_at": moment}
    return Canonical(text, data)


def _canonical_positions(positions: list[Any]) -> tuple[str, list[dict[str, Any]]] | None:
    texts: list[str] = []
    rows: list[dict[str, Any]] = []
    for position in positions:
        if type(position) is not dict:
            return None
        keys = tuple(position)
        if keys == _POSITION_KEYS:
            symbol, quantity, avg_cost, price, value, currency, price_date = position.values()
            if type(price_date) is not date:
                return None
        elif keys == _UNDATED_POSITION_KEYS:
            symbol, quantity, avg_cost, price, value, currency = position.values()
            price_date = None
        else:
            return None
        if not (type(symbol) is str and type(currency) is str and type(quantity) is Decimal
                and type(avg_cost) is Decimal and type(price) is Decimal and type(value) is Decimal):
            return None
        cost_text, price_text, value_text, quantity_text = format_decimal(avg_cost), format_decimal(price), \
            format_decimal(value), format_decimal(quantity)
        head = f'{{"avg_cost":"{cost_text}","currency":{quote(currency)},"market_price":"{price_text}",' \
               f'"market_value":"{value_text}",'
        tail = f'"quantity":"{quantity_text}","symbol":{quote(symbol)}}}'
        if price_date is None:
            texts.append(head + tail)
            rows.append({"avg_cost": cost_text, "currency": currency, "market_price": price_text,
                         "market_value": value_text, "quantity": quantity_text, "symbol": symbol})
        else:
            day = quoted_date(price_date)
            texts.append(f'{head}"price_date":{day},{tail}')
            rows.append({"avg_cost": cost_text, "currency": currency, "market_price": price_text,
                         "market_value": value_text, "price_date": day[1:-1], "quantity": quantity_text,
                         "symbol": symbol})
    return "[" + ",".join(texts) + "]", rows


def _reported(position: Position) -> dict[str, Any]:
    """The broker's raw values beside the converted ones (IB's pence lines), when it sent any."""
    raw = position.reported
    if raw is None:
        return {}
    return {"reported": {"market_price": raw.market_price, "avg_cost": raw.avg_cost, "market_value": raw.market_value,
                         "price_divisor": raw.price_divisor, "value_divisor": raw.value_divisor}}


def fill_payload(fill: Fill, intended_price: Any, order_type: str | None, simulated: bool) -> dict[str, Any]:
    return {
        "exec_id": fill.exec_id, "account_id": fill.account_id, "order_ref": fill.order_ref, "symbol": fill.symbol,
        "side": fill.side.value, "quantity": fill.quantity, "price": fill.price, "currency": fill.currency,
        "executed_at": fill.executed_at, "commission": fill.commission,
        "commission_currency": fill.commission_currency if fill.commission is not None else None,
        "intended_price": intended_price, "order_type": order_type, "supersedes": fill.supersedes,
        "simulated": simulated,
    }


def order_payload(order: OrderRequest, mode: str, status: str, broker_order: BrokerOrder | None = None,
                  message: str = "") -> dict[str, Any]:
    return {
        "order_ref": order.order_ref, "plan_id": order.plan_id, "mode": mode, "symbol": order.symbol,
        "side": order.side.value, "quantity": order.quantity, "order_type": order.order_type.value,
        "intended_price": order.intended_price, "currency": order.currency, "limit_price": order.limit_price,
        "status": status, "broker_order_id": broker_order.broker_order_id if broker_order else None,
        "message": message,
    }


def status_payload(order: BrokerOrder) -> dict[str, Any]:
    return {
        "order_ref": order.order_ref, "status": order.status.value, "broker_order_id": order.broker_order_id,
        "filled_quantity": order.filled_quantity, "average_fill_price": order.average_fill_price,
        "message": order.message,
    }
