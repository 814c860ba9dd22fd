"""Metrics through compute_stats: drawdowns, undefined values, calendar tables, rolling."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trackrecord.analytics import metrics as mt
from trackrecord.analytics.report import compute_stats


def stats(dates: list[str], navs: list[float], **kwargs):  # type: ignore[no-untyped-def]
    return compute_stats(np.array(dates, dtype="datetime64[D]"), navs, **kwargs)


def test_drawdown_over_a_weekend_counts_sessions_and_calendar_days() -> None:
    # Thu 100, Fri 110 (peak), Mon 99 (-10 %), Tue 110 (back at the peak).
    res = stats(["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"], [100, 110, 99, 110])
    m = res.metrics
    assert m["max_drawdown"] == pytest.approx(99 / 110 - 1)
    assert m["max_drawdown_days"] == 2  # Fri -> Tue: two sessions
    assert m["max_drawdown_calendar_days"] == 4  # Fri -> Tue: four calendar days
    assert m["max_drawdown_peak_date"] == "2024-01-05"
    assert m["max_drawdown_trough_date"] == "2024-01-08"
    assert m["max_drawdown_recovery_date"] == "2024-01-09"  # exact recovery counts


def test_drawdown_that_never_recovers_runs_to_the_last_point() -> None:
    res = stats(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], [100, 120, 90, 100])
    m = res.metrics
    assert m["max_drawdown"] == pytest.approx(-0.25)  # 90 / 120 - 1
    assert (m["max_drawdown_days"], m["max_drawdown_calendar_days"]) == (2, 2)
    assert m["max_drawdown_recovery_date"] is None
    assert res.nonfinite["max_drawdown_recovery_date"] == "not recovered by the end"


def test_longest_under_water_is_not_the_deepest_drawdown() -> None:
    navs = [100, 99, 98, 99, 97, 101, 102, 80, 103]
    dates = [str(np.datetime64("2024-01-01") + i) for i in range(len(navs))]
    m = stats(dates, navs).metrics
    assert m["max_drawdown"] == pytest.approx(80 / 102 - 1)
    assert m["max_drawdown_days"] == 2  # 102 -> 80 -> 103
    assert m["longest_underwater_days"] == 5  # 100 ... 101
    assert m["longest_underwater_calendar_days"] == 5


def test_drawdown_starting_on_the_base_day_counts_the_base_as_peak() -> None:
    m = stats(["2024-01-01", "2024-01-02", "2024-01-03"], [100, 90, 95]).metrics
    assert m["max_drawdown"] == pytest.approx(-0.1)
    assert m["max_drawdown_peak_date"] == "2024-01-01"


def test_single_return() -> None:
    res = stats(["2024-01-01", "2024-01-02"], [100, 101])
    m = res.metrics
    assert m["n_returns"] == 1
    assert m["total_return"] == pytest.approx(0.01)
    assert m["cagr"] == pytest.approx(1.01**252 - 1)
    assert m["ann_volatility"] is None and m["sharpe"] is None
    assert res.nonfinite["ann_volatility"] == "needs at least 2 returns"
    assert res.nonfinite["sharpe"] == "needs at least 2 returns"
    assert m["best_day"] == m["worst_day"] == pytest.approx(0.01)
    assert m["best_day_date"] == "2024-01-02"


def test_no_losing_day() -> None:
    res = stats(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], [100, 101, 101, 103])
    m = res.metrics
    assert m["sortino"] is None and res.nonfinite["sortino"] == "no losing day"
    assert m["profit_factor_days"] is None and res.nonfinite["profit_factor_days"] == "no losing day"
    assert m["win_rate_days"] == 1.0  # the flat day is ignored
    assert m["max_drawdown"] == 0.0 and m["max_drawdown_days"] == 0
    assert m["calmar"] is None and res.nonfinite["calmar"] == "no drawdown"


def test_only_the_base_snapshot() -> None:
    res = stats(["2024-01-01"], [100])
    assert res.metrics["n_returns"] == 0 and res.metrics["total_return"] == 0.0
    assert res.nonfinite["cagr"] == "needs at least 1 return"
    assert res.period == {"base_date": "2024-01-01", "start": None, "end": "2024-01-01"}
    json.dumps(res.to_dict(include_series=True), allow_nan=False)


def test_risk_free_lowers_sharpe_and_downside_is_measured_against_it() -> None:
    rng = np.random.default_rng(3)
    r = rng.normal(0.0005, 0.01, 300)
    rf = (1.04) ** (1 / 252) - 1
    x = r - rf
    expected = x.mean() / math.sqrt(np.mean(np.minimum(x, 0.0) ** 2)) * math.sqrt(252)
    assert mt.sortino_ratio(r, rf) == pytest.approx(expected, rel=1e-12)
    assert mt.sharpe_ratio(r, rf) < mt.sharpe_ratio(r)


def test_calendar_tables_start_at_the_base() -> None:
    # Base on Jan 31 (its month holds only the base point: omitted), Feb +10 %, Mar -10 %.
    res = stats(["2023-01-31", "2023-02-15", "2023-02-28", "2023-03-31", "2024-01-02"], [100, 105, 110, 99, 99])
    assert [row["month"] for row in res.monthly_returns] == ["2023-02", "2023-03", "2024-01"]
    assert [row["return"] for row in res.monthly_returns] == pytest.approx([0.1, -0.1, 0.0])
    assert res.yearly_returns[0] == {"year": "2023", "return": pytest.approx(-0.01)}
    assert res.yearly_returns[1] == {"year": "2024", "return": pytest.approx(0.0)}


def test_tables_and_rolling_match_pandas() -> None:
    rng = np.random.default_rng(11)
    dates = pd.bdate_range("2019-12-31", periods=801)
    r = rng.normal(0.0003, 0.011, 800)
    navs = 1e6 * np.concatenate(([1.0], np.cumprod(1 + r)))
    res = compute_stats(dates.values.astype("datetime64[D]"), navs)
    s = pd.Series(r, index=dates[1:])
    monthly = s.groupby(s.index.to_period("M")).apply(lambda x: (1 + x).prod() - 1)
    assert [row["return"] for row in res.monthly_returns] == pytest.approx(monthly.tolist(), rel=1e-10)
    yearly = s.groupby(s.index.year).apply(lambda x: (1 + x).prod() - 1)
    assert [row["return"] for row in res.yearly_returns] == pytest.approx(yearly.tolist(), rel=1e-10)
    for window in (126, 252):
        vol = s.rolling(window).std() * math.sqrt(252)
        sharpe = s.rolling(window).mean() / s.rolling(window).std() * math.sqrt(252)
        ours_vol = res.series.rolling[f"volatility_{window}"][1:]
        ours_sharpe = res.series.rolling[f"sharpe_{window}"][1:]
        np.testing.assert_allclose(ours_vol, vol.to_numpy(), rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(ours_sharpe, sharpe.to_numpy(), rtol=1e-8, equal_nan=True)


def test_kurtosis_and_skew_are_the_bias_corrected_pandas_estimators() -> None:
    r = np.random.default_rng(5).standard_t(4, 500) * 0.01
    assert mt.skewness(r) == pytest.approx(pd.Series(r).skew(), rel=1e-10)
    assert mt.excess_kurtosis(r) == pytest.approx(pd.Series(r).kurt(), rel=1e-10)


def test_skew_and_kurtosis_of_a_subnormal_variance_are_undefined_not_a_division_by_zero() -> None:
    # a variance of ~1e-310 is not 0, but its power 1.5 (and its square) underflow to 0.0
    returns = np.array([0.0, 0.0, 3e-155, 0.0])
    assert isinstance(mt.skewness(returns), mt.Undefined)
    assert isinstance(mt.excess_kurtosis(returns), mt.Undefined)
