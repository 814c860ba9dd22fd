"""``trackrecord backtest``: the live engine over history into a BACKTEST workspace of its own."""

from __future__ import annotations

import contextlib
import logging
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import List, Optional

import typer

from trackrecord.cli import context
from trackrecord.errors import INTERRUPTED_EXIT, UserError

log = logging.getLogger(__name__)

PROVIDERS = ("yahoo", "csv", "synthetic")


EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)  # beyond any exchange calendar we open


def _day(option: str, text: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option} {text!r}: expected a date YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise UserError(f"{option} {day}: expected a date between {EARLIEST} and {LATEST}")
    return day


MAX_CASH = Decimal(10) ** 12  # share counts and cash stay within the ledger's decimal precision
MAX_BPS = Decimal(1000)  # 10 % of a trade's value: beyond it a "cost" is a typo (and 10,000 bps prices a sale at 0)


def _amount(option: str, text: str | None, positive: bool = False, at_most: Decimal | None = None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise UserError(f"{option} {text!r}: expected a number") from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise UserError(f"{option} {text!r}: expected a {'positive' if positive else 'non-negative'} number")
    if at_most is not None and value > at_most:
        raise UserError(f"{option} {text!r}: expected at most {at_most:,}")
    return Decimal(format(value, "f"))  # 1e6 is recorded and shown as 1000000, not 1E+6


def backtest(
    ctx: typer.Context,
    from_: str = typer.Option(..., "--from", help="first day (the account is funded on the session before the first rebalance session on or after it)"),
    to: str = typer.Option(..., "--to", help="last day (or the last bar of the history, if earlier)"),
    prices_dir: Optional[Path] = typer.Option(None, "--prices-dir", help="folder of <SYMBOL>.csv daily prices"),
    provider: Optional[str] = typer.Option(None, "--provider", help="yahoo | csv (prices.csv_dir) | synthetic; "
                                                                    "default: the workspace's prices.source"),
    cash: str = typer.Option("100000", "--cash", help="capital deposited on the first session (base currency)"),
    commission_bps: Optional[str] = typer.Option(None, "--commission-bps",
                                                 help="commission in bps of trade value, no minimum (default: broker.sim)"),
    slippage_bps: Optional[str] = typer.Option(None, "--slippage-bps", help="slippage in bps (default: broker.sim)"),
    no_costs: bool = typer.Option(False, "--no-costs", help="frictionless: no commission, no slippage"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder of the backtest workspace "
                                                           "(default: backtests/FROM_TO in the workspace)"),
    json_output: bool = typer.Option(False, "--json", help="print the result (and its stats document) as JSON"),
    grid: Optional[List[str]] = typer.Option(None, "--grid", metavar="KEY=VALUES",
                                             help="robustness grid: every combination, e.g. --grid top_n=1..5 "
                                                  "lookback_months=6,9,12 (throw-away workspaces)"),
    jobs: int = typer.Option(2, "--jobs", min=1, max=64, help="with --grid: trials run at once (processes)"),
) -> None:
    """Replay the strategy over history through the live engine and the simulated broker,
    into a separate SIMULATED / BACKTEST workspace (use it with --home OUT)."""
    import time
    from datetime import datetime, timezone

    from trackrecord.bootstrap import backtest_history, backtest_workspace
    from trackrecord.engine.backtest import BacktestCosts, DEFAULT_FOLDER, check_out_folder, history_start, run_backtest
    from trackrecord.market.calendar import DEFAULT_START, open_calendar

    start, end = _day("--from", from_), _day("--to", to)
    capital = _amount("--cash", cash, positive=True, at_most=MAX_CASH)
    commission = _amount("--commission-bps", commission_bps, at_most=MAX_BPS)
    slippage = _amount("--slippage-bps", slippage_bps, at_most=MAX_BPS)
    if provider is not None and provider not in PROVIDERS:
        raise UserError(f"--provider {provider!r}: expected one of {', '.join(PROVIDERS)}")
    if provider is not None and prices_dir is not None:
        raise UserError("--prices-dir and --provider: give one of them, not both")
    if no_costs and (commission is not None or slippage is not None):
        raise UserError("--no-costs with --commission-bps or --slippage-bps: give one or the other")
    if start > end:
        raise UserError(f"--from {start} is after --to {end}")
    grid = _grid_axes(grid or [], ctx.args)
    axes = None
    if grid:
        from trackrecord.engine.grid import parse_grid

        axes = parse_grid(grid)
        if out is not None:
            raise UserError("--out with --grid: a grid's workspaces are thrown away; give one or the other")
    workspace = context.workspace(ctx)
    settings = workspace.settings
    costs = BacktestCosts.none() if no_costs else BacktestCosts.of(settings)
    if commission is not None:
        costs = BacktestCosts(commission / 10_000, Decimal(0), costs.slippage_bps)
    if slippage is not None:
        costs = BacktestCosts(costs.commission_rate, costs.commission_min, slippage)
    folder = check_out_folder(out if out is not None else workspace.root / DEFAULT_FOLDER / f"{start}_{end}")
    since = history_start(settings, start)
    if axes is not None:
        from trackrecord.engine.grid import earliest_history

        since = earliest_history(settings, axes, start)  # every combination checked, the longest lookback loaded
    calendar = open_calendar(settings.universe.calendar, start=min(since, DEFAULT_START))
    started = time.perf_counter()
    history = backtest_history(settings, workspace.root, calendar, since, end, prices_dir, provider)
    now = datetime.now(timezone.utc)
    if axes is not None:
        from trackrecord.cli.grid_output import run_and_show_grid

        try:
            run_and_show_grid(settings, history, costs, start, end, capital, now, backtest_workspace,
                              min(since, DEFAULT_START), axes, jobs, json_output)
        except KeyboardInterrupt:
            sys.stderr.write("backtest --grid interrupted: no table, its throw-away workspaces were removed\n")
            raise typer.Exit(INTERRUPTED_EXIT) from None
        return
    log.info("backtest %s .. %s (SIMULATED) into %s: its log is there", start, end, folder)
    try:
        with _progress_bar() as progress:
            result = run_backtest(settings, history, folder, costs, start, end, capital, now,
                                  _logging_into_its_own_folder(ctx, workspace, backtest_workspace), calendar, progress)
    except KeyboardInterrupt:
        sys.stderr.write(f"backtest interrupted: nothing was kept, {folder} is as it was before the run\n")
        raise typer.Exit(INTERRUPTED_EXIT) from None
    if json_output:
        context.print_json(result.document())
        return
    _print_summary(result, time.perf_counter() - started)


def _logging_into_its_own_folder(ctx: typer.Context, workspace, open_workspace):  # type: ignore[no-untyped-def]
    """``open_workspace`` with the replay's log lines (a plan and an order line each month)
    in the backtest workspace's own log: in the live workspace's they would rotate its
    operating history away, 1,400 lines for 25 years."""

    @contextlib.contextmanager
    def opened(directory: Path, *args):  # type: ignore[no-untyped-def]
        with open_workspace(directory, *args) as inside:
            context.log_into(ctx, directory / "logs", workspace)
            try:
                yield inside
            finally:
                context.log_into(ctx, workspace.log_dir, workspace)
    return opened


class _progress_bar:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not sys.stderr.isatty():
            self._bar = None
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("backtest: replaying sessions"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self._bar.__enter__()
        task = self._bar.add_task("sessions", total=None)
        bar = self._bar
        return lambda done, total: bar.update(task, completed=done, total=total) if done % 21 == 0 or done == total \
            else None

    def __exit__(self, *exc_info) -> None:  # type: ignore[no-untyped-def]
        if self._bar is not None:
            self._bar.__exit__(*exc_info)


def _print_summary(result, seconds: float) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.cli.analytics_commands import render_stats_table

    console = context.console()
    replay, costs = result.replay, result.costs
    console.print(f"[bold]BACKTEST | SIMULATED[/bold]: {replay.sessions} sessions {result.first_session} .. "
                  f"{result.last_session} ({result.history_sessions} sessions of history before), "
                  f"{replay.rebalances} rebalances, {replay.orders} orders")
    console.print(f"costs: commission {costs.commission_rate * 10_000:f} bps (min {costs.commission_min}), "
                  f"slippage {costs.slippage_bps} bps; capital {result.cash:,} deposited on {result.first_session}, "
                  "the session before the first rebalance (the record's base); final NAV "
                  f"{replay.final_nav:,.2f}" if replay.final_nav is not None else "no NAV recorded")
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
    for refusal in replay.refusals:
        console.print(f"refused by a safety rule: {refusal}")
    render_stats_table(result.stats, console)
    console.print(f"done in {seconds:.1f} s. The backtest workspace: trackrecord --home {result.root} stats | trades | "
                  "slippage | verify")


def _grid_axes(given: List[str], extra: List[str]) -> List[str]:
    """The grid's KEY=VALUES axes: each ``--grid`` and, after one, the words that follow it
    as issue 15 writes them (``--grid top_n=1..5 lookback_months=6,9,12``)."""
    for word in extra:
        if "=" not in word:
            raise UserError(f"unexpected argument {word!r}: backtest takes only options (see --help)")
        if not given:
            raise UserError(f"{word!r}: a grid axis needs --grid before it (--grid {word})")
    return [*given, *extra]


def register(app: typer.Typer) -> None:
    app.command("backtest", context_settings={"allow_extra_args": True})(backtest)
