"""Domain objects as ledger payloads (exact decimals, UTC timestamps)."""

from __future__ import annotations

from typing import Any

from trackrecord.domain import AccountSnapshot, BrokerOrder, Fill, OrderRequest, Position


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
