"""Where the simulated broker's prices come from: a small port and an in-memory tape."""

from __future__ import annotations

from bisect import bisect_right, insort
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Iterable, Mapping, Protocol

from trackrecord.domain.prices import decision_price


class SimMarket(Protocol):
    """Prices the simulated broker fills and values at, in each instrument's currency."""

    def last_price(self, symbol: str, at: datetime) -> Decimal | None:
        """The latest price at or before ``at``; None when there is none yet."""
        ...

    def session_close(self, symbol: str, session_date: date) -> Decimal | None:
        """The closing-auction price of ``session_date``; None when the symbol did not close then."""
        ...

    def last_mark(self, symbol: str, at: datetime) -> tuple[datetime, Decimal] | None:
        """(when it was printed, price) of the latest price at or before ``at``."""
        ...


class PriceTape:
    """An in-memory ``SimMarket``: prices recorded by the caller (tests, the demo, a replay).

    Lookups are a bisect per call, so a 25-year replay costs microseconds per price. Stored
    closes (floats, not Decimals) become exact prices (``decision_price``) when first asked
    for: a replay asks for a few of a session's closes, not every one.
    """

    def __init__(self) -> None:
        self._times: dict[str, list[datetime]] = {}
        self._prices: dict[str, list[Decimal | float]] = {}
        self._closes: dict[str, dict[date, Decimal | float]] = {}

    @classmethod
    def from_daily_closes(
        cls, closes: Mapping[str, Iterable[tuple[date, Decimal | float]]], close_at: Callable[[date], datetime]
    ) -> "PriceTape":
        """A tape of closing prices only, each known from its session's close moment (a
        float: a stored close, priced by ``decision_price`` when first asked for)."""
        tape = cls()
        for symbol, series in closes.items():
            for session_date, price in series:
                tape.record_close(symbol, session_date, close_at(session_date), price)
        return tape

    def record(self, symbol: str, at: datetime, price: Decimal | float) -> None:
        times = self._times.setdefault(symbol, [])
        prices = self._prices.setdefault(symbol, [])
        if not times or at >= times[-1]:
            times.append(at)
            prices.append(price)
            return
        index = bisect_right(times, at)
        insort(times, at)
        prices.insert(index, price)

    def record_close(self, symbol: str, session_date: date, at: datetime, price: Decimal | float) -> None:
        """The session's close, also a price from ``at`` on (a float: a stored close, priced
        by ``decision_price`` when first asked for)."""
        self.record_stored_closes(session_date, at, ((symbol, price),))

    def record_stored_closes(self, session_date: date, at: datetime,
                             closes: Iterable[tuple[str, Decimal | float]]) -> None:
        """A session's closes (symbol, price), each a price from ``at`` on."""
        for symbol, price in closes:
            by_session = self._closes.get(symbol)
            if by_session is None:
                by_session = self._closes[symbol] = {}
            by_session[session_date] = price
            times = self._times.get(symbol)
            if times and at >= times[-1]:  # the common case: sessions arrive in order
                times.append(at)
                self._prices[symbol].append(price)
            else:
                self.record(symbol, at, price)

    def last_price(self, symbol: str, at: datetime) -> Decimal | None:
        times = self._times.get(symbol)
        if not times:
            return None
        index = bisect_right(times, at) - 1
        return self._price(symbol, index) if index >= 0 else None

    def session_close(self, symbol: str, session_date: date) -> Decimal | None:
        closes = self._closes.get(symbol)
        price = None if closes is None else closes.get(session_date)
        if price is not None and type(price) is not Decimal:
            price = closes[session_date] = decision_price(float(price))  # type: ignore[index]
        return price  # type: ignore[return-value]

    def last_mark(self, symbol: str, at: datetime) -> tuple[datetime, Decimal] | None:
        times = self._times.get(symbol)
        if not times:
            return None
        if at >= times[-1]:  # a replay values the account after the latest close: no search
            index = len(times) - 1
        else:
            index = bisect_right(times, at) - 1
            if index < 0:
                return None
        return times[index], self._price(symbol, index)

    def _price(self, symbol: str, index: int) -> Decimal:
        prices = self._prices[symbol]
        price = prices[index]
        if type(price) is not Decimal:
            price = prices[index] = decision_price(float(price))
        return price  # type: ignore[return-value]
