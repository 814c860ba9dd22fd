"""Orders we intend, orders the broker knows, and the fills that are facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trackrecord.domain.enums import OrderStatus, OrderType, Side


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order the engine intends to send.

    ``order_ref`` is derived from the plan id, so a rerun recognises what it already sent.
    ``intended_price`` is the decision price recorded at planning time (for slippage).
    """

    order_ref: str
    plan_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    intended_price: Decimal
    currency: str
    limit_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """The broker's view of an order, translated into our vocabulary.

    ``order_type`` is None when the broker shows the order only through its executions
    (IB forgets finished orders); ``quantity`` is then what was executed.
    """

    order_ref: str
    broker_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType | None
    status: OrderStatus
    filled_quantity: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution. ``commission`` is None while the broker has not reported it yet
    (pending, never zero). A correction carries the exec id it ``supersedes``."""

    exec_id: str
    order_ref: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    currency: str
    executed_at: datetime
    commission: Decimal | None = None
    commission_currency: str | None = None
    supersedes: str | None = None
    account_id: str = ""
