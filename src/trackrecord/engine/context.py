"""What one engine run works with; ``bootstrap`` builds it from the configuration.

A :class:`PlanningContext` plans and records decisions but has no broker (a dry run, a
preview). A :class:`RunContext` adds the broker and the session clock that moves the
broker's market through a session; live, the exchange keeps its own time and the clock
does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Iterable, Protocol

from trackrecord.domain import Mode
from trackrecord.engine.planning import BrokerPortfolio, Planner, PortfolioSource

if TYPE_CHECKING:
    from trackrecord.brokers.base import Broker
    from trackrecord.config import Settings
    from trackrecord.engine.held_sessions import HeldSessions
    from trackrecord.engine.pricebook import PriceBook
    from trackrecord.ledger.store import SqlLedger
    from trackrecord.market.calendar import ExchangeCalendar


class SessionClock(Protocol):
    """Moves a simulated market through time and a session's close (the simulated broker's
    auction), and learns the closes a replay reveals (stored closes, floats: priced as
    ``domain.prices.decision_price`` does)."""

    def start(self, moment: datetime) -> None: ...

    def close_session(self, session: date, closed_at: datetime) -> None: ...

    def record_closes(self, session: date, closed_at: datetime, closes: Iterable[tuple[str, float]]) -> None: ...

    def unsettled(self, by: datetime) -> tuple[date, tuple[str, ...]] | None:
        """The earliest session whose orders placed by ``by`` are still open, and their symbols."""
        ...


class ExchangeClock:
    """A real broker's clock: the exchange keeps its own time, so every call does nothing."""

    def start(self, moment: datetime) -> None:
        return None

    def close_session(self, session: date, closed_at: datetime) -> None:
        return None

    def record_closes(self, session: date, closed_at: datetime, closes: Iterable[tuple[str, float]]) -> None:
        return None

    def unsettled(self, by: datetime) -> tuple[date, tuple[str, ...]] | None:
        return None


@dataclass(kw_only=True)
class PlanningContext:
    settings: "Settings"
    ledger: "SqlLedger"
    calendar: "ExchangeCalendar"
    mode: Mode
    book: "PriceBook"
    portfolio: PortfolioSource
    planning_account: str
    simulated: bool = True
    price_source: str = "store"
    held: "HeldSessions | None" = None  # a backtest's replay: its sessions' bars and gates recorded a month at a time

    @property
    def symbols(self) -> list[str]:
        return [i.symbol for i in self.settings.universe.instruments]

    @property
    def planner(self) -> Planner:
        return Planner(self.settings, self.calendar, self.book, self.simulated)

    @property
    def account_id(self) -> str:
        return self.planning_account

    @property
    def sends_orders(self) -> bool:
        return False

    @property
    def connected_account(self) -> str | None:
        return None

    def close(self) -> None:
        """Give back what the context opened (a preview may read the simulated account)."""
        if isinstance(self.portfolio, BrokerPortfolio):
            self.portfolio.broker.close()


@dataclass(kw_only=True)
class RunContext(PlanningContext):
    broker: "Broker"
    session_clock: SessionClock

    @property
    def account_id(self) -> str:
        return self.broker.account_id

    @property
    def sends_orders(self) -> bool:
        return self.mode is not Mode.DRY_RUN

    @property
    def connected_account(self) -> str | None:
        return self.broker.account_id

    def close(self) -> None:
        self.broker.close()
