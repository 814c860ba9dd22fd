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


def workspace(ctx: typer.Context) -> "Workspace":
    from trackrecord.workspace import open_workspace

    opts = options(ctx)
    ws = open_workspace(opts.home)
    log_into(ctx, ws.log_dir, ws)
    return ws


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
        try:
            seal(opened.ledger, opened.workspace.private_key_path, since)
        finally:
            opened.close()

    ctx.call_on_close(finish)
    return opened


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)
