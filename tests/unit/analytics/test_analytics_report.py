"""compute_stats: periods chain-link, JSON is clean, real data."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.report import compute_stats
from trackrecord.analytics.trades import TradeFill

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
START = np.datetime64("2024-01-01")


def test_deposit_through_compute_stats() -> None:
    dates = np.array(["2024-03-04", "2024-03-05", "2024-03-06"], dtype="datetime64[D]")
    res = compute_stats(dates, [100_000, 202_000, 199_980], {date(2024, 3, 5): 100_000})
    assert res.metrics["total_return"] == pytest.approx(1.01 * 0.99 - 1)
    assert res.metrics["pnl"] == pytest.approx(-20.0)
    assert res.metrics["mwr"] is not None and res.metrics["mwr"] < 0


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.floats(-0.2, 0.2), st.floats(-0.3, 2.0), st.booleans()), min_size=2, max_size=40
    ),
    cut=st.integers(min_value=1, max_value=39),
)
def test_sub_periods_chain_link_to_the_whole(rows: list[tuple[float, float, bool]], cut: int) -> None:
    navs, flows = [1000.0], {}
    dates = [START + 3 * i for i in range(len(rows) + 1)]  # gaps, so FROM can fall between snapshots
    for i, (r, f, has_flow) in enumerate(rows, start=1):
        flow = f * navs[-1] if has_flow else 0.0
        navs.append(navs[-1] + flow + r * (navs[-1] + flow))
        if has_flow:
            flows[dates[i].item()] = flow
    cut = min(cut, len(rows) - 1)
    whole = compute_stats(np.array(dates), navs, flows)
    split_from = (dates[cut] + 1).item()  # the day after a snapshot: that snapshot is the next base
    first = compute_stats(np.array(dates), navs, flows, period_to=(dates[cut] + 1).item())
    second = compute_stats(np.array(dates), navs, flows, period_from=split_from)
    assert second.period["base_date"] == first.period["end"]
    assert first.metrics["n_returns"] + second.metrics["n_returns"] == whole.metrics["n_returns"]
    linked = (1 + first.metrics["total_return"]) * (1 + second.metrics["total_return"]) - 1
    assert linked == pytest.approx(whole.metrics["total_return"], rel=1e-9, abs=1e-12)
    assert first.metrics["pnl"] + second.metrics["pnl"] == pytest.approx(whole.metrics["pnl"], rel=1e-9, abs=1e-6)


def test_period_without_snapshots_is_refused() -> None:
    with pytest.raises(AnalyticsInputError, match="no snapshot"):
        compute_stats(np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"), [1, 2], period_from=date(2025, 1, 1))


def test_json_document_is_clean_and_benchmark_must_cover_the_base() -> None:
    dates = np.array(["2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
    fills = [
        TradeFill("A", "BUY", 1, 10.0, 0.0, datetime(2024, 1, 2, tzinfo=timezone.utc)),
        TradeFill("A", "SELL", 1, 11.0, 0.0, datetime(2024, 1, 3, tzinfo=timezone.utc)),
    ]
    res = compute_stats(dates, [100, 100, 100], benchmark_closes=(dates[1:], [5.0, 6.0]), fills=fills)
    doc = res.to_dict(include_series=True)
    json.dumps(doc, allow_nan=False)
    assert set(doc) == {"metrics", "benchmark", "trades", "period", "nonfinite", "monthly_returns", "yearly_returns", "series",
                         "frequency", "periods_per_year", "gaps"}
    assert doc["benchmark"] is None and "benchmark" in doc["nonfinite"]
    assert doc["trades"]["round_trips"] == 1 and doc["trades"]["profit_factor"] is None
    assert doc["nonfinite"]["trades.profit_factor"] == "no losing round trip"
    assert doc["metrics"]["sharpe"] is None and doc["nonfinite"]["sharpe"] == "zero volatility"
    assert doc["series"]["returns"][0] is None


def spy() -> tuple[np.ndarray, np.ndarray]:
    path = DATA / "prices" / "SPY.csv"
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing and CI=true: the shared data must be present in CI")
        pytest.skip(f"{path} not found (shared data not present)")
    raw = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    return raw["date"].astype("datetime64[D]"), raw["adj_close"].astype(np.float64)


def test_spy_buy_and_hold_matches_the_price_series() -> None:
    dates, closes = spy()
    res = compute_stats(dates, 10_000 * closes / closes[0], benchmark_closes=(dates, closes))
    m, b = res.metrics, res.benchmark
    assert m["total_return"] == pytest.approx(closes[-1] / closes[0] - 1, rel=1e-9)
    assert b is not None and b["beta"] == pytest.approx(1.0) and b["tracking_error"] == pytest.approx(0.0, abs=1e-12)
    assert m["max_drawdown"] == pytest.approx((closes / np.maximum.accumulate(closes) - 1).min(), rel=1e-9)
    assert -0.6 < m["max_drawdown"] < -0.5  # the 2007-2009 drawdown, adjusted closes
    assert m["max_drawdown_peak_date"].startswith("2007-10")
