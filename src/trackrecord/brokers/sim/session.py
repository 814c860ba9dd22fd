"""The simulated broker's market clock (the engine's ``SessionClock``) and the tape of
stored closes it trades on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterable, Mapping

import numpy as np

from trackrecord.brokers.sim.broker import SimulatedBroker
from trackrecord.brokers.sim.market import PriceTape
from trackrecord.market.base import PriceSeries
from trackrecord.market.calendar import ExchangeCalendar


class SimulatedSession:
    """The simulated broker's market clock: the tape's closes drive its auction."""

    def __init__(self, broker: SimulatedBroker, tape: PriceTape) -> None:
        self.broker = broker
        self.tape = tape

    def start(self, moment: datetime) -> None:
        if self.broker.now is None or moment > self.broker.now:
            self.broker.advance_to(moment)

    def record_closes(self, session: date, closed_at: datetime, closes: Iterable[tuple[str, float]]) -> None:
        """The session's stored closes (symbol, float), each a price from ``closed_at`` on."""
        self.tape.record_stored_closes(session, closed_at, closes)

    def close_session(self, session: date, closed_at: datetime) -> None:
        """Run the session's auction once its closing prices are known; until then the
        orders stay open (``trackrecord daily`` brings the prices and closes it)."""
        if self.broker.now is not None and closed_at <= self.broker.now:
            return
        if any(self.tape.session_close(o.symbol, session) is None for o in self.broker.open_orders()):
            return
        self.broker.on_session_close(session, closed_at)


def price_tape(series: Mapping[str, PriceSeries], calendar: ExchangeCalendar) -> PriceTape:
    """A simulated market of these closes (raw, else adjusted), each known from its close time
    and priced (``decision_price``) when first asked for."""
    closes = {}
    for symbol, bars in series.items():
        prices = np.where(np.isfinite(bars.close), bars.close, bars.adj_close)
        closes[symbol] = [
            (day, price) for day, price in zip(bars.dates.astype("O"), prices.tolist())
            if calendar.first_session <= day <= calendar.last_session and calendar.is_session(day)
        ]
    return PriceTape.from_daily_closes(closes, calendar.close_time)
