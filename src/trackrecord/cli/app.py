"""The ``trackrecord`` command: global options, command groups, the outermost handler."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Optional, Sequence

import typer

from trackrecord.cli.context import GlobalOptions

COMMAND_MODULES = (
    "trackrecord.cli.workspace_commands",
    "trackrecord.cli.ledger_commands",
    "trackrecord.cli.cashflow_commands",
    "trackrecord.cli.market_commands",
    "trackrecord.cli.analytics_commands",
    "trackrecord.cli.attribution_commands",
    "trackrecord.cli.execution_commands",
    "trackrecord.cli.engine_commands",
    "trackrecord.cli.demo_commands",
    "trackrecord.cli.export_commands",
    "trackrecord.cli.ops_commands",
    "trackrecord.cli.dashboard_commands",
    "trackrecord.cli.reconcile_commands",
    "trackrecord.cli.report_commands",
    "trackrecord.cli.annotate_commands",
    "trackrecord.cli.weekly_report_commands",
    "trackrecord.cli.backtest_commands",
)

# Each top-level command and group, by the module that registers it (checked against the
# modules' own registrations by tests/unit/test_cli_command_modules.py). A run whose command
# is named here builds a command line of that module alone: importing the 17 modules and
# converting their ~100 commands to click costs each command ~50-60 ms it does not use.
# Anything else (--help, --version, a command not named here) builds the whole command line.
COMMAND_OF = {
    "init": "trackrecord.cli.workspace_commands", "config": "trackrecord.cli.workspace_commands",
    "verify": "trackrecord.cli.ledger_commands", "ledger": "trackrecord.cli.ledger_commands",
    "cashflow": "trackrecord.cli.cashflow_commands", "import": "trackrecord.cli.cashflow_commands",
    "calendar": "trackrecord.cli.market_commands", "signal": "trackrecord.cli.market_commands",
    "rebalance": "trackrecord.cli.market_commands", "prices": "trackrecord.cli.market_commands",
    "stats": "trackrecord.cli.analytics_commands", "trades": "trackrecord.cli.analytics_commands",
    "slippage": "trackrecord.cli.analytics_commands",
    "attribution": "trackrecord.cli.attribution_commands",
    "kill-switch": "trackrecord.cli.execution_commands",
    "execute": "trackrecord.cli.engine_commands", "daily": "trackrecord.cli.engine_commands",
    "pull": "trackrecord.cli.engine_commands", "snapshot": "trackrecord.cli.engine_commands",
    "orders": "trackrecord.cli.engine_commands", "cancel": "trackrecord.cli.engine_commands",
    "demo": "trackrecord.cli.demo_commands",
    "export": "trackrecord.cli.export_commands",
    "doctor": "trackrecord.cli.ops_commands", "scheduler": "trackrecord.cli.ops_commands",
    "run-job": "trackrecord.cli.ops_commands", "jobs": "trackrecord.cli.ops_commands",
    "dashboard": "trackrecord.cli.dashboard_commands",
    "reconcile": "trackrecord.cli.reconcile_commands", "flex": "trackrecord.cli.reconcile_commands",
    "report": "trackrecord.cli.report_commands",
    "annotate": "trackrecord.cli.annotate_commands",
    "weekly-report": "trackrecord.cli.weekly_report_commands",
    "backtest": "trackrecord.cli.backtest_commands",
}
GLOBAL_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet"})

# The cyclic collector's generations: the young one collected every 50,000 allocations, not
# CPython's 700. A command allocates hundreds of thousands of objects that live to its end (the
# imported modules, a backtest's bars and events); at 700 the collector ran ~340 times in the
# 25-year backtest, 2 of them over the whole heap, ~150-190 ms of it; at 50,000, 15 times, none
# over the whole heap, ~60-90 ms. Peak memory the same (146 MB). Cyclic garbage waits longer.
COLLECTOR_THRESHOLDS = (50_000, 10, 10)


def _version(shown: bool) -> None:
    if shown:
        from trackrecord import __version__

        typer.echo(f"trackrecord {__version__}")
        raise typer.Exit(0)


def _root(
    ctx: typer.Context,
    home: Optional[Path] = typer.Option(None, "--home", help="workspace folder (else $TRACKRECORD_HOME, else here)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log debug messages to the console"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="log only errors to the console"),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=lambda shown: _version(shown),
                                 help="print the version and exit"),
) -> None:
    """trackrecord: run a systematic strategy on Interactive Brokers and prove the result."""
    ctx.obj = GlobalOptions(home=home, verbose=verbose, quiet=quiet)


def build_app(modules: Sequence[str] = COMMAND_MODULES) -> typer.Typer:
    import importlib

    app = typer.Typer(
        name="trackrecord", add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    for module_name in modules:
        importlib.import_module(module_name).register(app)
    return app


def command_modules(args: Sequence[str]) -> tuple[str, ...]:
    """The command modules a run of ``args`` needs: the one registering the command named
    after the global options, else every one."""
    rest = iter(args)
    for token in rest:
        if token == "--home":
            next(rest, None)
        elif not (token.startswith("--home=") or token in GLOBAL_FLAGS):
            module = COMMAND_OF.get(token)
            return COMMAND_MODULES if module is None or module not in COMMAND_MODULES else (module,)
    return COMMAND_MODULES


def run(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code. Users' mistakes never get a traceback.

    Typer's standalone mode handles usage errors (exit 2); our own errors carry their
    exit code (2 bad input, 3 safety refusal, 1 run-time failure).
    """
    from trackrecord.cli.arguments import unreadable_argument
    from trackrecord.errors import INTERRUPTED, INTERRUPTED_EXIT, TrackrecordError

    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    args = sys.argv[1:] if argv is None else argv
    problem = unreadable_argument(args)
    if problem is not None:
        sys.stderr.write(f"error: {problem}\n")
        return 2
    app = build_app(command_modules(args))
    try:
        app(args=argv, prog_name="trackrecord")
    except SystemExit as exc:
        if _interrupted_unspoken(exc):
            sys.stderr.write(f"{INTERRUPTED}\n")
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except TrackrecordError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{INTERRUPTED}\n")
        return INTERRUPTED_EXIT
    return 0


def _interrupted_unspoken(exit: SystemExit) -> bool:
    """True for Typer's exit 130 from a Ctrl-C no command caught: it says nothing. A command
    that says what its interruption kept exits ``from None``, ending the chain."""
    link: BaseException | None = exit.__context__
    while link is not None:
        if isinstance(link, KeyboardInterrupt):
            return True
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return False
