"""What one engine run works with; ``bootstrap`` builds it from the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from trackrecord.domain import Mode

if TYPE_CHECKING:
    from trackrecord.brokers.base import Broker
    from trackrecord.config import Settings
    from trackrecord.engine.pricebook import PriceBook
    from trackrecord.ledger.store import SqlLedger
    from trackrecord.market.calendar import ExchangeCalendar


class SessionClock(Protocol):
    """Moves a simulated market through time and a session's close (the simulated broker's
    auction). A real broker needs none: the exchange keeps its own time."""

    def start(self, moment: datetime) -> None: ...

    def close_session(self, session: date, closed_at: datetime) -> None: ...


@dataclass
class RunContext:
    settings: "Settings"
    ledger: "SqlLedger"
    calendar: "ExchangeCalendar"
    mode: Mode
    book: "PriceBook"
    key_dir: Path
    broker: "Broker | None" = None
    session_clock: SessionClock | None = None
    simulated: bool = True
    price_source: str = "store"

    @property
    def symbols(self) -> list[str]:
        return [i.symbol for i in self.settings.universe.instruments]

    @property
    def sends_orders(self) -> bool:
        return self.mode is not Mode.DRY_RUN and self.broker is not None

    @property
    def account_id(self) -> str:
        if self.broker is not None:
            return self.broker.account_id
        return self.settings.account.account_id or self.settings.broker.sim.account_id
