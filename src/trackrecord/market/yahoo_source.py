"""Prices from Yahoo Finance through ``yfinance``: batched, retried with backoff, incremental.

The network call is one injectable function (``download(tickers, start, end)`` returning a
``yf.download``-shaped DataFrame), so everything else (batching, retries, parsing, pence
conversion) is tested against recorded frames without touching the network.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from trackrecord.config import YAHOO_CLOSE_SETTLES_MINUTES
from trackrecord.domain import Instrument
from trackrecord.market.base import PriceRow, PriceSourceError, to_currency

if TYPE_CHECKING:
    import pandas

log = logging.getLogger(__name__)

Download = Callable[[list[str], date, date], "pandas.DataFrame"]


def yfinance_download(tickers: list[str], start: date, end: date) -> "pandas.DataFrame":
    """Daily bars ``start <= day <= end`` with raw and adjusted closes (network).

    yfinance reports failures by logging them and returning an empty frame: its logger is
    quietened here, and the caller treats an empty answer as a failure.
    """
    import yfinance as yf

    vendor_log = logging.getLogger("yfinance")
    level = vendor_log.level
    vendor_log.setLevel(logging.CRITICAL)
    try:
        frame = yf.download(
            tickers, start=start.isoformat(), end=(end + timedelta(days=1)).isoformat(), interval="1d",
            auto_adjust=False, actions=False, group_by="column", progress=False, threads=False,
        )
    finally:
        vendor_log.setLevel(level)
    return frame


class YahooSource:
    """A PriceSource over Yahoo Finance; provenance ``yahoo``."""

    name = "yahoo"
    simulated = False
    close_settles = timedelta(minutes=YAHOO_CLOSE_SETTLES_MINUTES)  # the scheduler's close job waits 30

    def __init__(self, download: Download = yfinance_download, batch_size: int = 10, attempts: int = 4,
                 backoff_seconds: float = 2.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.download = download
        self.batch_size = batch_size
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    def fetch(self, instruments: Sequence[Instrument], start: Mapping[str, date], end: date) -> list[PriceRow]:
        """One request per batch of tickers sharing a start date (the day after the last stored bar)."""
        groups: dict[date, list[Instrument]] = defaultdict(list)
        for instrument in instruments:
            since = start.get(instrument.symbol, date(1990, 1, 1))
            if since <= end:
                groups[since].append(instrument)
        rows: list[PriceRow] = []
        for since, members in sorted(groups.items()):
            for offset in range(0, len(members), self.batch_size):
                rows += self._batch(members[offset:offset + self.batch_size], since, end)
        return rows

    def _batch(self, instruments: list[Instrument], start: date, end: date) -> list[PriceRow]:
        """One download, retried on errors with exponential backoff; a ticker without bars is
        not an error here (the quality gates report it)."""
        by_ticker = {i.data_symbol: i for i in instruments}
        bars = parse_download(self._download_with_retries(list(by_ticker), start, end), list(by_ticker))
        missing = [t for t in by_ticker if t not in bars]
        if missing:
            log.warning("Yahoo returned no bars for %s between %s and %s", missing, start, end)
        return [
            PriceRow(by_ticker[ticker].symbol, day, None if raw is None else to_currency(raw, by_ticker[ticker]),
                     to_currency(adj, by_ticker[ticker]))
            for ticker, points in bars.items() for day, raw, adj in points if start <= day <= end
        ]

    def _download_with_retries(self, tickers: list[str], start: date, end: date) -> Any:
        """Retried on errors and on an empty answer: ``start <= end`` spans a session, so
        nothing at all for every ticker means Yahoo could not be reached (or knows none)."""
        for attempt in range(1, self.attempts + 1):
            try:
                frame = self.download(tickers, start, end)
                if frame is None or len(frame) == 0:
                    raise PriceSourceError(f"Yahoo returned nothing from {start} to {end} "
                                           "(network down, or unknown tickers)")
                return frame
            except Exception as exc:  # the vendor raises anything; retried, then translated
                if attempt == self.attempts:
                    raise PriceSourceError(f"Yahoo download of {', '.join(tickers)} failed after "
                                           f"{attempt} attempts: {exc}") from exc
                log.warning("Yahoo download of %s failed (attempt %d): %s", tickers, attempt, exc)
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")


def parse_download(frame: Any, tickers: Sequence[str]) -> dict[str, list[tuple[date, float | None, float]]]:
    """``{ticker: [(day, close, adj_close)]}`` from a yf.download frame; tickers without any
    usable bar are left out. Accepts (field, ticker) or (ticker, field) column levels and the
    flat columns of a single-ticker download. A bar without an adjusted close is skipped;
    without ``Adj Close`` at all, the close is used for both."""
    out: dict[str, list[tuple[date, float | None, float]]] = {}
    if frame is None or len(frame) == 0:
        return out
    days = [_day(index) for index in frame.index]
    if getattr(frame.columns, "nlevels", 1) == 1 and len(tickers) != 1:
        raise PriceSourceError(f"a flat Yahoo frame for {len(tickers)} tickers cannot be attributed")
    for ticker in tickers:
        close, adj = _column(frame, ticker, "Close"), _column(frame, ticker, "Adj Close")
        if adj is None:
            adj = close
        if adj is None:
            continue
        points = []
        for day, raw, adjusted in zip(days, close if close is not None else [None] * len(days), adj):
            if adjusted is None or (isinstance(adjusted, float) and math.isnan(adjusted)):
                continue
            raw_value = None if raw is None or (isinstance(raw, float) and math.isnan(raw)) else float(raw)
            points.append((day, raw_value, float(adjusted)))
        if points:
            out[ticker] = points
    return out


def _column(frame: Any, ticker: str, field: str) -> list[Any] | None:
    columns = frame.columns
    if getattr(columns, "nlevels", 1) == 2:
        for key in ((field, ticker), (ticker, field)):
            if key in columns:
                return [None if v != v else v for v in frame[key].tolist()]
        return None
    return [None if v != v else v for v in frame[field].tolist()] if field in columns else None


def _day(index: Any) -> date:
    return index.date() if hasattr(index, "date") else date.fromisoformat(str(index)[:10])
