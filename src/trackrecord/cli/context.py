"""What every command shares: the global options and the outermost error handling."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from trackrecord.logs import configure_logging

if TYPE_CHECKING:
    from trackrecord.services import Services
    from trackrecord.workspace import Workspace


@dataclass
class GlobalOptions:
    home: Path | None = None
    verbose: bool = False
    quiet: bool = False


def options(ctx: typer.Context) -> GlobalOptions:
    root = ctx.find_root()
    if not isinstance(root.obj, GlobalOptions):
        root.obj = GlobalOptions()
    return root.obj


# Commands that would add records of their own (a broker's, an import's, a person's) to the
# ledger: refused on a BACKTEST workspace, whose record is the replay's alone, before they fetch
# or write any file and naming the command. The rule itself is the ledger store's
# (``ledger.backtest_mark.SHOWING_KINDS``), which refuses whatever this list misses.
REFUSED_ON_A_BACKTEST = frozenset({
    "execute", "daily", "pull", "snapshot", "cashflow add", "cashflow void", "import snapshots",
    "import cashflows", "import fills", "import seed", "prices update", "prices import", "kill-switch activate",
    "kill-switch deactivate", "annotate new", "annotate edit", "annotate monthly", "reconcile", "flex fetch",
    "scheduler", "run-job",
})


def workspace(ctx: typer.Context) -> "Workspace":
    from trackrecord.workspace import open_workspace

    opts = options(ctx)
    ws = open_workspace(opts.home)
    _refuse_on_a_backtest(ctx, ws)
    log_into(ctx, ws.log_dir, ws)
    return ws


def command_name(ctx: typer.Context) -> str:
    """The command as typed after the global options, e.g. ``cashflow add``."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def _refuse_on_a_backtest(ctx: typer.Context, ws: "Workspace") -> None:
    from trackrecord.bootstrap import is_backtest_workspace
    from trackrecord.errors import SafetyRefusal

    command = command_name(ctx)
    if command in REFUSED_ON_A_BACKTEST and is_backtest_workspace(ws):
        raise SafetyRefusal(f"{ws.root} is a BACKTEST workspace (SIMULATED, written by `trackrecord backtest`): "
                            f"`{command}` would mix records that are not the replay's into it; nothing was written. "
                            "Run it on the live workspace, or rerun `trackrecord backtest` to change the backtest")


def log_into(ctx: typer.Context, log_dir: Path, ws: "Workspace") -> None:
    """The command's log lines into ``log_dir``, at ``ws``'s logging settings and the
    command line's verbosity."""
    opts, settings = options(ctx), ws.settings.logging
    configure_logging(log_dir, settings.level, opts.verbose, opts.quiet, settings.max_bytes, settings.backups)


def services(ctx: typer.Context) -> "Services":
    """The workspace's services for one command. When the command is over (successful or
    not), one checkpoint signs the new head if the command appended anything, or if it took
    the writer and found the head unsigned."""
    from trackrecord.bootstrap import connect
    from trackrecord.ledger.operations import seal

    opened = connect(workspace(ctx))
    opened_at = opened.ledger.head()[0]

    def finish() -> None:
        # A writing command also signs a head a killed command left unsigned, even when it
        # then refused (the rerun of a killed `cashflow add` is refused as a repeat).
        since = 0 if opened.ledger.took_the_writer else opened_at
        try:  # nothing of its own to warn about when it appended nothing (`ledger checkpoint` says why it failed)
            seal(opened.ledger, opened.workspace.private_key_path, since, warn=opened.ledger.head()[0] > opened_at)
        finally:
            opened.close()

    ctx.call_on_close(finish)
    return opened


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)
