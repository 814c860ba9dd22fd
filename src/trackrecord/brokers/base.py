"""The Broker port: what the engine needs from any broker, simulated or real."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, Sequence

from trackrecord.domain import AccountSnapshot, BrokerOrder, Fill, Instrument, OrderRequest


class BrokerError(Exception):
    """The broker failed at run time (down, disconnected, timed out): exit code 1."""


class OrderRejected(BrokerError):
    """The broker refused an order; ``code`` is the broker's own error code."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Broker(Protocol):
    """A broker account. Implementations translate their vocabulary into ours.

    Rule: ``place_order`` must be called at most once per ``order_ref``; the engine
    checks ``open_orders`` and ``executions_since`` before it sends anything, and a broker
    refuses (``OrderRejected``) an ``order_ref`` it already knows. The contract suite in
    tests/contract/ holds every implementation to these rules.
    """

    @property
    def account_id(self) -> str: ...

    @property
    def is_paper(self) -> bool: ...

    def qualify(self, instruments: Sequence[Instrument]) -> dict[str, Instrument]:
        """Resolve each instrument at the broker (pinning its contract id), keyed by symbol."""
        ...

    def snapshot(self, as_of: datetime) -> AccountSnapshot: ...

    def executions_since(self, since: datetime) -> list[Fill]: ...

    def place_order(self, order: OrderRequest) -> BrokerOrder: ...

    def open_orders(self) -> list[BrokerOrder]: ...

    def cancel(self, order_ref: str) -> BrokerOrder: ...

    def wait_for_terminal(self, order_refs: Sequence[str], timeout_seconds: float) -> list[BrokerOrder]:
        """Follow orders until each is filled, cancelled or rejected, or the timeout passes.
        An order the broker shows nowhere is left out of the answer (never an error): the
        caller records it as ``unknown_at_broker``."""
        ...

    def close(self) -> None: ...
