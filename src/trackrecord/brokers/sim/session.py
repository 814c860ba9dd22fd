"""The simulated broker's market clock (the engine's ``SessionClock``) and the tape of
stored closes it trades on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterable, Mapping

import numpy as np

from trackrecord.brokers.sim.broker import SimulatedBroker
from trackrecord.brokers.sim.market import PriceTape
from trackrecord.domain import BrokerOrder
from trackrecord.market.base import PriceSeries
from trackrecord.market.calendar import ExchangeCalendar


class SimulatedSession:
    """The simulated broker's market clock: the tape's closes drive its auction. An order
    lives in the session it was placed in: it fills at that session's close or expires
    there, never at a later close, however late that close's prices arrive."""

    def __init__(self, broker: SimulatedBroker, tape: PriceTape, calendar: ExchangeCalendar) -> None:
        self.broker = broker
        self.tape = tape
        self.calendar = calendar

    def start(self, moment: datetime) -> None:
        if self.broker.now is None or moment > self.broker.now:
            self.broker.advance_to(moment)

    def record_closes(self, session: date, closed_at: datetime, closes: Iterable[tuple[str, float]]) -> None:
        """The session's stored closes (symbol, float), each a price from ``closed_at`` on."""
        self.tape.record_stored_closes(session, closed_at, closes)

    def close_session(self, session: date, closed_at: datetime) -> None:
        """Run the session's auction once its closing prices are known; until then the
        orders stay open (``trackrecord daily`` brings the prices and closes it). Orders of
        an earlier session are settled first, each at its own session's close; while one
        of those closes is unknown, no later auction runs."""
        open_by_session = self._open_by_session()
        for earlier in sorted(day for day in open_by_session if day < session):
            if not self._closes_known(earlier, open_by_session[earlier]):
                return
            self.broker.on_session_close(earlier, self.calendar.close_time(earlier))
        if self.broker.now is not None and closed_at <= self.broker.now:
            return
        if not self._closes_known(session, open_by_session.get(session, [])):
            return
        self.broker.on_session_close(session, closed_at)

    def unsettled(self, by: datetime) -> tuple[date, tuple[str, ...]] | None:
        """The earliest session with orders placed by ``by`` still open, and their symbols:
        those the account's valuation at ``by`` cannot know the outcome of."""
        placed = {day: orders for day, orders in self._open_by_session(by).items() if orders}
        if not placed:
            return None
        first = min(placed)
        return first, tuple(sorted({o.symbol for o in placed[first]}))

    def _open_by_session(self, by: datetime | None = None) -> dict[date, list[BrokerOrder]]:
        """The open orders (placed by ``by``, if given) by the session each belongs to."""
        grouped: dict[date, list[BrokerOrder]] = {}
        for at, order in self.broker.open_orders_placed():
            if by is None or at <= by:
                grouped.setdefault(self._session_of(at), []).append(order)
        return grouped

    def _closes_known(self, session: date, orders: list[BrokerOrder]) -> bool:
        return all(self.tape.session_close(o.symbol, session) is not None for o in orders)

    def _session_of(self, placed_at: datetime) -> date:
        """The session whose close is the first at or after ``placed_at``."""
        day = self.calendar.session_on_or_before(self.calendar.date_at(placed_at))
        while self.calendar.close_time(day) < placed_at:
            day = self.calendar.next_sessions(day, 1, include_day=False)[0]
        return day


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
