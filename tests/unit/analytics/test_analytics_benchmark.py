"""Benchmark alignment, the equal-weight default benchmark, benchmark-relative figures."""

from __future__ import annotations

import numpy as np
import pytest

from trackrecord.analytics.benchmark import align_closes, benchmark_relative, equal_weight_index
from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.metrics import Undefined

D = np.datetime64


def test_align_takes_the_last_close_on_or_before_each_date() -> None:
    closes = align_closes(
        np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05"], dtype="datetime64[D]"),
        np.array(["2024-01-02", "2024-01-04"], dtype="datetime64[D]"),
        np.array([10.0, 12.0]),
    )
    assert np.isnan(closes[0])
    assert closes[1:].tolist() == [10.0, 10.0, 12.0]


def test_equal_weight_resets_on_each_months_first_session() -> None:
    dates = np.array(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"], dtype="datetime64[D]")
    a = (dates, np.array([100.0, 110.0, 110.0, 121.0]))
    b = (dates, np.array([100.0, 90.0, 90.0, 90.0]))
    index = equal_weight_index(dates, {"A": a, "B": b})
    # Jan 31: 0.5 * 1.1 + 0.5 * 0.9 = 1.0. Feb 1 (first session of Feb): still 1.0, weights
    # reset to 50/50. Feb 2: A +10 %, B flat -> 1.0 * (0.5 * 1.1 + 0.5 * 1.0) = 1.05
    # (buy and hold would give 0.5 * 1.21 + 0.5 * 0.9 = 1.055).
    assert index.tolist() == pytest.approx([1.0, 1.0, 1.0, 1.05], abs=1e-15)


def test_equal_weight_needs_every_instrument_at_the_start() -> None:
    dates = np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    late = (np.array(["2024-01-03"], dtype="datetime64[D]"), np.array([5.0]))
    with pytest.raises(AnalyticsInputError, match="LATE"):
        equal_weight_index(dates, {"EARLY": (dates, np.ones(2)), "LATE": late})


def test_twice_the_benchmark() -> None:
    b = np.array([0.01, -0.02, 0.015, 0.0, -0.005])
    rel = benchmark_relative(2 * b, b)
    assert rel["beta"] == pytest.approx(2.0)
    assert rel["alpha"] == pytest.approx(0.0, abs=1e-15)
    assert rel["correlation"] == pytest.approx(1.0)
    assert rel["tracking_error"] == pytest.approx(np.std(b, ddof=1) * np.sqrt(252))
    assert rel["information_ratio"] == pytest.approx(b.mean() / b.std(ddof=1) * np.sqrt(252))
    up = b > 0
    expected_up = ((np.prod(1 + 2 * b[up])) ** (252 / 2) - 1) / ((np.prod(1 + b[up])) ** (252 / 2) - 1)
    assert rel["up_capture"] == pytest.approx(expected_up)


def test_flat_benchmark_has_no_beta() -> None:
    rel = benchmark_relative(np.array([0.01, 0.02, -0.01]), np.zeros(3))
    assert isinstance(rel["beta"], Undefined) and rel["beta"].reason == "benchmark has zero volatility"
    assert isinstance(rel["up_capture"], Undefined)
