"""A 25-year SIMULATED replay workspace of the 9 US sector SPDRs, built once and cached.

Other benchmarks (the monthly report, the export bundle, the dashboard) need a long real
record to measure against; building it takes a few seconds, so it is cached under
``/tmp/trackrecord-replay-<key>/ws``, the key being a hash of the code (every file under
``src/trackrecord``), of the price files and of the parameters below: a change to any of
them builds a new one. Concurrent callers wait on a lock; a half-built folder is never
returned (it is built beside the cache and renamed into place).

    from benchmarks.replay_workspace import replay_workspace
    root = replay_workspace()            # Path of a workspace: trackrecord --home ROOT ...

The replay is the live engine on the simulated broker (``engine.replay``), as in
``bench_backtest.py``, with the simulator's default costs (so fees show), SPY stored and
configured as the benchmark, a second deposit in 2013 and a withdrawal in 2020.
Run as a script it prints the folder (building it if needed).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# ../shared/data from the repository (from a git worktree deeper down, the nearest such folder above it)
DATA = next((p / "shared" / "data" / "prices" for p in REPO.parents if (p / "shared" / "data" / "prices").is_dir()),
            REPO.parent / "shared" / "data" / "prices")
SYMBOLS = ("XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")
BENCHMARK = "SPY"
CAPITAL = Decimal(10_000_000)
START, END = date(2001, 7, 1), date(2026, 6, 30)
FLOWS = {date(2013, 3, 1): (Decimal(2_000_000), "second deposit"),
         date(2020, 9, 1): (Decimal(-200_000), "withdrawal")}
CACHE_ROOT = Path(tempfile.gettempdir())
BUILT_AT = datetime(2026, 7, 1, 8, 0, tzinfo=timezone.utc)  # fixed: the same code gives the same ledger


def cache_key() -> str:
    """Hash of the code, the price files and this module's parameters (12 hex digits)."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "src" / "trackrecord").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".ttf", ".txt", ".yaml"):
            digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    for symbol in (*SYMBOLS, BENCHMARK):
        stat = (DATA / f"{symbol}.csv").stat()
        digest.update(f"{symbol}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:12]


def replay_workspace() -> Path:
    """The cached workspace's folder, building it first when there is none for this code."""
    if not DATA.is_dir():
        raise FileNotFoundError(f"no price data at {DATA}: the replay workspace needs ../shared/data/prices")
    home = CACHE_ROOT / f"trackrecord-replay-{cache_key()}"
    root = home / "ws"
    if (root / "trackrecord.yaml").is_file() and (home / "complete").is_file():
        return root
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "complete").is_file():
            building = Path(tempfile.mkdtemp(prefix="building-", dir=home))
            _build(building / "ws")
            shutil.rmtree(root, ignore_errors=True)
            os.replace(building / "ws", root)
            shutil.rmtree(building, ignore_errors=True)
            (home / "complete").write_text("built\n")
    return root


def read_closes(symbol: str, end: date = END) -> tuple[np.ndarray, np.ndarray]:
    with open(DATA / f"{symbol}.csv", newline="") as handle:
        rows = [(r["date"], float(r["adj_close"])) for r in csv.DictReader(handle)]
    dates = np.array([d for d, _ in rows], dtype="datetime64[D]")
    closes = np.array([c for _, c in rows])
    keep = dates <= np.datetime64(end)
    return dates[keep], closes[keep]


def replay_settings():  # type: ignore[no-untyped-def]
    from trackrecord.config import PerformanceConfig, RiskConfig, StrategyConfig
    from trackrecord.domain import Mode
    from trackrecord.workspace_init import preset_settings

    base = preset_settings("USD", "us-sectors", "csv")
    return base.model_copy(update={
        "mode": Mode.PAPER,
        "strategy": StrategyConfig(top_n=3, exit_rank=3, drift_band=0, cash_buffer=0.02, min_order_value=Decimal(0)),
        "risk": RiskConfig(max_turnover=10, max_order_value=Decimal(10**12), daily_loss_limit=0.99,
                           max_orders_per_run=50),
        "performance": PerformanceConfig(benchmark=BENCHMARK),
    })


def _build(root: Path) -> None:
    from trackrecord.bootstrap import connect, run_context, simulated_broker
    from trackrecord.brokers.sim import PriceTape
    from trackrecord.domain import Mode
    from trackrecord.engine.replay import bars_by_session, load_history, replay
    from trackrecord.ledger.operations import checkpoint
    from trackrecord.market.calendar import open_calendar
    from trackrecord.market.service import record_prices
    from trackrecord.bootstrap import create_workspace

    history = {symbol: read_closes(symbol) for symbol in SYMBOLS}
    workspace = create_workspace(root, replay_settings(), BUILT_AT)
    services = connect(workspace, clock=lambda: BUILT_AT)
    try:
        calendar = open_calendar("XNYS", start=date(1998, 1, 1), end=date(2026, 12, 31))
        first = calendar.next_rebalance_session(START)
        sessions = [d.astype(date) for d in calendar.sessions_between(first, END)]
        bars = bars_by_session(history)
        tape = PriceTape()
        broker, clock = simulated_broker(services, calendar, tape)
        ctx = run_context(services, Mode.PAPER, calendar, broker, clock)
        load_history(ctx, [row for day in sorted(bars) if day < first for row in bars[day]], BUILT_AT)
        flows = {first: (CAPITAL, "initial deposit")}
        flows |= {calendar.next_rebalance_session(day): flow for day, flow in FLOWS.items()}
        result = replay(ctx, sessions, bars, flows)
        broker.close()
        spy = bars_by_session({BENCHMARK: read_closes(BENCHMARK)})
        with services.ledger.writer() as writer:
            record_prices(writer, [row for day in sorted(spy) for row in spy[day]], "csv", False, BUILT_AT,
                          [BENCHMARK], {"purpose": "benchmark"})
        checkpoint(services.ledger, workspace.private_key_path)
    finally:
        services.close()
    if result.refusals:
        raise RuntimeError(f"the replay was refused by a safety rule: {result.refusals[:3]}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    print(replay_workspace())
