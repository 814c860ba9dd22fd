"""Account state at a point in time, and external cash flows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Position:
    """A holding valued at ``market_price``; ``price_date`` is the session that price is
    from (None when the broker does not say)."""

    symbol: str
    quantity: Decimal
    avg_cost: Decimal
    market_price: Decimal
    market_value: Decimal
    currency: str
    reported: "ReportedPosition | None" = None  # the broker's raw values, when it converts units
    price_date: date | None = None


@dataclass(frozen=True, slots=True)
class ReportedPosition:
    """A position's values as the broker sent them, and the divisors that turned them into
    ``Position``'s (IB quotes GBX lines in pence: prices are divided by 100)."""

    market_price: Decimal
    avg_cost: Decimal
    market_value: Decimal
    price_divisor: Decimal
    value_divisor: Decimal


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Net liquidation, cash and positions in the account's base currency.

    A snapshot belongs to an exchange session date; a later one for the same
    (account, session date) supersedes an earlier one.
    """

    account_id: str
    is_paper: bool
    taken_at: datetime
    session_date: date
    base_currency: str
    net_liquidation: Decimal
    cash: Decimal
    positions: tuple[Position, ...] = field(default_factory=tuple)

    def quantity_of(self, symbol: str) -> Decimal:
        return next((p.quantity for p in self.positions if p.symbol == symbol), Decimal(0))


@dataclass(frozen=True, slots=True)
class CashFlow:
    """An external flow: deposit > 0, withdrawal < 0, booked on a session date."""

    flow_date: date
    amount: Decimal
    currency: str
    note: str = ""
    account_id: str | None = None  # None: the workspace's default account (see ledger/cashflows.py)
