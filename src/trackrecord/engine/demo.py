"""``trackrecord demo``: a SIMULATED workspace on the embedded default (SQLite, simulated
broker, synthetic market), run through the real daily pipeline over N years."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Callable

from trackrecord.domain import Mode
from trackrecord.engine.replay import ReplayResult, bars_by_session, load_history, replay, replay_window
from trackrecord.ledger.operations import checkpoint
from trackrecord.secure_files import make_private_folder

INITIAL_DEPOSIT = Decimal(100_000)
LATER_DEPOSIT = Decimal(25_000)
UNFINISHED_MARKER = ".demo-unfinished"  # in the demo's folder from its first write until it is complete


@dataclass
class DemoResult:
    root: Path
    replay: ReplayResult
    history_sessions: int
    replaced_unfinished: bool = False


def clear_unfinished_demo(directory: Path) -> bool:
    """Remove the folder a killed demo left (it holds the demo's marker: a SIMULATED
    workspace nobody can have used); True when there was one. Any other folder is left
    alone (``create_workspace`` then refuses it)."""
    root = directory.expanduser().resolve()
    if not (root / UNFINISHED_MARKER).is_file():
        return False
    shutil.rmtree(root)
    return True


def run_demo(directory: Path, years: int, seed: int, today: date, now: datetime,
             progress: Callable[[int, int], None] | None = None) -> DemoResult:
    from trackrecord.bootstrap import connect, run_context, simulated_broker
    from trackrecord.brokers.sim import PriceTape
    from trackrecord.config import PricesConfig
    from trackrecord.market.calendar import open_calendar
    from trackrecord.market.synthetic import generate_synthetic_history
    from trackrecord.workspace_init import create_workspace, preset_settings

    base = preset_settings(prices_source="synthetic")
    settings = base.model_copy(update={"mode": Mode.PAPER,
                                       "prices": PricesConfig(source="synthetic", synthetic_seed=seed)})
    replaced = clear_unfinished_demo(directory)
    marker = _mark_unfinished(directory)
    workspace = create_workspace(directory, settings, now)
    services = connect(workspace)
    try:
        calendar = open_calendar(settings.universe.calendar, start=date(today.year - years - 3, 1, 1))
        end = calendar.previous_session(today)
        history, sessions = replay_window(calendar, end, years, settings.strategy.lookback_months)
        bars = bars_by_session(generate_synthetic_history(settings.universe.domain_instruments(),
                                                          history + sessions, seed))
        tape = PriceTape()
        broker, clock = simulated_broker(services, calendar, tape)
        ctx = run_context(services, Mode.PAPER, calendar, broker, clock)
        load_history(ctx, [row for day in history for row in bars[day]], now)
        middle = sessions[len(sessions) // 2 + 7]
        deposits = {sessions[0]: (INITIAL_DEPOSIT, "initial deposit"), middle: (LATER_DEPOSIT, "second deposit")}
        total = len(sessions)
        result = replay(ctx, sessions, bars, deposits, (lambda done: progress(done, total)) if progress else None)
        broker.close()
        checkpoint(services.ledger, workspace.private_key_path)  # one signature for the whole replay
    finally:
        services.close()
    if marker is not None:
        marker.unlink()
    return DemoResult(workspace.root, result, len(history), replaced)


def _mark_unfinished(directory: Path) -> Path | None:
    """The marker in a new (or empty) folder; None for any other folder, which is never
    marked, so a rerun never removes what the demo did not create."""
    root = directory.expanduser().resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        return None
    make_private_folder(root)
    marker = root / UNFINISHED_MARKER
    marker.write_text("a `trackrecord demo` is writing this folder; a rerun replaces it if this file is left\n")
    return marker
