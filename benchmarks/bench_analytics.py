"""Time the full statistics set (with benchmark-relative figures) against QuantStats.

25 years of daily data: SPY as the portfolio and an equal-weight, monthly rebalanced
basket of the nine sector SPDRs as the benchmark, from ../shared/data/prices relative to
the repository root when present; otherwise seeded random series. Prints the median
time of many in-process runs of ``compute_stats(...).to_dict()``, the time of
``quantstats.reports.metrics(mode="full", display=False)`` on the same series, the
ratio, and a few figures side by side.

Run: .venv/bin/python benchmarks/bench_analytics.py
"""

from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from trackrecord.analytics.benchmark import equal_weight_index
from trackrecord.analytics.report import compute_stats

PRICES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "prices"
SECTORS = ("XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")
YEARS = 25
RUNS = 200


def load(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(PRICES / f"{symbol}.csv", usecols=["date", "adj_close"])
    return frame["date"].to_numpy(dtype="datetime64[D]"), frame["adj_close"].to_numpy(dtype=np.float64)


def series() -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    size = YEARS * 252 + 1
    if all((PRICES / f"{s}.csv").exists() for s in ("SPY", *SECTORS)):
        dates, spy = load("SPY")
        dates, spy = dates[-size:], spy[-size:]
        bench = equal_weight_index(dates, {s: load(s) for s in SECTORS})
        return dates, 100_000 * spy / spy[0], bench, "SPY vs equal-weight sector SPDRs (shared data)"
    rng = np.random.default_rng(20240101)
    dates = pd.bdate_range("2000-01-03", periods=size).to_numpy(dtype="datetime64[D]")
    b = rng.normal(0.0003, 0.011, size - 1)
    p = 0.9 * b + rng.normal(0.0001, 0.006, size - 1)
    grow = lambda r: np.concatenate(([1.0], np.cumprod(1 + r)))  # noqa: E731
    return dates, 100_000 * grow(p), grow(b), "seeded random series"


def median_ms(call, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    dates, navs, bench, source = series()
    run = lambda: compute_stats(dates, navs, benchmark_closes=(dates, bench)).to_dict()  # noqa: E731
    run()
    ours_ms = median_ms(run, RUNS)
    result = compute_stats(dates, navs, benchmark_closes=(dates, bench))

    import quantstats as qs

    index = pd.DatetimeIndex(dates)
    returns = pd.Series(navs[1:] / navs[:-1] - 1, index=index[1:], name="Strategy")
    bench_returns = pd.Series(bench[1:] / bench[:-1] - 1, index=index[1:], name="Benchmark")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qs_call = lambda: qs.reports.metrics(returns.copy(), benchmark=bench_returns.copy(), mode="full", display=False)  # noqa: E731
        table = qs_call()
        qs_ms = median_ms(qs_call, 5)
        precise = {
            "total_return": float(qs.stats.comp(returns)),
            "cagr": float(qs.stats.cagr(returns)),
            "sharpe": float(qs.stats.sharpe(returns)),
            "sortino": float(qs.stats.sortino(returns)),
            "max_drawdown": float(qs.stats.max_drawdown(returns)),
            "beta": float(qs.stats.greeks(returns, bench_returns)["beta"]),
        }

    m, b = result.metrics, result.benchmark or {}
    print(f"data: {source}; {m['n_returns']} daily returns, {result.period['base_date']} .. {result.period['end']}")
    print(f"trackrecord compute_stats (full set + benchmark, to_dict): median {ours_ms:.3f} ms over {RUNS} runs")
    print(f"quantstats {qs.__version__} reports.metrics(mode='full', display=False): median {qs_ms:.1f} ms over 5 runs")
    print(f"speed-up: {qs_ms / ours_ms:.0f}x")
    print()
    ours = {**m, "beta": b.get("beta")}
    rows = [("total_return", "Cumulative Return"), ("cagr", "CAGR﹪"), ("sharpe", "Sharpe"),
            ("sortino", "Sortino"), ("max_drawdown", "Max Drawdown"), ("beta", None)]  # fmt: skip
    print(f"{'figure':<14}{'trackrecord':>20}{'qs.stats':>20}{'qs report (rounded)':>22}")
    for key, label in rows:
        shown = table.loc[label, "Strategy"] if label in table.index else ""
        print(f"{key:<14}{ours[key]:>20.12f}{precise[key]:>20.12f}{shown!s:>22}")
    print(f"{'longest dd (calendar days)':<34}{m['longest_underwater_calendar_days']:>20}"
          f"{table.loc['Longest DD Days', 'Strategy']!s:>22}")  # fmt: skip


if __name__ == "__main__":
    main()
