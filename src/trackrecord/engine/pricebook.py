"""Prices the engine knows during a run, in memory: loaded once from the store, extended
as bars arrive, sliced by date so no decision can see a later price."""

from __future__ import annotations

from datetime import date
from typing import Iterable, Mapping, Sequence

import numpy as np

from trackrecord.market.base import PriceRow, PriceSeries


class _Column:
    """A growable (dates, adjusted, raw) history of one symbol."""

    def __init__(self, series: PriceSeries | None) -> None:
        size = 0 if series is None else series.dates.size
        capacity = max(64, size * 2)
        self.dates = np.empty(capacity, dtype="datetime64[D]")
        self.adj = np.empty(capacity, dtype=np.float64)
        self.raw = np.empty(capacity, dtype=np.float64)
        self.size = size
        if series is not None and size:
            self.dates[:size], self.adj[:size], self.raw[:size] = series.dates, series.adj_close, series.close

    def append(self, day: np.datetime64, adj: float, raw: float) -> None:
        if self.size and day <= self.dates[self.size - 1]:
            if day == self.dates[self.size - 1]:  # a re-fetched bar replaces the last one
                self.adj[self.size - 1], self.raw[self.size - 1] = adj, raw
            return
        if self.size == self.dates.size:
            for name in ("dates", "adj", "raw"):
                old = getattr(self, name)
                grown = np.empty(old.size * 2, dtype=old.dtype)
                grown[:self.size] = old[:self.size]
                setattr(self, name, grown)
        self.dates[self.size], self.adj[self.size], self.raw[self.size] = day, adj, raw
        self.size += 1

    def upto(self, day: date | None, start: date | None = None) -> PriceSeries:
        end = self.size if day is None else int(np.searchsorted(self.dates[:self.size], np.datetime64(day, "D"), "right"))
        begin = 0 if start is None else int(np.searchsorted(self.dates[:end], np.datetime64(start, "D"), "left"))
        return PriceSeries("", self.dates[begin:end], self.adj[begin:end], self.raw[begin:end])


class PriceBook:
    def __init__(self, series: Mapping[str, PriceSeries], symbols: Sequence[str]) -> None:
        self.symbols = tuple(symbols)
        self._columns = {s: _Column(series.get(s)) for s in self.symbols}
        self._latest: dict[str, tuple[date, float] | None] = {
            s: self.last_bar(s, before=date.max) for s in self.symbols}

    def extend(self, rows: Iterable[PriceRow]) -> None:
        for row in rows:
            column = self._columns.get(row.symbol)
            if column is not None:
                raw = np.nan if row.close is None else float(row.close)
                column.append(np.datetime64(row.session_date, "D"), float(row.adj_close), raw)
                latest = self._latest[row.symbol]
                if latest is None or row.session_date >= latest[0]:
                    self._latest[row.symbol] = (row.session_date, float(row.adj_close))

    def latest(self) -> dict[str, tuple[date, float] | None]:
        """Each symbol's last (date, adjusted close), kept as bars arrive."""
        return dict(self._latest)

    def series(self, until: date | None = None, start: date | None = None) -> dict[str, PriceSeries]:
        """Each symbol's bars ``start <= d <= until`` (views: do not mutate)."""
        out = {}
        for symbol, column in self._columns.items():
            view = column.upto(until, start)
            out[symbol] = PriceSeries(symbol, view.dates, view.adj_close, view.close)
        return out

    def last_close(self, symbol: str, on_or_before: date) -> tuple[date, float] | None:
        """The raw close (else the adjusted one) of the last bar on or before the date."""
        return self.series(on_or_before)[symbol].valuation_price() if symbol in self._columns else None

    def last_bar(self, symbol: str, before: date) -> tuple[date, float] | None:
        """(date, adjusted close) of the symbol's last bar strictly before ``before``."""
        column = self._columns[symbol]
        point = np.datetime64(before, "D")
        if column.size and column.dates[column.size - 1] < point:  # the common case: bars arrive in order
            return column.dates[column.size - 1].astype(date), float(column.adj[column.size - 1])
        index = int(np.searchsorted(column.dates[:column.size], point, "left")) - 1
        return None if index < 0 else (column.dates[index].astype(date), float(column.adj[index]))

    def bars_on(self, day: date) -> dict[str, tuple[float | None, float]]:
        """symbol -> (raw close or None, adjusted close) of the bar dated ``day``."""
        point = np.datetime64(day, "D")
        out: dict[str, tuple[float | None, float]] = {}
        for symbol, column in self._columns.items():
            last = column.size - 1
            index = last if last >= 0 and column.dates[last] == point else int(
                np.searchsorted(column.dates[:column.size], point, "left"))
            if index < column.size and column.dates[index] == point:
                raw = float(column.raw[index])
                out[symbol] = (raw if np.isfinite(raw) else None, float(column.adj[index]))
        return out

    def last_date(self, symbol: str) -> date | None:
        column = self._columns.get(symbol)
        return None if column is None or not column.size else column.dates[column.size - 1].astype(date)
