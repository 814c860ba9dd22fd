"""``trackrecord demo``: a SIMULATED workspace on the embedded default (SQLite, simulated
broker, synthetic market), run through the real daily pipeline over N years."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Callable, ContextManager

from trackrecord.engine.context import RunContext
from trackrecord.engine.replay import ReplayResult, bars_by_session, load_history, replay, replay_window
from trackrecord.market.synthetic import generate_synthetic_history
from trackrecord.user_files import make_named_folder

INITIAL_DEPOSIT = Decimal(100_000)
LATER_DEPOSIT = Decimal(25_000)
UNFINISHED_MARKER = ".demo-unfinished"  # in the demo's folder from its first write until it is complete

# (folder, synthetic market seed, first calendar day, now) -> the run context of a new
# SIMULATED paper workspace there, signed once when the block ends well (``bootstrap``).
OpenDemoWorkspace = Callable[[Path, int, date, datetime], ContextManager[RunContext]]


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


def run_demo(directory: Path, years: int, seed: int, today: date, now: datetime, open_workspace: OpenDemoWorkspace,
             progress: Callable[[int, int], None] | None = None) -> DemoResult:
    """Replay ``years`` of sessions before ``today`` on the synthetic market of ``seed`` into
    the workspace ``open_workspace`` creates in ``directory``: a history to plan from first,
    then every session through the daily pipeline, with two deposits."""
    replaced = clear_unfinished_demo(directory)
    marker = _mark_unfinished(directory)
    with open_workspace(directory, seed, date(today.year - years - 3, 1, 1), now) as ctx:
        end = ctx.calendar.previous_session(today)
        history, sessions = replay_window(ctx.calendar, end, years, ctx.settings.strategy.lookback_months)
        bars = bars_by_session(generate_synthetic_history(ctx.settings.universe.domain_instruments(),
                                                          _market_sessions(ctx, end), seed))
        load_history(ctx, [row for day in history for row in bars[day]], now)
        middle = sessions[len(sessions) // 2 + 7]
        deposits = {sessions[0]: (INITIAL_DEPOSIT, "initial deposit"), middle: (LATER_DEPOSIT, "second deposit")}
        total = len(sessions)
        result = replay(ctx, sessions, bars, deposits, (lambda done: progress(done, total)) if progress else None)
    if marker is not None:
        marker.unlink()
    return DemoResult(directory.expanduser().resolve(), result, len(history), replaced)


def _market_sessions(ctx: RunContext, end: date) -> list[date]:
    """The sessions of the workspace's own synthetic market (``prices.history_start`` to
    ``end``): the demo trades on exactly the bars a later ``prices update`` in its folder
    produces, so a record continued after the demo is one market, not two."""
    start = date.fromisoformat(ctx.settings.prices.history_start)
    return ctx.calendar.sessions_between(start, end).tolist()


def _mark_unfinished(directory: Path) -> Path | None:
    """The marker in a new (or empty) folder; None for any other folder, which is never
    marked, so a rerun never removes what the demo did not create."""
    root = directory.expanduser().resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        return None
    make_named_folder(root, str(root))
    marker = root / UNFINISHED_MARKER
    marker.write_text("a `trackrecord demo` is writing this folder; a rerun replaces it if this file is left\n")
    return marker
