"""Return-series metrics: risk, risk-adjusted return, drawdowns, calendar tables, rolling.

Inputs are TWR returns of one period each (fractions, float64: daily by default, or weekly
or monthly, see ``frequency.py``) and the TWR index including the base point (see
``returns.py``). ``periods_per_year`` is 252 for daily returns (the default), 52 weekly,
12 monthly; ``n`` counts returns; standard deviations use ddof = 1; the risk-free rate
comes in per period (use ``returns.daily_risk_free(rate, periods_per_year)``).
A figure that does not exist is an ``Undefined(reason)``, never NaN or inf.
Sources: Sharpe (1994); Sortino & Price (1994) with the target downside deviation
over all periods; skewness and kurtosis as pandas/QuantStats (bias-corrected G1, G2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trackrecord.analytics.returns import DAYS_PER_YEAR, PERIODS_PER_YEAR, DateArray, FloatArray

RECOVERY_TOLERANCE = 1e-12
SQRT_PERIODS = math.sqrt(PERIODS_PER_YEAR)


@dataclass(frozen=True, slots=True)
class Undefined:
    """A figure that does not exist for this input, and why (e.g. "no losing day")."""

    reason: str


Figure = float | Undefined

NEEDS_ONE = Undefined("needs at least 1 return")
NEEDS_TWO = Undefined("needs at least 2 returns")


def total_return(index: FloatArray) -> float:
    """Compounded return over the record: ``index[-1] - 1`` (fraction)."""
    return float(index[-1] - 1.0)


def cagr_periods(total: float, n_returns: int, periods_per_year: int = PERIODS_PER_YEAR) -> Figure:
    """Compound annual growth on trading periods: ``(1 + total)^(252 / n) - 1``."""
    if n_returns < 1:
        return NEEDS_ONE
    if total <= -1.0:
        return Undefined("total loss: no growth rate")
    return _growth(1.0 + total, periods_per_year / n_returns)


def cagr_calendar(total: float, calendar_days: float) -> Figure:
    """Compound annual growth on calendar time: ``(1 + total)^(365.25 / days) - 1``,
    ``days`` from the base date to the last date."""
    if calendar_days <= 0:
        return Undefined("needs a period of at least 1 calendar day")
    if total <= -1.0:
        return Undefined("total loss: no growth rate")
    return _growth(1.0 + total, DAYS_PER_YEAR / calendar_days)


def annualised_volatility(returns: FloatArray, periods_per_year: int = PERIODS_PER_YEAR) -> Figure:
    """``std(r, ddof=1) * sqrt(periods_per_year)`` (fraction per year)."""
    if returns.size < 2:
        return NEEDS_TWO
    return float(returns.std(ddof=1)) * math.sqrt(periods_per_year)


def sharpe_ratio(returns: FloatArray, rf_per_period: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR) -> Figure:
    """Annualised Sharpe: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``."""
    if returns.size < 2:
        return NEEDS_TWO
    excess = returns - rf_per_period
    sd = float(excess.std(ddof=1))
    if sd == 0.0:
        return Undefined("zero volatility")
    return float(excess.mean()) / sd * math.sqrt(periods_per_year)


def sortino_ratio(returns: FloatArray, rf_per_period: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR) -> Figure:
    """Annualised Sortino: ``mean(x) / sqrt(mean(min(x, 0)^2)) * sqrt(periods_per_year)``,
    ``x = r - rf``; the target downside deviation averages over all periods, not only the
    losing ones."""
    if returns.size < 1:
        return NEEDS_ONE
    excess = returns - rf_per_period
    downside = np.minimum(excess, 0.0)
    dd = math.sqrt(float(np.dot(downside, downside)) / excess.size)
    if dd == 0.0:
        return Undefined("no losing day" if periods_per_year == PERIODS_PER_YEAR else "no losing period")
    return float(excess.mean()) / dd * math.sqrt(periods_per_year)


def calmar_ratio(cagr: Figure, max_drawdown: float) -> Figure:
    """Calmar: 252-period CAGR / |max drawdown| over the whole record."""
    if isinstance(cagr, Undefined):
        return cagr
    if max_drawdown == 0.0:
        return Undefined("no drawdown")
    return cagr / abs(max_drawdown)


def skewness(returns: FloatArray) -> Figure:
    """Bias-corrected sample skewness (adjusted Fisher-Pearson G1, as pandas and
    QuantStats; scipy.stats.skew defaults to the biased g1)."""
    n = returns.size
    if n < 3:
        return Undefined("needs at least 3 returns")
    d = returns - returns.mean()
    m2 = float(np.dot(d, d)) / n
    scale = m2**1.5
    if scale == 0.0:  # also a variance so small (subnormal) that its power underflows
        return Undefined("zero variance")
    g1 = float(np.dot(d * d, d)) / n / scale
    return g1 * math.sqrt(n * (n - 1)) / (n - 2)


def excess_kurtosis(returns: FloatArray) -> Figure:
    """Bias-corrected sample excess kurtosis (G2, normal = 0; as pandas and QuantStats;
    scipy.stats.kurtosis defaults to the biased Fisher g2)."""
    n = returns.size
    if n < 4:
        return Undefined("needs at least 4 returns")
    d = returns - returns.mean()
    d2 = d * d
    m2 = float(d2.sum()) / n
    if m2 * m2 == 0.0:  # also a variance so small (subnormal) that its square underflows
        return Undefined("zero variance")
    g2 = float(np.dot(d2, d2)) / n / (m2 * m2) - 3.0
    return ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))


def win_rate_days(returns: FloatArray) -> Figure:
    """Share of positive days among non-flat days (days with r == 0 are ignored)."""
    wins = int(np.count_nonzero(returns > 0.0))
    moving = int(np.count_nonzero(returns))
    if moving == 0:
        return Undefined("no non-flat day")
    return wins / moving


def profit_factor_days(returns: FloatArray) -> Figure:
    """Sum of positive daily returns / |sum of negative daily returns|."""
    losses = -float(returns[returns < 0.0].sum())
    if losses == 0.0:
        return Undefined("no losing day")
    return float(returns[returns > 0.0].sum()) / losses


def drawdown_series(index: FloatArray) -> FloatArray:
    """Drawdown at each point of the TWR index: ``index / running_max - 1`` (<= 0)."""
    return index / np.maximum.accumulate(index) - 1.0


def underwater_runs(index: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Drawdown runs as arrays ``(peaks, ends, recovered)`` of index positions.

    A run starts at a peak and ends at the first point back at the peak (within
    ``RECOVERY_TOLERANCE`` relative), or at the last point when it never recovers
    (``recovered`` False). Duration in sessions = ``ends - peaks``.
    """
    peak_value = np.maximum.accumulate(index)
    under = index < peak_value * (1.0 - RECOVERY_TOLERANCE)
    edges = np.diff(under.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    recovered = stops < index.size
    return starts - 1, np.minimum(stops, index.size - 1), recovered


def calendar_days(dates: DateArray, first: int, last: int) -> int:
    """Calendar days between two positions of ``dates``."""
    return int((dates[last] - dates[first]).astype(np.int64))


def period_returns(dates: DateArray, index: FloatArray, unit: str) -> tuple[list[str], list[float]]:
    """Compounded returns per calendar month (``unit="M"``, labels ``YYYY-MM``) or year
    (``"Y"``, labels ``YYYY``) from the TWR index with its base point. The first period
    runs from the base; a period holding only the base point is omitted. Partial
    first and last periods are included as they are (not annualised)."""
    if index.size < 2:
        return [], []
    periods = dates.astype(f"datetime64[{unit}]")
    ends = np.flatnonzero(periods[1:] != periods[:-1])
    ends = np.append(ends, periods.size - 1)
    if ends[0] == 0:
        ends = ends[1:]
    opens = np.concatenate(([0], ends[:-1]))
    values = index[ends] / index[opens] - 1.0
    return np.datetime_as_string(periods[ends]).tolist(), values.tolist()


def rolling_volatility(returns: FloatArray, window: int) -> FloatArray:
    """Annualised volatility over each trailing ``window`` returns (ddof = 1); element ``k``
    ends at return ``window - 1 + k``. Empty when there are fewer returns than ``window``."""
    mean, var = _rolling_moments(returns, window)
    return np.sqrt(var) * SQRT_PERIODS


def rolling_sharpe(returns: FloatArray, window: int, rf_per_period: float = 0.0,
                   periods_per_year: int = PERIODS_PER_YEAR) -> FloatArray:
    """Annualised Sharpe over each trailing ``window`` returns, aligned as
    ``rolling_volatility``; NaN where the window has zero volatility (callers map NaN to None)."""
    mean, var = _rolling_moments(returns - rf_per_period, window)
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0.0, mean / sd * math.sqrt(periods_per_year), np.nan)


def _rolling_moments(x: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    if x.size < window:
        empty = np.empty(0, dtype=np.float64)
        return empty, empty
    centre = float(x.mean())
    d = x - centre
    s1 = np.concatenate(([0.0], np.cumsum(d)))
    s2 = np.concatenate(([0.0], np.cumsum(d * d)))
    w1 = s1[window:] - s1[:-window]
    w2 = s2[window:] - s2[:-window]
    var = (w2 - w1 * w1 / window) / (window - 1)
    noise = 1e-10 * float(np.dot(d, d)) / x.size  # cumulative-sum rounding: a flat window is 0
    var[var <= noise] = 0.0
    return w1 / window + centre, var


def _growth(wealth: float, exponent: float) -> Figure:
    try:
        return wealth**exponent - 1.0
    except OverflowError:
        return Undefined("annualised growth overflows (period too short)")
