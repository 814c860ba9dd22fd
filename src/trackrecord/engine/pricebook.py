"""Prices the engine knows during a run, in memory: loaded once from the store, extended
as bars arrive, sliced by date so no decision can see a later price.

A replay extends the book one session at a time and plans once a month, so both are cheap:
an append writes three array cells (the dates are kept as day numbers and compared as
Python ints), a view is a slice (no copy), and each symbol's month ends are indexed as its
bars arrive (:meth:`PriceBook.month_ends`), never recomputed from the whole history."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date
from typing import Iterable, Mapping, Sequence

import numpy as np

from trackrecord.market.base import PriceRow, PriceSeries
from trackrecord.strategy.momentum import MonthEndTable

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the numpy datetime64[D] epoch)."""
    return day.toordinal() - EPOCH_ORDINAL


class _Column:
    """A growable (dates, adjusted, raw) history of one symbol, with the index of the last
    bar of every month that has one (``months[k]`` ends at bar ``ends[k]``)."""

    def __init__(self, series: PriceSeries | None) -> None:
        size = 0 if series is None else series.dates.size
        self._allocate(max(64, size * 2))
        self.size = size
        self.months: list[int] = []
        self.ends: list[int] = []
        self.last_day = 0
        if series is not None and size:
            self.days[:size] = series.dates.astype("datetime64[D]").astype(np.int64)
            self.adj[:size], self.raw[:size] = series.adj_close, series.close
            months = series.dates.astype("datetime64[M]").astype(np.int64)
            ends = np.flatnonzero(np.diff(months, append=np.iinfo(np.int64).max))
            self.months, self.ends = months[ends].tolist(), ends.tolist()
            self.last_day = int(self.days[size - 1])

    def _allocate(self, capacity: int) -> None:
        self.days = np.empty(capacity, dtype=np.int64)
        self.dates = self.days.view("datetime64[D]")
        self.adj = np.empty(capacity, dtype=np.float64)
        self.raw = np.empty(capacity, dtype=np.float64)

    def append(self, day: date, adj: float, raw: float) -> None:
        number = day.toordinal() - EPOCH_ORDINAL
        size = self.size
        if size and number <= self.last_day:
            if number == self.last_day:  # a re-fetched bar replaces the last one
                self.adj[size - 1], self.raw[size - 1] = adj, raw
            return
        if size == self.days.size:
            days, adjs, raws = self.days, self.adj, self.raw
            self._allocate(size * 2)
            self.days[:size], self.adj[:size], self.raw[:size] = days[:size], adjs[:size], raws[:size]
        self.days[size], self.adj[size], self.raw[size] = number, adj, raw
        month = (day.year - 1970) * 12 + day.month - 1
        if self.months and self.months[-1] == month:
            self.ends[-1] = size
        else:
            self.months.append(month)
            self.ends.append(size)
        self.size, self.last_day = size + 1, number

    def end_of(self, day: date | None) -> int:
        """How many bars are dated on or before ``day`` (all when None)."""
        if day is None:
            return self.size
        number = day_number(day)
        if not self.size or number >= self.last_day:
            return self.size
        return int(np.searchsorted(self.days[:self.size], number, "right"))

    def upto(self, symbol: str, day: date | None, start: date | None = None) -> PriceSeries:
        end = self.end_of(day)
        begin = 0 if start is None else int(np.searchsorted(self.days[:end], day_number(start), "left"))
        return PriceSeries(symbol, self.dates[begin:end], self.adj[begin:end], self.raw[begin:end])


class PriceBook:
    def __init__(self, series: Mapping[str, PriceSeries], symbols: Sequence[str]) -> None:
        self.symbols = tuple(symbols)
        self._columns = {s: _Column(series.get(s)) for s in self.symbols}
        self._latest: dict[str, tuple[date, float] | None] = {
            s: self.last_bar(s, before=date.max) for s in self.symbols}

    def extend(self, rows: Iterable[PriceRow]) -> None:
        columns, latest = self._columns, self._latest
        for row in rows:
            column = columns.get(row.symbol)
            if column is not None:
                adj = float(row.adj_close)
                column.append(row.session_date, adj, np.nan if row.close is None else float(row.close))
                last = latest[row.symbol]
                if last is None or row.session_date >= last[0]:
                    latest[row.symbol] = (row.session_date, adj)

    def latest(self) -> dict[str, tuple[date, float] | None]:
        """Each symbol's last (date, adjusted close), kept as bars arrive."""
        return dict(self._latest)

    def series(self, until: date | None = None, start: date | None = None) -> dict[str, PriceSeries]:
        """Each symbol's bars ``start <= d <= until`` (views: do not mutate)."""
        return {symbol: column.upto(symbol, until, start) for symbol, column in self._columns.items()}

    def last_close(self, symbol: str, on_or_before: date) -> tuple[date, float] | None:
        """The raw close (else the adjusted one) of the last bar on or before the date."""
        column = self._columns.get(symbol)
        if column is None:
            return None
        end = column.end_of(on_or_before)
        if end == 0:
            return None
        raw = float(column.raw[end - 1])
        return column.dates[end - 1].item(), raw if np.isfinite(raw) else float(column.adj[end - 1])

    def last_bar(self, symbol: str, before: date) -> tuple[date, float] | None:
        """(date, adjusted close) of the symbol's last bar strictly before ``before``."""
        column = self._columns[symbol]
        point = day_number(before)
        if column.size and column.last_day < point:  # the common case: bars arrive in order
            return column.dates[column.size - 1].item(), float(column.adj[column.size - 1])
        index = int(np.searchsorted(column.days[:column.size], point, "left")) - 1
        return None if index < 0 else (column.dates[index].item(), float(column.adj[index]))

    def bars_on(self, day: date) -> dict[str, tuple[float | None, float]]:
        """symbol -> (raw close or None, adjusted close) of the bar dated ``day``."""
        point = day_number(day)
        out: dict[str, tuple[float | None, float]] = {}
        for symbol, column in self._columns.items():
            if not column.size:
                continue
            index = column.size - 1 if column.last_day == point else int(
                np.searchsorted(column.days[:column.size], point, "left"))
            if index < column.size and column.days[index] == point:
                raw = float(column.raw[index])
                out[symbol] = (raw if np.isfinite(raw) else None, float(column.adj[index]))
        return out

    def last_date(self, symbol: str) -> date | None:
        column = self._columns.get(symbol)
        return None if column is None or not column.size else column.dates[column.size - 1].item()

    def month_ends(self, first_month: int, last_month: int, until: date) -> MonthEndTable:
        """The month-end table of months ``first_month .. last_month`` (numbers as
        :func:`trackrecord.strategy.momentum.month_number`) over the bars dated on or before
        ``until``: the same cells as ``prepare_month_ends`` of those bars, read from the
        index kept as bars arrived. A month is complete for a symbol when it has a bar
        dated on or before ``until`` in a later month."""
        symbols = tuple(sorted(self._columns))
        count = max(last_month - first_month + 1, 0)
        nat = np.iinfo(np.int64).min
        closes = [[np.nan] * len(symbols) for _ in range(count)]
        days = [[nat] * len(symbols) for _ in range(count)]
        complete = [[False] * len(symbols) for _ in range(count)]
        for column_index, symbol in enumerate(symbols):
            column = self._columns[symbol]
            end = column.end_of(until)
            if not end:
                continue
            months, ends = column.months, column.ends
            last_month_seen = months[bisect_left(ends, end - 1)]  # the month of the last bar on or before until
            adj, day_numbers = column.adj, column.days
            for k in range(bisect_left(months, first_month), len(months)):
                month = months[k]
                if month > last_month or month > last_month_seen:
                    break
                index = ends[k] if month < last_month_seen else end - 1
                row = month - first_month
                closes[row][column_index] = float(adj[index])
                days[row][column_index] = int(day_numbers[index])
                complete[row][column_index] = month < last_month_seen
        shape = (count, len(symbols))
        return MonthEndTable(symbols, first_month, np.array(closes, dtype=np.float64).reshape(shape),
                             np.array(days, dtype=np.int64).reshape(shape).view("datetime64[D]"),
                             np.array(complete, dtype=bool).reshape(shape))
