"""The money-weighted return (XIRR) over 50 and 100 years: the solver's lower bracket
(rate -0.999999999, a discount factor of 1e9 a year) overflowed past ~34 years, printing
"overflow encountered in exp" and, when flows of both signs overflowed, ``inf - inf`` gave
no sign and the solver returned the false root -100 %. Below the overflow the figures are
those of the solver before the fix, kept here as the reference."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trackrecord.analytics.returns import DAYS_PER_YEAR, money_weighted_return


def _old_xirr(years: np.ndarray, cash: np.ndarray) -> float | None:
    def npv(rate: float) -> float:
        return float(np.sum(cash * np.exp(-years * math.log1p(rate))))

    lo, hi = -0.999999999, 1.0
    f_lo = npv(lo)
    while npv(hi) * f_lo > 0.0:
        hi *= 10.0
        if hi > 1e9:
            return None
    rate = 0.0 if lo < 0.0 < hi else (lo + hi) / 2.0
    for _ in range(200):
        f = npv(rate)
        if f == 0.0:
            return rate
        if f * f_lo > 0.0:
            lo, f_lo = rate, f
        else:
            hi = rate
        slope = float(np.sum(-years * cash * np.exp(-(years + 1.0) * math.log1p(rate))))
        step = rate - f / slope if slope != 0.0 else lo - 1.0
        new = step if lo < step < hi else (lo + hi) / 2.0
        if abs(new - rate) <= 1e-14 * max(1.0, abs(rate)):
            return new
        rate = new
    return rate


def _old_money_weighted(dates: np.ndarray, navs: np.ndarray, flows: np.ndarray) -> float | None:
    years = (dates - dates[0]).astype(np.float64) / DAYS_PER_YEAR
    cash = -flows.astype(np.float64, copy=True)
    cash[0] = -navs[0]
    cash[-1] += navs[-1]
    keep = cash != 0.0
    years, cash = years[keep], cash[keep]
    if years.size < 2 or years[-1] <= 0.0 or not (cash.max() > 0.0 > cash.min()):
        return None
    with np.errstate(all="ignore"):
        return _old_xirr(years, cash)


def _record(span_years: float, step_days: int, drift: float, flows_at: list[tuple[float, float]]):  # type: ignore[no-untyped-def]
    dates = np.arange(np.datetime64("1926-01-04"), np.datetime64("1926-01-04") + int(span_years * 365.25), step_days)
    navs = 1e5 * np.exp(drift * np.arange(dates.size) / dates.size * span_years)
    flows = np.zeros(dates.size)
    for where, amount in flows_at:
        i = min(max(int(where * (dates.size - 1)), 1), dates.size - 1)
        flows[i] += amount
        navs[i:] += amount
    return dates, np.maximum(navs, 1.0), flows


def _relative_npv(dates: np.ndarray, navs: np.ndarray, flows: np.ndarray, rate: float) -> float:
    years = (dates - dates[0]).astype(np.float64) / DAYS_PER_YEAR
    cash = -flows.copy()
    cash[0] = -navs[0]
    cash[-1] += navs[-1]
    keep = cash != 0.0
    # each term over the largest: near -100 % a year over 60 years a term reaches 1e310 and overflows
    logs = np.log(np.abs(cash[keep])) - years[keep] * math.log1p(rate)
    terms = np.sign(cash[keep]) * np.exp(logs - logs.max())
    return float(terms.sum() / np.abs(terms).sum())


def _is_root(dates: np.ndarray, navs: np.ndarray, flows: np.ndarray, rate: float) -> bool:
    """The net present value is nil at ``rate`` to 1e-9 of its terms, or changes sign within the
    solver's stopping step of it (1e-14 of the rate): near -100 % a year over decades one float
    step of the rate moves the NPV by ~6e-11 of its terms, so 1e-9 asks more than the rate holds."""
    if abs(_relative_npv(dates, navs, flows, rate)) < 1e-9:
        return True
    step = 2e-14 * max(1.0, abs(rate))
    return _relative_npv(dates, navs, flows, rate - step) * _relative_npv(dates, navs, flows, rate + step) <= 0.0


@pytest.mark.parametrize("span", [50, 100])
def test_a_century_of_record_gives_its_growth_rate_without_an_overflow_warning(span: int) -> None:
    dates, navs, flows = _record(span, 1, 0.05, [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mwr = money_weighted_return(dates, navs, flows)
    years = float((dates[-1] - dates[0]).astype(np.float64)) / DAYS_PER_YEAR
    assert mwr == pytest.approx((navs[-1] / navs[0]) ** (1 / years) - 1, rel=1e-12)
    assert mwr == _old_money_weighted(dates, navs, flows)


def test_deposits_and_withdrawals_over_a_century_give_the_root_not_minus_100_percent() -> None:
    dates, navs, flows = _record(100, 7, 0.04, [(0.5, 5e4), (0.8, -3e4)])
    assert _old_money_weighted(dates, navs, flows) == pytest.approx(-1.0)  # the false root of inf - inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mwr = money_weighted_return(dates, navs, flows)
    assert mwr is not None and -0.5 < mwr < 0.5
    assert abs(_relative_npv(dates, navs, flows, mwr)) < 1e-9


FLOWS = st.lists(st.tuples(st.floats(0.01, 0.99), st.floats(-5e4, 5e4)), max_size=4)


@settings(max_examples=150, deadline=None)
@given(span=st.sampled_from([1, 5, 25, 33, 40, 60, 100]), step=st.integers(1, 30), drift=st.floats(-0.5, 1.5),
       flows_at=FLOWS)
@example(span=40, step=1, drift=-0.5, flows_at=[(0.5, -378.0), (0.99, 379.0)])  # -99.99996 % a year for 40 years
@example(span=60, step=1, drift=-0.5, flows_at=[(0.5, -1243.0), (0.99, 1244.0)])  # the oracle's own overflow
@example(span=100, step=1, drift=-0.5, flows_at=[(0.25, 1336.0)])  # the old figure -98.6 %: its NPV is not nil
@example(span=40, step=1, drift=-0.5, flows_at=[(0.5, -4190.0), (0.99, 4190.0)])  # the only root at the bracket's end
@example(span=25, step=29, drift=-2.220446049250313e-16,  # +337.7 % a year: the two solvers one float step apart
         flows_at=[(0.3975547028039109, 10.0), (0.06360763368234183, -45981.85809311348),
                   (0.1978376007913915, 46951.80378500145)])
def test_the_figure_is_the_old_one_unless_the_old_one_was_the_false_root(span: int, step: int, drift: float,
                                                                        flows_at: list[tuple[float, float]]) -> None:
    dates, navs, flows = _record(span, step, drift, flows_at)
    if dates.size < 3:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = money_weighted_return(dates, navs, flows)
    old = _old_money_weighted(dates, navs, flows)
    if old is None:
        assert new is None
    elif _is_root(dates, navs, flows, old):  # the same figure, to the solvers' stopping step (1e-14 of the rate)
        assert new == pytest.approx(old, rel=2e-14, abs=1e-15)
    elif new is None:  # no root inside the bracket: the old figure is its lower end (-1 + 1e-9), not a rate
        assert old < -0.99999999, old
    else:  # the old solver stopped where the NPV is not nil (inf - inf near -100 %, or a bracket it lost)
        assert _is_root(dates, navs, flows, new)
