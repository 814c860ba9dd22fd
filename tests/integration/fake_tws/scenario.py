"""What the fake TWS knows (scenario) and how it misbehaves (faults), set per test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable

from .protocol import ContractSpec


def default_contracts() -> tuple[ContractSpec, ...]:
    """Two LSE ETF lines: one in GBP, one in USD (prices in the line's currency)."""
    return (
        ContractSpec(
            con_id=128_000_001, symbol="IUKD", exchange="SMART", primary_exchange="LSEETF",
            currency="GBP", long_name="ISHARES UK DIVIDEND UCITS ETF",
            price=Decimal("8.12"), close_price=Decimal("8.15"),
        ),
        ContractSpec(
            con_id=128_000_002, symbol="CSPX", exchange="SMART", primary_exchange="LSEETF",
            currency="USD", long_name="ISHARES CORE S&P 500 UCITS ETF",
            price=Decimal("512.40"), close_price=Decimal("513.00"),
        ),
    )


@dataclass
class Scenario:
    """The account behind the fake gateway. Mutable: fills move cash and positions."""

    accounts: tuple[str, ...] = ("DU1234567",)
    base_currency: str = "GBP"
    cash: dict[str, Decimal] = field(default_factory=lambda: {"GBP": Decimal("100000.00")})
    fx_to_base: dict[str, Decimal] = field(default_factory=lambda: {"GBP": Decimal(1), "USD": Decimal("0.79")})
    contracts: tuple[ContractSpec, ...] = field(default_factory=default_contracts)
    positions: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)  # conId -> (qty, avg cost)
    commission: dict[str, Decimal] = field(default_factory=lambda: {"GBP": Decimal("3.00"), "USD": Decimal("1.00")})
    time_zone: str = "Europe/London"  # zone TWS writes execution times in
    first_order_id: int = 1
    fill_delay_seconds: float = 0.02
    # True: market orders wait for the next ``FakeTws.print_price`` instead of filling after
    # ``fill_delay_seconds`` (the contract suite's market, where prices print on demand).
    fill_on_print: bool = False
    # The exchange's clock (execution times); None: the real time.
    clock: Callable[[], datetime] | None = None
    # conId -> what the portfolio's market value is divided by before it is sent: 100 for a
    # pence-quoted line whose gateway reports the value in pounds (the price stays in pence).
    market_value_divisor: dict[int, Decimal] = field(default_factory=dict)

    def contract(self, con_id: int) -> ContractSpec:
        return next(c for c in self.contracts if c.con_id == con_id)

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(timezone.utc)


@dataclass
class Reject:
    """Refuse the next order (or the one with ``order_ref``): error ``code`` then ``status``."""

    code: int = 201
    text: str = "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [1000.00 GBP] MUST EXCEED THE INITIAL MARGIN"
    status: str = "Inactive"
    order_ref: str | None = None


@dataclass
class DisconnectOnPlace:
    """Drop the client's socket right after a placeOrder arrives.

    ``accepted``: the order still reaches the exchange (and a market order fills), but the
    client never hears about it on that connection. Otherwise the order is lost.
    """

    accepted: bool = True


@dataclass
class LateCommission:
    """Hold commission reports back: from the live stream and from the next
    ``withhold_requests`` reqExecutions answers; push them live after ``delay_seconds``
    if given (None: only a later reqExecutions reveals them)."""

    withhold_requests: int = 1
    delay_seconds: float | None = None


@dataclass
class PartialFill:
    """Fill each order first for ``first`` shares only; the rest after ``rest_after_seconds``
    (None: never, until the order is cancelled or the session ends)."""

    first: Decimal
    rest_after_seconds: float | None = 0.1


@dataclass
class Faults:
    """Scripted misbehaviour; set attributes on ``FakeTws.faults`` before acting."""

    reject: Reject | None = None
    disconnect_on_place: DisconnectOnPlace | None = None
    duplicate_exec_details: bool = False
    late_commission: LateCommission | None = None
    ignore_cancels: bool = False
    partial_fill: PartialFill | None = None
    # Forget finished orders: reqCompletedOrders answers with the end marker only, as
    # TWS/IB Gateway may after its daily restart.
    no_completed_orders: bool = False
    # Field text sent in place of the real value: a broken gateway. Keys: ``execution.price``,
    # ``execution.shares``, ``commission``, ``position.quantity``, ``position.market_price``,
    # ``position.market_value``, ``position.average_cost``, ``account.<tag>`` (e.g.
    # ``account.NetLiquidation``); e.g. {"execution.price": "nan"}.
    garbled: dict[str, str] = field(default_factory=dict)
