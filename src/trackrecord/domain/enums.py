"""Closed sets of the domain, as str Enums so they persist as their value."""

from __future__ import annotations

from enum import Enum


class Side(str, Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(str, Enum):
    MARKET = "MKT"
    MARKET_ON_CLOSE = "MOC"
    LIMIT = "LMT"


class OrderStatus(str, Enum):
    PENDING_SUBMIT = "pending_submit"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    # The broker shows the order nowhere (not working, no completed order, no execution):
    # recorded when it is lost from view after being sent, revised if it turns up again.
    UNKNOWN_AT_BROKER = "unknown_at_broker"

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class TradingState(str, Enum):
    """Kill-switch state: ACTIVE trades, REDUCING only shrinks positions, HALTED sends nothing."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    @property
    def meaning(self) -> str:
        """The state in a few words for a reader who does not know the switch ("ACTIVE" alone
        reads as if it had been set off)."""
        return {"ACTIVE": "trading as planned", "REDUCING": "reduce-only", "HALTED": "no new order"}[self.value]


class Mode(str, Enum):
    DRY_RUN = "dry_run"
    PAPER = "paper"
    LIVE = "live"
