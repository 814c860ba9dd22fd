"""25 years of the 9 US sector SPDRs through the real engine (simulated broker, full
ledger), and the same strategy in bt, in one run: wall times and final equity of each.

Both sides trade the same rule so their equity can be compared: on the first session of
a month, rank by 12-1 momentum on month-end adjusted closes, hold the top 3 at equal
weight (no hysteresis, no drift band, no costs), size whole shares from the previous
close and trade at the session's close. The engine's safety limits are opened wide
(turnover, order value, daily loss) so that they do not change the trades.

Data: ../shared/data/prices (see its README). Target (issue 5): the engine, ledger
included, under 1 second; figures for bt measured here: about 0.37 s.
"""

from __future__ import annotations

import csv
import math
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "prices"
SYMBOLS = ("XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")
CAPITAL = Decimal(10_000_000)
START, END = date(2001, 7, 1), date(2026, 7, 10)


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


def settings_for_benchmark():  # type: ignore[no-untyped-def]
    from trackrecord.config import BrokerConfig, RiskConfig, SimBrokerConfig, StrategyConfig
    from trackrecord.domain import Mode
    from trackrecord.workspace_init import preset_settings

    base = preset_settings("USD", "us-sectors", "csv")
    return base.model_copy(update={
        "mode": Mode.PAPER,
        "strategy": StrategyConfig(top_n=3, exit_rank=3, drift_band=0, cash_buffer=0, min_order_value=Decimal(0)),
        "risk": RiskConfig(max_turnover=10, max_order_value=Decimal(10**12), daily_loss_limit=0.99,
                           max_orders_per_run=50),
        "broker": BrokerConfig(sim=SimBrokerConfig(commission_rate=Decimal(0), commission_min=Decimal(0),
                                                   slippage_bps=Decimal(0))),
    })


def run_engine(history: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, int]:
    from trackrecord.bootstrap import connect, run_context, simulated_broker
    from trackrecord.brokers.sim import PriceTape
    from trackrecord.domain import Mode
    from trackrecord.engine.replay import bars_by_session, load_history, replay
    from trackrecord.market.calendar import open_calendar
    from trackrecord.bootstrap import create_workspace

    settings = settings_for_benchmark()
    with tempfile.TemporaryDirectory() as folder:
        now = datetime.now(timezone.utc)
        workspace = create_workspace(Path(folder) / "ws", settings, now)
        calendar = open_calendar("XNYS", start=date(1998, 1, 1), end=date(2026, 12, 31))
        started = time.perf_counter()
        services = connect(workspace)
        first = calendar.next_rebalance_session(START)
        sessions = [d.astype(date) for d in calendar.sessions_between(first, END)]
        bars = bars_by_session(history)
        tape = PriceTape()
        broker, clock = simulated_broker(services, calendar, tape)
        ctx = run_context(services, Mode.PAPER, calendar, broker, clock)
        before = [row for day in sorted(bars) if day < first for row in bars[day]]
        load_history(ctx, before, now)
        result = replay(ctx, sessions, bars, {first: (CAPITAL, "initial deposit")})
        broker.close()
        services.close()
        elapsed = time.perf_counter() - started
        events = services.ledger.head()[0]
    assert not result.refusals, result.refusals[:3]
    return elapsed, float(result.final_nav or 0), events


def run_bt(history: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
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
            momentum = (month_ends.loc[end] / month_ends.loc[start] - 1).sort_values(ascending=False, kind="stable")
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
    started = time.perf_counter()
    test = bt.Backtest(strategy, data, initial_capital=float(CAPITAL), commissions=lambda q, p: 0.0,
                       integer_positions=True)
    result = bt.run(test)
    elapsed = time.perf_counter() - started
    return elapsed, float(result.prices.iloc[-1, 0] / 100.0 * float(CAPITAL))


def main() -> int:
    if not DATA.is_dir():
        print(f"no data at {DATA}: this benchmark needs ../shared/data/prices")
        return 1
    history = read_closes()
    engine_seconds, engine_equity, events = run_engine(history)
    bt_seconds, bt_equity = run_bt(history)
    difference_bps = (engine_equity / bt_equity - 1) * 1e4
    print(f"25 years ({START} .. {END}), 9 US sector SPDRs, 12-1 momentum top 3, monthly")
    print(f"trackrecord engine + simulated broker + ledger: {engine_seconds:6.2f} s  final equity {engine_equity:,.2f}"
          f"  ({events:,} ledger events; target < 1 s)")
    print(f"bt {__import__('bt').__version__}:                                {bt_seconds:6.2f} s  final equity {bt_equity:,.2f}")
    print(f"final equity difference: {difference_bps:+.2f} bp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
