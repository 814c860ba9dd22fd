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

    ``sessions`` are the exchange's sessions in that window (datetime64[D]); bars after
    ``expected_last_session`` are not looked at.
    """
    start, end = np.datetime64(window_start, "D"), np.datetime64(expected_last_session, "D")
    sessions = np.asarray(sessions, dtype="datetime64[D]")
    sessions = sessions[(sessions >= start) & (sessions <= end)]
    results: list[GateResult] = []
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or NaN price is the bad_price gate's
        for symbol in sorted(series):
            results += _symbol_gates(series[symbol], sessions, start, end, max_daily_move, max_gap_sessions)
    return QualityReport(window_start, expected_last_session, max_daily_move, max_gap_sessions, tuple(results))


def _symbol_gates(item: PriceSeries, sessions: np.ndarray, start: np.datetime64, end: np.datetime64,
                  max_move: float, max_gap: int) -> list[GateResult]:
    symbol = item.symbol
    upto = int(np.searchsorted(item.dates, end, side="right"))
    first = int(np.searchsorted(item.dates, start, side="left"))
    if upto <= first:
        return [GateResult("missing", symbol, False, f"no bar between {start} and {end}")]
    dates, adj, close = item.dates[:upto], item.adj_close[:upto], item.close[:upto]
    last = dates[-1].astype(date)
    return [
        GateResult("missing", symbol, True, f"{upto - first} bars in the window"),
        GateResult("stale", symbol, True, f"last bar {last}") if dates[-1] >= end else
        GateResult("stale", symbol, False, f"last bar {last} is older than the expected session {end}", last),
        _bad_price(symbol, dates[first:], adj[first:], close[first:]),
        _daily_move(symbol, dates, adj, close, max(first - 1, 0), max_move),
        _gap(symbol, dates[first:], sessions, max_gap),
    ]


def _bad_price(symbol: str, dates: np.ndarray, adj: np.ndarray, close: np.ndarray) -> GateResult:
    bad = ~np.isfinite(adj) | (adj <= 0) | (np.isfinite(close) & (close <= 0)) | np.isinf(close)
    if not bad.any():
        return GateResult("bad_price", symbol, True, "all prices positive and finite")
    at = int(np.argmax(bad))
    value = adj[at] if not np.isfinite(adj[at]) or adj[at] <= 0 else close[at]
    return GateResult("bad_price", symbol, False, f"price {value!r} is not a positive number", dates[at].astype(date))


def _daily_move(symbol: str, dates: np.ndarray, adj: np.ndarray, close: np.ndarray, begin: int,
                limit: float) -> GateResult:
    worst_at, worst = -1, 0.0
    for values in (adj[begin:], close[begin:]):
        moves = np.abs(values[1:] / values[:-1] - 1.0)
        moves = np.where(np.isfinite(moves), moves, 0.0)
        if moves.size and moves.max() > worst:
            worst_at, worst = int(np.argmax(moves)) + 1 + begin, float(moves.max())
    if worst <= limit:
        return GateResult("daily_move", symbol, True, f"largest one-day move {worst:.1%} within {limit:.0%}")
    day = dates[worst_at].astype(date)
    return GateResult("daily_move", symbol, False,
                      f"one-day move of {worst:.1%} exceeds prices.max_daily_move {limit:.0%} "
                      f"(a pence/pound mix-up?)", day)


def sessions_without_bar(expected: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """``~np.isin(expected, dates)`` for ascending ``dates`` (a PriceSeries'), by binary
    search: the signal's gate asks it over the whole history every rebalance."""
    if not dates.size:
        return np.ones(expected.size, dtype=bool)
    found = np.minimum(np.searchsorted(dates, expected), dates.size - 1)
    return dates[found] != expected


def _gap(symbol: str, dates: np.ndarray, sessions: np.ndarray, max_gap: int) -> GateResult:
    expected = sessions[(sessions >= dates[0]) & (sessions <= dates[-1])]  # after the last bar: the stale gate
    missing = sessions_without_bar(expected, dates)
    if not missing.any():
        return GateResult("gap", symbol, True, "no missing session")
    runs = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(runs == 1), np.flatnonzero(runs == -1)
    lengths = stops - starts
    longest = int(np.argmax(lengths))
    if lengths[longest] <= max_gap:
        return GateResult("gap", symbol, True, f"{int(missing.sum())} missing sessions, at most {int(lengths.max())} in a row")
    day = expected[starts[longest]].astype(date)
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
    for symbol in symbols:
        bar = bars.get(symbol)
        if bar is None:
            results.append(GateResult("missing", symbol, False, f"no bar for {session}", session))
            continue
        raw, adj = bar
        if not (math.isfinite(adj) and adj > 0) or (raw is not None and not (math.isfinite(raw) and raw > 0)):
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
