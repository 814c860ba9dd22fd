"""Time the 12-1 momentum signal for every month of 25 years of 9 instruments.

Prices: the nine US sector SPDRs from ../shared/data/prices (relative to the repository
root) when present, else the seeded synthetic market over 25 years of weekdays. The timed
work is what a backtest does: index the histories by month once (``prepare_month_ends``),
then compute the signal of every month of 25 years (300 rebalances), each one holding the previous month's selection
(hysteresis). Prints the median of several runs; the target is under 50 ms in total.

Run: .venv/bin/python benchmarks/bench_signal.py
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

import numpy as np

from trackrecord.strategy.momentum import SignalParams, month_number, prepare_month_ends, signal_for_month

PRICES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "prices"
SECTORS = ("XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")
YEARS = 25
RUNS = 30
TARGET_MS = 50.0


def histories() -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str]:
    if all((PRICES / f"{s}.csv").is_file() for s in SECTORS):
        out = {}
        for symbol in SECTORS:
            with open(PRICES / f"{symbol}.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
            out[symbol] = (np.array([r["date"] for r in rows], dtype="datetime64[D]"),
                           np.array([float(r["adj_close"]) for r in rows]))
        last = min(d[-1] for d, _ in out.values())
        first = (last.astype("datetime64[M]") - np.timedelta64(YEARS * 12 + 14, "M")).astype("datetime64[D]")
        return {s: (d[(d >= first) & (d <= last)], c[(d >= first) & (d <= last)]) for s, (d, c) in out.items()}, \
            f"real prices from {PRICES}"
    from trackrecord.market.synthetic import generate_synthetic_history

    days = np.arange(np.datetime64("2000-01-01"), np.datetime64("2026-03-01"))
    return generate_synthetic_history(SECTORS, days[np.is_busday(days)], seed=7), "SIMULATED synthetic prices"


def run_all(data: dict[str, tuple[np.ndarray, np.ndarray]], months: range, params: SignalParams) -> int:
    table = prepare_month_ends(data)
    held: tuple[str, ...] = ()
    for month in months:
        signal = signal_for_month(table, np.datetime64(month, "M"), params, held)
        held = tuple(signal.target_weights)
    return len(months)


def main() -> None:
    data, label = histories()
    params = SignalParams()
    last = min(month_number(d[-1]) for d, _ in data.values()) + 1
    first = last - YEARS * 12 + 1
    months = range(first, last + 1)
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run_all(data, months, params)
        timings.append(time.perf_counter() - start)
    total_ms = statistics.median(timings) * 1000
    bars = sum(d.size for d, _ in data.values())
    print(f"data: {label}; {len(data)} instruments, {bars} daily bars")
    print(f"signal for {len(months)} months ({np.datetime64(first, 'M')} .. {np.datetime64(last, 'M')}), "
          f"median of {RUNS} runs: {total_ms:.1f} ms total, {total_ms * 1000 / len(months):.0f} us per month "
          f"(target < {TARGET_MS:.0f} ms: {'PASS' if total_ms < TARGET_MS else 'FAIL'})")


if __name__ == "__main__":
    main()
