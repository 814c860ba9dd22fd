"""Cross-checks against QuantStats 0.0.86 and empyrical-reloaded 0.7.1 where definitions
coincide (see docs/performance.md for where and why they differ)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from trackrecord.analytics.report import compute_stats
from trackrecord.analytics.returns import daily_risk_free

import empyrical as ep  # noqa: E402
import quantstats as qs  # noqa: E402

TOL = 1e-9


@pytest.fixture(scope="module", params=[1, 2, 3])
def case(request: pytest.FixtureRequest) -> dict:
    rng = np.random.default_rng(request.param)
    n = 750
    bench = rng.normal(0.0003, 0.011, n)
    mine = 0.8 * bench + rng.normal(0.0001, 0.007, n)
    dates = pd.bdate_range("2018-01-01", periods=n + 1)
    navs = 250_000 * np.concatenate(([1.0], np.cumprod(1 + mine)))
    closes = 300 * np.concatenate(([1.0], np.cumprod(1 + bench)))
    d = dates.values.astype("datetime64[D]")
    return {
        "r": mine,
        "b": bench,
        "s": pd.Series(mine, index=dates[1:]),
        "sb": pd.Series(bench, index=dates[1:]),
        "res": compute_stats(d, navs, benchmark_closes=(d, closes)),
        "res_rf": compute_stats(d, navs, benchmark_closes=(d, closes), risk_free=0.04),
    }


def close(ours: float, theirs: float) -> None:
    assert ours == pytest.approx(float(theirs), rel=TOL, abs=1e-12)


def test_matches_quantstats(case: dict) -> None:
    m, s = case["res"].metrics, case["s"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(m["total_return"], qs.stats.comp(s))
        close(m["sharpe"], qs.stats.sharpe(s))
        close(m["ann_volatility"], qs.stats.volatility(s))
        close(m["sortino"], qs.stats.sortino(s))
        close(m["max_drawdown"], qs.stats.max_drawdown(s))
        close(m["cagr"], qs.stats.cagr(s))  # 0.0.86: count / 252 years, not calendar
        close(m["calmar"], qs.stats.calmar(s))
        close(m["skew"], qs.stats.skew(s))
        close(m["kurtosis"], qs.stats.kurtosis(s))
        close(m["psr"], qs.stats.probabilistic_sharpe_ratio(s))
        close(m["win_rate_days"], qs.stats.win_rate(s))
        close(m["profit_factor_days"], qs.stats.profit_factor(s))
        close(m["best_day"], qs.stats.best(s))
        close(m["worst_day"], qs.stats.worst(s))


def test_matches_quantstats_with_an_annual_risk_free_rate(case: dict) -> None:
    m, s = case["res_rf"].metrics, case["s"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(m["sharpe"], qs.stats.sharpe(s, rf=0.04))
        close(m["sortino"], qs.stats.sortino(s, rf=0.04))


def test_matches_quantstats_greeks_and_information_ratio(case: dict) -> None:
    b = case["res"].benchmark
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        greeks = qs.stats.greeks(case["s"], case["sb"])
        close(b["beta"], greeks["beta"])
        close(b["alpha"], greeks["alpha"])  # both arithmetic: mean * 252
        # QuantStats' information ratio is not annualised.
        close(b["information_ratio"], qs.stats.information_ratio(case["s"], case["sb"]) * math.sqrt(252))


def test_matches_empyrical(case: dict) -> None:
    m, r = case["res"].metrics, case["r"]
    close(m["sharpe"], ep.sharpe_ratio(r))
    close(m["ann_volatility"], ep.annual_volatility(r))
    close(m["sortino"], ep.sortino_ratio(r))
    close(m["max_drawdown"], ep.max_drawdown(r))
    close(m["cagr"], ep.annual_return(r))
    close(m["calmar"], ep.calmar_ratio(r))


def test_matches_empyrical_with_a_per_period_risk_free_rate(case: dict) -> None:
    # empyrical takes the risk-free rate per period: pass it the daily rate we derive.
    m, r = case["res_rf"].metrics, case["r"]
    close(m["sharpe"], ep.sharpe_ratio(r, risk_free=daily_risk_free(0.04)))
    close(m["sortino"], ep.sortino_ratio(r, required_return=daily_risk_free(0.04)))


def test_matches_empyrical_benchmark_figures(case: dict) -> None:
    b, r, f = case["res_rf"].benchmark, case["r"], case["b"]
    rf = daily_risk_free(0.04)
    alpha, beta = ep.alpha_beta(r, f, risk_free=rf)
    close(b["beta"], beta)
    # empyrical compounds the daily alpha: (1 + mean)^252 - 1; we report mean * 252.
    close((1 + b["alpha"] / 252) ** 252 - 1, alpha)
    close(b["up_capture"], ep.up_capture(r, f))
    close(b["down_capture"], ep.down_capture(r, f))
    close(b["information_ratio"], ep.excess_sharpe(r, f) * math.sqrt(252))
    close(b["tracking_error"], np.std(r - f, ddof=1) * math.sqrt(252))
    close(b["correlation"], np.corrcoef(r, f)[0, 1])
