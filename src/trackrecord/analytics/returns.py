"""Time-weighted and money-weighted returns from NAV snapshots and external flows.

Conventions (DESIGN.md, "Performance conventions"):

* ``r_t = (NAV_t - NAV_{t-1} - F_t) / (NAV_{t-1} + w * F_t)``, ``F_t`` the external flow
  booked on session ``t`` (deposit > 0, withdrawal < 0), ``w`` the flow weight
  (``start`` = 1, the default: the flow is available for that day's trading;
  ``mid`` = 0.5; ``end`` = 0). This is the daily Modified Dietz return, chain-linked.
* The first snapshot is the base: it has no return, and a flow booked on that day is
  part of the opening value.
* The TWR index starts at 1 on the base date.

All amounts are in the account's base currency; returns are fractions (0.01 = 1 %).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal, Union

import numpy as np
from numpy.typing import NDArray

from trackrecord.analytics.errors import AnalyticsInputError

FloatArray = NDArray[np.float64]
DateArray = NDArray[np.datetime64]
DateLike = Union[date, np.datetime64, str]
FlowWeight = Literal["start", "mid", "end"]

PERIODS_PER_YEAR = 252
DAYS_PER_YEAR = 365.25
FLOW_WEIGHTS: dict[str, float] = {"start": 1.0, "mid": 0.5, "end": 0.0}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def as_dates(dates: Sequence[DateLike] | DateArray) -> DateArray:
    """Return ``dates`` as a ``datetime64[D]`` array (a no-op for one already; a list of
    ``date`` objects is converted through ordinals, ~10x faster than numpy's parser).

    Raises ``AnalyticsInputError`` unless the dates are strictly increasing.
    """
    if isinstance(dates, (list, tuple)) and dates and isinstance(dates[0], date):
        ordinals = np.fromiter((d.toordinal() for d in dates), dtype=np.int64, count=len(dates))
        out = (ordinals - _EPOCH_ORDINAL).astype("datetime64[D]")
    else:
        out = np.asarray(dates, dtype="datetime64[D]")
    if out.ndim != 1:
        raise AnalyticsInputError(f"dates must be one-dimensional, got shape {out.shape}")
    if out.size > 1 and not bool(np.all(out[1:] > out[:-1])):
        bad = int(np.argmin(out[1:] > out[:-1])) + 1
        raise AnalyticsInputError(
            f"dates must be strictly increasing: {out[bad - 1]} is followed by {out[bad]}"
        )
    return out


def flow_weight_value(flow_weight: FlowWeight | float) -> float:
    """Map ``"start"``/``"mid"``/``"end"`` (or a number in [0, 1]) to ``w``."""
    if isinstance(flow_weight, str):
        if flow_weight not in FLOW_WEIGHTS:
            raise AnalyticsInputError(
                f"flow_weight {flow_weight!r} is not one of {sorted(FLOW_WEIGHTS)}"
            )
        return FLOW_WEIGHTS[flow_weight]
    w = float(flow_weight)
    if not 0.0 <= w <= 1.0:
        raise AnalyticsInputError(f"flow_weight {w} is outside [0, 1]")
    return w


def flows_on_dates(dates: DateArray, flows_by_date: Mapping[DateLike, float] | None) -> FloatArray:
    """Book each external flow on a snapshot date; returns an array aligned with ``dates``.

    A flow dated between two snapshots is booked on the next snapshot on or after its
    date (a Saturday deposit belongs to Monday's session). Flows dated after the last
    snapshot are outside the record and are dropped. A flow booked on (or before) the
    first date lands on the base and is part of the opening value, so it never enters a
    return. Several flows on one date add up.
    """
    out = np.zeros(dates.shape[0], dtype=np.float64)
    if not flows_by_date:
        return out
    when = np.asarray(list(flows_by_date.keys()), dtype="datetime64[D]")
    amounts = np.asarray([float(v) for v in flows_by_date.values()], dtype=np.float64)
    if not np.all(np.isfinite(amounts)):
        raise AnalyticsInputError("a cash flow amount is not a finite number")
    pos = np.searchsorted(dates, when, side="left")
    inside = pos < dates.shape[0]
    np.add.at(out, pos[inside], amounts[inside])
    return out


def twr_returns(navs: FloatArray, flows: FloatArray, flow_weight: FlowWeight | float = "start",
                dates: DateArray | None = None) -> FloatArray:
    """Daily time-weighted returns, one per snapshot after the base (length ``len(navs) - 1``).

    ``navs``: net liquidation value per snapshot (base currency). ``flows``: external
    flow booked on each snapshot's session (deposit > 0), aligned with ``navs``; the flow
    on the base snapshot is ignored. Formula: see the module docstring.

    A capital base ``NAV_{t-1} + w*F_t <= 0`` gives a return of 0 when the day's P&L
    ``NAV_t - NAV_{t-1} - F_t`` is 0 (an empty account), and raises
    ``AnalyticsInputError`` otherwise (a P&L on no capital has no rate of return), naming
    the snapshot by its date when ``dates`` (aligned with ``navs``) are given.
    """
    navs = np.asarray(navs, dtype=np.float64)
    flows = np.asarray(flows, dtype=np.float64)
    if navs.shape != flows.shape or navs.ndim != 1:
        raise AnalyticsInputError(f"navs {navs.shape} and flows {flows.shape} must be 1-D and aligned")
    if not np.all(np.isfinite(navs)):
        raise AnalyticsInputError("a NAV is not a finite number")
    w = flow_weight_value(flow_weight)
    pnl = navs[1:] - navs[:-1] - flows[1:]
    base = navs[:-1] + w * flows[1:]
    empty = base <= 0.0
    if empty.any():
        bad = empty & (pnl != 0.0)
        if bad.any():
            i = int(np.argmax(bad)) + 1
            day = None if dates is None else str(dates[i])
            where = f"the snapshot of {day}" if day else f"snapshot {i}"
            raise AnalyticsInputError(
                f"{where}: capital base {base[i - 1]:.2f} (previous "
                f"NAV + weighted flow) is not positive but the day's P&L is {pnl[i - 1]:.2f}; money came in or went "
                "out that is not recorded as a cash flow: record it (`trackrecord cashflow add --date "
                f"{day or 'YYYY-MM-DD'} --amount ...`), or check the NAV of that day"
            )
        return np.divide(pnl, base, out=np.zeros_like(pnl), where=~empty)
    return pnl / base


def twr_index(returns: FloatArray) -> FloatArray:
    """Chain-linked TWR index: 1 on the base date, then ``prod(1 + r)``; length ``n + 1``."""
    out = np.empty(returns.shape[0] + 1, dtype=np.float64)
    out[0] = 1.0
    np.cumprod(1.0 + returns, out=out[1:])
    return out


def daily_risk_free(annual_rate: float, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annual risk-free rate to a per-period rate, geometrically: ``(1 + rf)^(1/252) - 1``."""
    return (1.0 + float(annual_rate)) ** (1.0 / periods_per_year) - 1.0


def profit_and_loss(navs: FloatArray, flows: FloatArray) -> float:
    """P&L over the record = end NAV - start NAV - net flows after the base (base currency)."""
    return float(navs[-1] - navs[0] - flows[1:].sum())


def money_weighted_return(dates: DateArray, navs: FloatArray, flows: FloatArray) -> float | None:
    """Annualised money-weighted return (XIRR), or None when it does not exist.

    Investor cash flows: ``-NAV_0`` on the base date, ``-F_t`` on each later flow date
    (a deposit is money paid in), ``+NAV_T`` on the last date. Solves
    ``sum c_i (1 + r)^(-d_i / 365.25) = 0`` with ``d_i`` calendar days since the base
    (Excel's XIRR uses 365; we use 365.25 like the calendar CAGR). Returns None if
    there is no time span, no sign change in the flows, or no root in (-1, 1e9).
    """
    years = (dates - dates[0]).astype(np.float64) / DAYS_PER_YEAR
    cash = -flows.astype(np.float64, copy=True)
    cash[0] = -navs[0]
    cash[-1] += navs[-1]
    keep = cash != 0.0
    years, cash = years[keep], cash[keep]
    if years.size < 2 or years[-1] <= 0.0 or not (cash.max() > 0.0 > cash.min()):
        return None
    return _xirr(years, cash)


def _npv(rate: float, years: FloatArray, cash: FloatArray) -> float:
    return float(np.sum(cash * np.exp(-years * math.log1p(rate))))


def _npv_at_lower_end(rate: float, years: FloatArray, cash: FloatArray) -> float:
    """``_npv(rate)`` where only its sign is used and it may overflow: near rate = -1 a
    flow ``d`` years out is multiplied by ``(1 + rate)^-d``, 1e9 a year at the bracket's
    lower end, past the largest float (1.8e308) after about 34 years. Then the sign is
    taken from the terms scaled by the largest factor (``inf - inf`` had no sign at all)."""
    with np.errstate(over="ignore", invalid="ignore"):
        value = _npv(rate, years, cash)
    if math.isfinite(value):
        return value
    exponents = -years * math.log1p(rate)
    return float(np.sign(np.sum(cash * np.exp(exponents - exponents.max()))))


def _xirr(years: FloatArray, cash: FloatArray) -> float | None:
    lo, hi = -0.999999999, 1.0
    f_lo = _npv_at_lower_end(lo, years, cash)
    while _npv(hi, years, cash) * f_lo > 0.0:
        hi *= 10.0
        if hi > 1e9:
            return None
    rate = 0.0 if lo < 0.0 < hi else (lo + hi) / 2.0
    for _ in range(200):  # Newton inside the bracket, a bisection where its step leaves it
        with np.errstate(over="ignore", invalid="ignore"):
            f = _npv(rate, years, cash)
            slope = float(np.sum(-years * cash * np.exp(-(years + 1.0) * math.log1p(rate))))
        overflowed = not (math.isfinite(f) and math.isfinite(slope))
        if not math.isfinite(f):  # near -1 over decades: only its sign, and a bisection
            f = _npv_at_lower_end(rate, years, cash)
        if f == 0.0:
            return rate
        if f * f_lo > 0.0:
            lo, f_lo = rate, f
        else:
            hi = rate
        step = rate - f / slope if slope != 0.0 and not overflowed else lo - 1.0
        new = step if lo < step < hi else (lo + hi) / 2.0
        if abs(new - rate) <= 1e-14 * max(1.0, abs(rate)):
            return new
        rate = new
    # Newton from near -1 over a long record creeps (each step grows 1 + rate by about 1/years):
    # the bracket is still sound, so halve it to the root
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if hi - lo <= 1e-15 * max(1.0, abs(mid)):
            return mid
        f = _npv_at_lower_end(mid, years, cash)
        if f == 0.0:
            return mid
        if f * f_lo > 0.0:
            lo, f_lo = mid, f
        else:
            hi = mid
    return (lo + hi) / 2.0
