"""Benchmark alignment, the default equal-weight benchmark, and benchmark-relative figures.

Benchmark-relative figures compare daily portfolio returns ``p`` with benchmark returns
``b`` on the same sessions; ``rf`` is the per-period risk-free rate:

* beta = cov(p - rf, b - rf) / var(b - rf)  (CAPM; ddof cancels)
* alpha = (mean(p - rf) - beta * mean(b - rf)) * 252  (arithmetic, annualised; empyrical
  compounds instead: ``(1 + mean)^252 - 1``)
* tracking_error = std(p - b, ddof=1) * sqrt(252)
* information_ratio = mean(p - b) / std(p - b, ddof=1) * sqrt(252)
* correlation = Pearson correlation of p and b
* up_capture = G(p | b > 0) / G(b | b > 0), ``G(x) = prod(1 + x)^(252 / len(x)) - 1``
  the annualised compounded return over the benchmark-up days; down_capture the same
  over benchmark-down days (b < 0). Same definition as empyrical's up/down_capture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.metrics import Figure, Undefined
from trackrecord.analytics.returns import PERIODS_PER_YEAR, DateArray, FloatArray, as_dates

BENCHMARK_KEYS = (
    "beta",
    "alpha",
    "tracking_error",
    "information_ratio",
    "correlation",
    "up_capture",
    "down_capture",
)


def align_closes(dates: DateArray, close_dates: DateArray, closes: FloatArray) -> FloatArray:
    """Benchmark close at each of ``dates``: the last close on or before that date.

    ``close_dates`` must be strictly increasing. Dates before the first close get NaN
    (there is no benchmark there yet).
    """
    close_dates = as_dates(close_dates)
    closes = np.asarray(closes, dtype=np.float64)
    if close_dates.shape != closes.shape:
        raise AnalyticsInputError(f"{closes.size} closes for {close_dates.size} close dates")
    pos = np.searchsorted(close_dates, dates, side="right") - 1
    out = closes[np.maximum(pos, 0)]
    return np.where(pos >= 0, out, np.nan)


def equal_weight_index(dates: DateArray, instruments: Mapping[str, tuple[DateArray, FloatArray]]) -> FloatArray:
    """Index (1 on ``dates[0]``) of an equal-weight portfolio of the instruments'
    adjusted closes, weights reset to 1/N at the close of each month's first session
    in ``dates`` (and on ``dates[0]``), drifting with prices in between.

    ``instruments``: symbol -> (close dates, adjusted closes). Every instrument must
    have a close on or before ``dates[0]``; closes are aligned with ``align_closes``.
    """
    dates = as_dates(dates)
    if not instruments:
        raise AnalyticsInputError("the equal-weight benchmark needs at least one instrument")
    prices = np.vstack([align_closes(dates, d, c) for d, c in instruments.values()])
    missing = np.isnan(prices[:, 0])
    if missing.any():
        names = [s for s, m in zip(instruments, missing) if m]
        raise AnalyticsInputError(f"no close on or before {dates[0]} for {', '.join(names)}")
    months = dates.astype("datetime64[M]")
    resets = np.concatenate(([0], np.flatnonzero(months[1:] != months[:-1]) + 1))
    is_reset = np.zeros(dates.size, dtype=bool)
    is_reset[resets] = True
    segment = np.cumsum(is_reset) - 1
    relative = prices / prices[:, resets[segment]]
    growth_in_segment = relative.mean(axis=0)
    growth_to_next_reset = (prices[:, resets[1:]] / prices[:, resets[:-1]]).mean(axis=0)
    value_at_reset = np.concatenate(([1.0], np.cumprod(growth_to_next_reset)))
    return value_at_reset[segment] * growth_in_segment


def simple_returns(index: FloatArray) -> FloatArray:
    """Period returns of a price or index series: ``x_t / x_{t-1} - 1`` (length n - 1)."""
    return index[1:] / index[:-1] - 1.0


def benchmark_relative(returns: FloatArray, bench: FloatArray, rf_per_period: float = 0.0,
                       periods_per_year: int = PERIODS_PER_YEAR) -> dict[str, Figure]:
    """Beta, alpha, tracking error, information ratio, correlation, up and down capture
    of ``returns`` against ``bench`` (same periods, fractions); see the module docstring."""
    root = math.sqrt(periods_per_year)
    if returns.shape != bench.shape:
        raise AnalyticsInputError(f"{returns.size} returns against {bench.size} benchmark returns")
    if returns.size < 2:
        return {key: Undefined("needs at least 2 returns") for key in BENCHMARK_KEYS}
    out: dict[str, Figure] = {}
    p = returns - returns.mean()
    b = bench - bench.mean()
    var_b = float(np.dot(b, b))
    var_p = float(np.dot(p, p))
    cov = float(np.dot(p, b))
    if var_b == 0.0:
        out["beta"] = out["alpha"] = Undefined("benchmark has zero volatility")
    else:
        beta = cov / var_b
        out["beta"] = beta
        alpha = (returns.mean() - rf_per_period) - beta * (bench.mean() - rf_per_period)
        out["alpha"] = float(alpha) * periods_per_year
    out["correlation"] = (
        cov / np.sqrt(var_b * var_p) if var_b > 0.0 and var_p > 0.0 else Undefined("zero volatility")
    )
    active = returns - bench
    sd = float(active.std(ddof=1))
    out["tracking_error"] = sd * root
    out["information_ratio"] = (
        float(active.mean()) / sd * root if sd > 0.0 else Undefined("zero tracking error")
    )
    out["up_capture"] = _capture(returns, bench, bench > 0.0, "no benchmark-up day", periods_per_year)
    out["down_capture"] = _capture(returns, bench, bench < 0.0, "no benchmark-down day", periods_per_year)
    return {key: _as_float(out[key]) for key in BENCHMARK_KEYS}


def _capture(returns: FloatArray, bench: FloatArray, days: FloatArray, reason: str, periods_per_year: int) -> Figure:
    if not days.any():
        return Undefined(reason)
    mine = _annualised(returns[days], periods_per_year)
    theirs = _annualised(bench[days], periods_per_year)
    if isinstance(mine, Undefined) or isinstance(theirs, Undefined):
        return Undefined("annualised return overflows")
    if theirs == 0.0:
        return Undefined("benchmark return on those days is 0")
    return mine / theirs


def _annualised(x: FloatArray, periods_per_year: int) -> Figure:
    with np.errstate(over="ignore"):
        value = float(np.prod(1.0 + x) ** (periods_per_year / x.size) - 1.0)
    return value if np.isfinite(value) else Undefined("overflow")


def _as_float(value: Figure) -> Figure:
    return value if isinstance(value, Undefined) else float(value)
