"""Quality gates run before any signal: pure checks over stored series.

Gates (each gives one result per symbol, all recorded in a ``quality.checked`` event):

- ``missing``: no bar at all in the window for a configured symbol;
- ``stale``: the last bar is older than the expected session (the previous session);
- ``bad_price``: a NaN, infinite, zero or negative price;
- ``daily_move``: a one-day move beyond ``max_daily_move`` (25% by default: the signature
  of a pence/pound mix-up, a x100 jump) on the adjusted or the raw close;
- ``gap``: more than ``max_gap_sessions`` sessions in a row without a bar.

A failed gate blocks the signal: the caller raises with :meth:`QualityReport.message`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from typing import Any, Mapping

import numpy as np

from trackrecord.market.base import PriceSeries

GATES = ("missing", "stale", "bad_price", "daily_move", "gap")


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: str
    symbol: str
    passed: bool
    detail: str
    session_date: date | None = None

    def document(self) -> dict[str, Any]:
        return {"gate": self.gate, "symbol": self.symbol, "passed": self.passed, "detail": self.detail,
                "session_date": self.session_date}


@dataclass(frozen=True, slots=True)
class QualityReport:
    window_start: date
    expected_last_session: date
    max_daily_move: float
    max_gap_sessions: int
    results: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def message(self, limit: int = 3) -> str:
        """The first failures (gate, symbol, date, what was found) and how many more."""
        failures = self.failures
        text = "; ".join(
            f"gate {r.gate} failed for {r.symbol}" + (f" on {r.session_date}" if r.session_date else "") + f": {r.detail}"
            for r in failures[:limit]
        )
        return text + (f" (and {len(failures) - limit} more)" if len(failures) > limit else "")

    def document(self) -> dict[str, Any]:
        """The ``quality.checked`` payload (floats as repr strings)."""
        return {
            "window_start": self.window_start, "expected_last_session": self.expected_last_session,
            "max_daily_move": repr(float(self.max_daily_move)), "max_gap_sessions": self.max_gap_sessions,
            "passed": self.passed, "results": [r.document() for r in self.results],
        }


def check_quality(
    series: Mapping[str, PriceSeries],
    sessions: np.ndarray,
    window_start: date,
    expected_last_session: date,
    max_daily_move: float = 0.25,
    max_gap_sessions: int = 3,
) -> QualityReport:
    """Run every gate for every symbol of ``series`` over ``window_start .. expected_last_session``.

    ``sessions`` are the exchange's sessions in that window (datetime64[D], ascending); bars
    after ``expected_last_session`` are not looked at. The one-day moves start from the last
    bar before the window when ``series`` has it.

    All symbols are gated at once (:class:`_Window`, a few numpy calls whatever their
    number): a replay gates the signal every month.
    """
    start, end = np.datetime64(window_start, "D"), np.datetime64(expected_last_session, "D")
    sessions = np.asarray(sessions, dtype="datetime64[D]")
    sessions = sessions[sessions.searchsorted(start, "left"):sessions.searchsorted(end, "right")]
    symbols = sorted(series)
    results: list[GateResult] = []
    if symbols:
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero or NaN price is the bad_price gate's
            results = _Window.of([series[s] for s in symbols], start, end).gates(sessions, max_daily_move,
                                                                                 max_gap_sessions)
    return QualityReport(window_start, expected_last_session, max_daily_move, max_gap_sessions, tuple(results))


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ROW = 1 << 40  # a symbol's stretch of the flat key space (row × _ROW + day number): days never cross it


def _day(number: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + number)


@lru_cache(maxsize=4096)
def _passed(gate: str, symbol: str, detail: str) -> GateResult:
    """A passing result whose detail names no date: the same (frozen) value month after month."""
    return GateResult(gate, symbol, True, detail)


@dataclass(frozen=True)
class _Window:
    """Every symbol's bars in flat arrays (``keys``: row × ``_ROW`` + day number, so one
    binary search serves all rows; ``prices``: every adjusted close, then every raw one),
    row ``k``'s bars ``lo[k] .. upto[k]``: the bar before the window when there is one (the
    first one-day move starts there), then the window's from ``first[k]``."""

    symbols: tuple[str, ...]
    start: np.datetime64
    end: np.datetime64
    days: np.ndarray
    prices: np.ndarray
    first: np.ndarray
    upto: np.ndarray
    lo: np.ndarray

    @classmethod
    def of(cls, items: list[PriceSeries], start: np.datetime64, end: np.datetime64) -> "_Window":
        sizes = np.array([item.dates.size for item in items], dtype=np.int64)
        days = np.concatenate([item.dates for item in items]).astype("datetime64[D]", copy=False).view(np.int64)
        prices = np.concatenate([*(item.adj_close for item in items), *(item.close for item in items)])
        rows = np.arange(sizes.size, dtype=np.int64) * _ROW
        keys = days + np.repeat(rows, sizes)
        first = keys.searchsorted(rows + start.astype(np.int64), "left")
        upto = keys.searchsorted(rows + end.astype(np.int64), "right")
        return cls(tuple(item.symbol for item in items), start, end, days, prices.astype(np.float64, copy=False),
                   first, upto, np.maximum(first - 1, np.cumsum(sizes) - sizes))

    def gates(self, sessions: np.ndarray, max_move: float, max_gap: int) -> list[GateResult]:
        first, upto, lo, total = self.first, self.upto, self.lo, self.days.size
        present = upto > first
        if not present.any():
            return [self._missing(symbol) for symbol in self.symbols]
        columns = np.arange(int((upto - lo)[present].max()))
        valid = columns < np.where(present, upto - lo, 0)[:, None]
        in_window = valid & (columns >= (first - lo)[:, None])
        cells = np.minimum(lo[:, None] + columns, total - 1)
        grid = self.prices[cells + np.array([0, total])[:, None, None]]  # [adjusted, raw] × row × column
        bad_any, bad_at = self._bad_prices(grid, in_window)
        worst, worst_at = self._worst_moves(grid, valid)
        last_days = self.days[np.maximum(upto - 1, 0)]
        numbers = sessions.view(np.int64)
        expected_from = numbers.searchsorted(self.days[np.minimum(first, total - 1)], "left")
        expected_to = numbers.searchsorted(last_days, "right")
        no_gap = self._on_every_session(numbers, self.days[cells], in_window, columns - (first - lo)[:, None],
                                        expected_from, expected_to - expected_from == upto - first)
        rows = zip(self.symbols, first.tolist(), upto.tolist(), lo.tolist(), last_days.tolist(), bad_any, bad_at,
                   *worst, *worst_at, no_gap.tolist(), expected_from.tolist(), expected_to.tolist())
        end = int(self.end.astype(np.int64))
        results: list[GateResult] = []
        for symbol, a, b, low, last, any_bad, bad, by_adj, by_raw, adj_at, raw_at, on_every, frm, to in rows:
            if a >= b:
                results.append(self._missing(symbol))
                continue
            move, move_at = (by_raw, raw_at) if by_raw > by_adj else (by_adj, adj_at)
            results += [
                _passed("missing", symbol, f"{b - a} bars in the window"),
                self._stale(symbol, last, end),
                self._bad_price(symbol, low + bad) if any_bad else
                _passed("bad_price", symbol, "all prices positive and finite"),
                self._daily_move(symbol, move, low + move_at + 1, max_move),
                _passed("gap", symbol, "no missing session") if on_every else
                _gap(symbol, self.days[a:b], numbers[frm:to], sessions[frm:to], max_gap),
            ]
        return results

    @staticmethod
    def _bad_prices(grid: np.ndarray, in_window: np.ndarray) -> tuple[list[bool], list[int]]:
        """Per row: a NaN, infinite, zero or negative price in the window (a raw close may be
        NaN: the source had none), and the column of the first."""
        adj, raw = grid
        bad = (~(adj > 0) | (adj == np.inf) | (raw <= 0) | (raw == np.inf)) & in_window
        return bad.any(axis=1).tolist(), bad.argmax(axis=1).tolist()

    @staticmethod
    def _worst_moves(grid: np.ndarray, valid: np.ndarray) -> tuple[list[list[float]], list[list[int]]]:
        """[adjusted, raw] × row: the largest one-day move (0.0 when none is finite) and the
        column of the bar it starts from."""
        if grid.shape[-1] < 2:
            return [[0.0] * valid.shape[0]] * 2, [[0] * valid.shape[0]] * 2
        moves = grid[..., 1:] / grid[..., :-1]
        moves -= 1.0
        np.abs(moves, out=moves)
        np.copyto(moves, 0.0, where=~((moves < np.inf) & valid[:, 1:]))  # NaN and inf fail ``< inf``
        at = moves.argmax(axis=-1)
        return np.take_along_axis(moves, at[..., None], -1)[..., 0].tolist(), at.tolist()

    @staticmethod
    def _on_every_session(numbers: np.ndarray, days: np.ndarray, in_window: np.ndarray, window_column: np.ndarray,
                          expected_from: np.ndarray, as_many: np.ndarray) -> np.ndarray:
        """Per row: its window's bars are exactly the sessions from its first bar to its last
        (no gap: the common case; any other row is searched session by session)."""
        if not numbers.size:
            return np.ones(expected_from.size, dtype=bool)
        session_cells = np.clip(expected_from[:, None] + window_column, 0, numbers.size - 1)
        return ((numbers[session_cells] == days) | ~in_window).all(axis=1) & as_many

    def _missing(self, symbol: str) -> GateResult:
        return GateResult("missing", symbol, False, f"no bar between {self.start} and {self.end}")

    def _stale(self, symbol: str, last_day: int, end: int) -> GateResult:
        last = _day(last_day)
        if last_day >= end:
            return GateResult("stale", symbol, True, f"last bar {last}")
        return GateResult("stale", symbol, False, f"last bar {last} is older than the expected session {self.end}",
                          last)

    def _bad_price(self, symbol: str, at: int) -> GateResult:
        adj = self.prices[at]
        value = adj if not np.isfinite(adj) or adj <= 0 else self.prices[self.days.size + at]
        return GateResult("bad_price", symbol, False, f"price {value!r} is not a positive number",
                          _day(int(self.days[at])))

    def _daily_move(self, symbol: str, worst: float, at: int, limit: float) -> GateResult:
        if worst <= limit:
            return GateResult("daily_move", symbol, True, f"largest one-day move {worst:.1%} within {limit:.0%}")
        return GateResult("daily_move", symbol, False,
                          f"one-day move of {worst:.1%} exceeds prices.max_daily_move {limit:.0%} "
                          f"(a pence/pound mix-up?)", _day(int(self.days[at])))


def sessions_without_bar(expected: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """``~np.isin(expected, dates)`` for ascending ``dates`` (a PriceSeries', or the gate's
    flat keys of every symbol), by binary search."""
    if not dates.size:
        return np.ones(expected.size, dtype=bool)
    found = np.minimum(np.searchsorted(dates, expected), dates.size - 1)
    return dates[found] != expected


def _gap(symbol: str, days: np.ndarray, expected_days: np.ndarray, expected: np.ndarray, max_gap: int) -> GateResult:
    """The gap gate of one symbol: ``days`` its bars in the window, ``expected`` (and their day
    numbers) the sessions from its first bar in the window to its last."""
    missing = sessions_without_bar(expected_days, days)
    if not missing.any():
        return GateResult("gap", symbol, True, "no missing session")
    runs = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(runs == 1), np.flatnonzero(runs == -1)
    lengths = stops - starts
    longest = int(np.argmax(lengths))
    if lengths[longest] <= max_gap:
        return GateResult("gap", symbol, True, f"{int(missing.sum())} missing sessions, at most {int(lengths.max())} in a row")
    day = expected[starts[longest]].item()
    return GateResult("gap", symbol, False, f"{int(lengths[longest])} sessions in a row without a bar from {day} "
                      f"(prices.max_gap_sessions {max_gap})", day)


SESSION_GATES = ("missing", "bad_price", "daily_move", "gap")


def check_session_bars(
    previous: Mapping[str, tuple[date, float] | None],
    bars: Mapping[str, tuple[float | None, float]],
    symbols: "tuple[str, ...] | list[str]",
    session: date,
    previous_session: date,
    max_daily_move: float = 0.25,
) -> QualityReport:
    """The daily gates over one session's new bars: each symbol has a bar for ``session``
    (missing), positive and finite (bad_price), within ``max_daily_move`` of the symbol's
    previous bar (daily_move), and that previous bar is the previous session's (gap).

    ``previous`` maps a symbol to its last (date, adjusted close) before ``session``;
    ``bars`` maps a symbol to the session's (raw close or None, adjusted close).
    """
    results: list[GateResult] = []
    inf = math.inf
    for symbol in symbols:
        bar = bars.get(symbol)
        if bar is None:
            results.append(GateResult("missing", symbol, False, f"no bar for {session}", session))
            continue
        raw, adj = bar
        # ``0 < x < inf``: finite and positive (NaN fails both), without two calls a bar
        if not 0 < adj < inf or (raw is not None and not 0 < raw < inf):
            results.append(GateResult("bad_price", symbol, False, f"price {adj!r} / {raw!r} is not a positive number",
                                      session))
            continue
        before = previous.get(symbol)
        if before is None:
            continue
        move = abs(adj / before[1] - 1.0)
        if move > max_daily_move:
            results.append(GateResult("daily_move", symbol, False,
                                      f"one-day move of {move:.1%} exceeds prices.max_daily_move {max_daily_move:.0%} "
                                      "(a pence/pound mix-up?)", session))
        if before[0] < previous_session:
            results.append(GateResult("gap", symbol, False, f"previous bar {before[0]}, expected {previous_session}",
                                      session))
    return QualityReport(session, session, max_daily_move, 0, tuple(results))


def session_gates_document(report: QualityReport, symbols: "tuple[str, ...] | list[str]") -> dict[str, Any]:
    """A compact ``quality.checked`` payload: every (symbol, gate) in ``symbols`` × the
    session gates passed unless it is listed in ``failures``."""
    return {"session": report.expected_last_session, "symbols": list(symbols), "gates": list(SESSION_GATES),
            "max_daily_move": repr(float(report.max_daily_move)), "passed": report.passed,
            "failures": [r.document() for r in report.failures]}
