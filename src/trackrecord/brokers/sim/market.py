"""Where the simulated broker's prices come from: a small port and an in-memory tape."""

from __future__ import annotations

from bisect import bisect_right, insort
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Iterable, Mapping, Protocol


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

    Lookups are a bisect per call, so a 25-year replay costs microseconds per price.
    """

    def __init__(self) -> None:
        self._times: dict[str, list[datetime]] = {}
        self._prices: dict[str, list[Decimal]] = {}
        self._closes: dict[str, dict[date, Decimal]] = {}

    @classmethod
    def from_daily_closes(
        cls, closes: Mapping[str, Iterable[tuple[date, Decimal]]], close_at: Callable[[date], datetime]
    ) -> "PriceTape":
        """A tape of closing prices only, each known from its session's close moment."""
        tape = cls()
        for symbol, series in closes.items():
            for session_date, price in series:
                tape.record_close(symbol, session_date, close_at(session_date), price)
        return tape

    def record(self, symbol: str, at: datetime, price: Decimal) -> None:
        times = self._times.setdefault(symbol, [])
        prices = self._prices.setdefault(symbol, [])
        if not times or at >= times[-1]:
            times.append(at)
            prices.append(price)
            return
        index = bisect_right(times, at)
        insort(times, at)
        prices.insert(index, price)

    def record_close(self, symbol: str, session_date: date, at: datetime, price: Decimal) -> None:
        """The session's close, also a price from ``at`` on."""
        self._closes.setdefault(symbol, {})[session_date] = price
        self.record(symbol, at, price)

    def last_price(self, symbol: str, at: datetime) -> Decimal | None:
        times = self._times.get(symbol)
        if not times:
            return None
        index = bisect_right(times, at) - 1
        return self._prices[symbol][index] if index >= 0 else None

    def session_close(self, symbol: str, session_date: date) -> Decimal | None:
        return self._closes.get(symbol, {}).get(session_date)

    def last_mark(self, symbol: str, at: datetime) -> tuple[datetime, Decimal] | None:
        times = self._times.get(symbol)
        index = bisect_right(times, at) - 1 if times else -1
        return (times[index], self._prices[symbol][index]) if times and index >= 0 else None
