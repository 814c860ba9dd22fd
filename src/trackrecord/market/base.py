"""The market-data port: what a price source returns and what the store gives back.

Rule: prices leave an adapter in the instrument's currency (pence quotes divided by the
instrument's ``quote_divisor``), never to be guessed later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping, Protocol, Sequence

import numpy as np

from trackrecord.domain import Instrument


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One daily bar in the instrument's currency. ``close`` is the raw (as-traded) close,
    None when the source has only adjusted prices; ``adj_close`` is split- and
    dividend-adjusted (total return), used by the signal."""

    symbol: str
    session_date: date
    close: float | None
    adj_close: float


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """A stored history: ``dates`` datetime64[D] ascending, ``adj_close`` and ``close``
    float64 (``close`` is NaN where the source gave no raw close)."""

    symbol: str
    dates: np.ndarray
    adj_close: np.ndarray
    close: np.ndarray

    @property
    def history(self) -> tuple[np.ndarray, np.ndarray]:
        """(dates, adjusted closes): the signal's input."""
        return self.dates, self.adj_close

    @property
    def last_date(self) -> date | None:
        return self.dates[-1].item() if self.dates.size else None

    def valuation_price(self, on_or_before: date | None = None) -> tuple[date, float] | None:
        """The raw close (else the adjusted one) of the last bar on or before the date."""
        end = self.dates.size if on_or_before is None else int(
            np.searchsorted(self.dates, np.datetime64(on_or_before, "D"), side="right"))
        if end == 0:
            return None
        raw = self.close[end - 1]
        return self.dates[end - 1].item(), float(raw if np.isfinite(raw) else self.adj_close[end - 1])


class PriceSource(Protocol):
    """A provider of daily bars (Yahoo, a CSV folder, the synthetic market)."""

    name: str
    simulated: bool
    # How long after a session's close the source's bar for it may still change (a feed's
    # last trade before the official closing price): its bar is not stored before that.
    close_settles: timedelta

    def fetch(self, instruments: Sequence[Instrument], start: Mapping[str, date], end: date) -> list[PriceRow]:
        """Bars with ``start[symbol] <= session_date <= end`` for each instrument, in its currency."""
        ...


class PriceSourceError(Exception):
    """A provider failed (network, malformed file); the message names the symbol and the source."""


class PriceInputError(PriceSourceError):
    """The prices a user supplied are unreadable (a file of a CSV folder, its line): bad
    input to fix (exit 2), not a provider that failed (exit 1)."""


def to_currency(quote: float, instrument: Instrument) -> float:
    """A quote in the instrument's price unit converted to its currency (pence / 100)."""
    return quote / float(instrument.quote_divisor)
