"""The signal's quality gates as they were computed symbol by symbol before the vectorised
:func:`trackrecord.market.quality.check_quality` (kept verbatim as the oracle of its property test)."""

from __future__ import annotations

from datetime import date
from typing import Mapping

import numpy as np

from trackrecord.market.base import PriceSeries
from trackrecord.market.quality import GateResult, QualityReport


def reference_check_quality(
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
