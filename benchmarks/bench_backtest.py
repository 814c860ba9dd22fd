"""25 years of the 9 US sector SPDRs through `trackrecord backtest` (the live engine, the
simulated broker, the full ledger) and the same rule in bt, in one run; then the synthetic
market over 25, 50 and 100 years (the replay must stay linear in its length; ``--quick``:
25 years only).

Both sides trade the same rule so their equity can be compared: on the first session of
a month, rank by 12-1 momentum on month-end adjusted closes, hold the top 3 at equal
weight (no hysteresis, no drift band, no costs), size whole shares from the previous
close and trade at the session's close. The engine's safety limits are opened wide
(turnover, order value, daily loss) so that they do not change the trades.

Printed: the whole process (`python -m trackrecord backtest ...` as a subprocess: start-up,
imports, calendar, CSV reading, replay, stats), the same backtest in-process
(``engine.backtest.run_backtest``), bt in-process, and their ratio; wall time and CPU time
(user + system) each, since this machine is shared and wall time follows its load. Then
both at 10 bps a trade: the calendar CAGR of each from the session before the first trade
(bt's first date; the engine's base, the funded account) and their final equity.
Targets (issue 15): the whole process under 1 s, in-process within 2x of bt.

Data: ../shared/data/prices (see its README).
"""

from __future__ import annotations

import csv
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = next((p / "shared" / "data" / "prices" for p in REPO.parents if (p / "shared" / "data" / "prices").is_dir()),
            REPO.parent / "shared" / "data" / "prices")
SYMBOLS = ("XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")
CAPITAL = Decimal(10_000_000)
START, END = date(2001, 7, 1), date(2026, 7, 10)
SYNTHETIC_END = date(2025, 12, 31)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:6.2f} s wall {self.cpu:6.2f} s CPU"


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(work):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), _cpu()
    value = work()
    return Timing(time.perf_counter() - wall, _cpu() - cpu), value


def read_closes() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for symbol in SYMBOLS:
        with open(DATA / f"{symbol}.csv", newline="") as handle:
            rows = [(r["date"], float(r["adj_close"])) for r in csv.DictReader(handle)]
        dates = np.array([d for d, _ in rows], dtype="datetime64[D]")
        closes = np.array([c for _, c in rows])
        keep = dates <= np.datetime64(END)
        out[symbol] = (dates[keep], closes[keep])
    return out


def make_workspace(folder: Path) -> Path:
    """A us-sectors workspace with the benchmark's rule (the settings a user would edit)."""
    import yaml

    root = folder / "ws"
    subprocess.run([sys.executable, "-m", "trackrecord", "init", str(root), "--base-currency", "USD",
                    "--universe", "us-sectors", "--prices", "csv"], check=True, capture_output=True, env=_env())
    path = root / "trackrecord.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["strategy"].update(top_n=3, exit_rank=3, drift_band=0, cash_buffer=0, min_order_value=0)
    settings["risk"].update(max_turnover=10, max_order_value=10**12, daily_loss_limit=0.99, max_orders_per_run=50)
    path.write_text(yaml.safe_dump(settings))
    # the exchange calendar is built once a day into the cache (docs/operations.md), by
    # whichever command comes first: here, as on a trader's machine, not by the backtest
    subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(root), "calendar"], check=True,
                   capture_output=True, env=_env())
    return root


def _env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, (str(REPO / "src"), os.environ.get("PYTHONPATH"))))}


def backtest_process(home: Path, out: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(home), "backtest", "--from", str(START),
                           "--to", str(END), "--prices-dir", str(DATA), "--no-costs", "--cash", str(CAPITAL),
                           "--out", str(out), "--json"], check=True, capture_output=True, text=True, env=_env())
    return json.loads(done.stdout)


def backtest_in_process(home: Path, out: Path, start: date, end: date, provider: str | None = None,  # type: ignore[no-untyped-def]
                        commission_bps: int = 0):
    from trackrecord.bootstrap import backtest_history, backtest_workspace
    from trackrecord.engine.backtest import BacktestCosts, history_start, run_backtest
    from trackrecord.market.calendar import DEFAULT_START, open_calendar
    from trackrecord.workspace import open_workspace

    settings = open_workspace(home).settings
    since = history_start(settings, start)
    calendar = open_calendar(settings.universe.calendar, start=min(since, DEFAULT_START))
    history = backtest_history(settings, home, calendar, since, end, None if provider else DATA, provider)
    costs = BacktestCosts(Decimal(commission_bps) / 10_000, Decimal(0), Decimal(0))
    return run_backtest(settings, history, out, costs, start, end, CAPITAL,
                        datetime.now(timezone.utc), backtest_workspace, calendar)


def run_bt(history: dict[str, tuple[np.ndarray, np.ndarray]], commission_bps: int = 0) -> tuple[Timing, float, float]:
    """(time, final equity, calendar CAGR from bt's first date, the session before its first trade)."""
    import bt
    import pandas as pd

    frame = pd.DataFrame({s: pd.Series(c, index=pd.DatetimeIndex(d)) for s, (d, c) in history.items()}).dropna()
    month_ends = frame.groupby(frame.index.to_period("M")).last()

    class MomentumFromPreviousClose(bt.Algo):
        """12-1 momentum top 3, whole shares sized from the previous close, traded at today's close."""

        def __call__(self, target) -> bool:  # type: ignore[no-untyped-def]
            month = target.now.to_period("M")
            start, end = month - 13, month - 2
            if start not in month_ends.index:
                return False
            momentum = (month_ends.loc[end] / month_ends.loc[start] - 1)
            ranked = momentum.sort_index().sort_values(ascending=False, kind="stable")
            chosen = list(ranked.index[:3])
            universe = target.universe
            today = universe.loc[target.now]
            previous = universe.iloc[universe.index.get_loc(target.now) - 1]
            holdings = {name: child.position for name, child in target.children.items() if child.position}
            nav_before = target.capital + sum(q * previous[name] for name, q in holdings.items())
            quantities = {s: math.floor(nav_before / 3 / previous[s]) for s in chosen}
            nav_now = target.value
            target.temp["weights"] = {s: (q + 0.5) * today[s] / nav_now for s, q in quantities.items()}
            return True

    first = frame.index[frame.index >= pd.Timestamp(START)][0]
    data = frame.loc[frame.index >= frame.index[frame.index.get_loc(first) - 1]]
    strategy = bt.Strategy("momentum-12-1", [bt.algos.RunMonthly(run_on_first_date=False), MomentumFromPreviousClose(),
                                             bt.algos.Rebalance()])

    def work():  # type: ignore[no-untyped-def]
        test = bt.Backtest(strategy, data, initial_capital=float(CAPITAL),
                           commissions=lambda q, p: abs(q) * p * commission_bps / 10_000,
                           integer_positions=True)
        return bt.run(test)

    timing, result = timed(work)
    index = result.prices.iloc[:, 0]
    years = (index.index[-1] - index.index[0]).days / 365.25
    return timing, float(index.iloc[-1] / 100.0 * float(CAPITAL)), float((index.iloc[-1] / index.iloc[0]) ** (1 / years) - 1)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 50- and 100-year synthetic replays")
    quick = parser.parse_args(argv).quick
    if not DATA.is_dir():
        print(f"no data at {DATA}: this benchmark needs ../shared/data/prices")
        return 1
    sys.path.insert(0, str(REPO / "src"))
    import bt

    with tempfile.TemporaryDirectory() as folder:
        home = make_workspace(Path(folder))
        whole, document = timed(lambda: backtest_process(home, Path(folder) / "process"))
        inside, result = timed(lambda: backtest_in_process(home, Path(folder) / "inside", START, END))
        closes = read_closes()
        bt_timing, bt_equity, _ = run_bt(closes)
        engine_equity = float(result.replay.final_nav or 0)
        print(f"25 years ({START} .. {END}), 9 US sector SPDRs, 12-1 momentum top 3, monthly, no costs")
        print(f"trackrecord backtest, whole process:   {whole}  final equity {float(document['final_nav']):,.2f}"
              "  (target < 1 s)")
        print(f"trackrecord backtest, in-process:      {inside}  final equity {engine_equity:,.2f}"
              f"  ({result.replay.sessions:,} sessions, {result.replay.orders:,} orders)")
        print(f"bt {bt.__version__}, in-process:                {bt_timing}  final equity {bt_equity:,.2f}")
        print(f"in-process / bt: {inside.wall / bt_timing.wall:.1f}x wall, {inside.cpu / bt_timing.cpu:.1f}x CPU"
              f" (target < 2x); final equity difference {(engine_equity / bt_equity - 1) * 1e4:+.2f} bp")
        costly = backtest_in_process(home, Path(folder) / "costly", START, END, commission_bps=10)
        _, bt_costly_equity, bt_costly_cagr = run_bt(closes, commission_bps=10)
        cagr = costly.stats["metrics"]["cagr_calendar"]
        print(f"10 bps a trade: CAGR {cagr:.4%}, bt {bt_costly_cagr:.4%} ({(cagr - bt_costly_cagr) * 1e4:+.2f} bp);"
              f" final equity {float(costly.replay.final_nav or 0):,.2f}, bt {bt_costly_equity:,.2f}")
        print("synthetic market, in-process (linear in length):")
        base = None
        for years in (25,) if quick else (25, 50, 100):
            start = date(SYNTHETIC_END.year - years + 1, 1, 1)
            timing, run = timed(lambda: backtest_in_process(home, Path(folder) / f"synthetic{years}", start,
                                                            SYNTHETIC_END, "synthetic"))
            base = base or timing.cpu / years
            print(f"  {years:3d} years: {timing}  {run.replay.sessions:,} sessions,"
                  f" {timing.cpu / years / base:.2f}x the 25-year CPU per year")
    return 0


if __name__ == "__main__":
    sys.exit(main())
