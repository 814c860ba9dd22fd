"""``trackrecord demo``: the main job on the embedded default, clearly SIMULATED."""

from __future__ import annotations

from pathlib import Path

import typer

from trackrecord.cli import context
from trackrecord.cli.analytics_commands import render_stats_table


def demo(
    ctx: typer.Context,
    directory: Path = typer.Argument(Path("demo"), help="folder of the demo workspace (must not exist yet, or be one a killed demo left)"),
    years: int = typer.Option(3, "--years", min=1, max=30, help="years of sessions to replay"),
    seed: int = typer.Option(7, "--seed", min=0, help="seed of the synthetic market"),
) -> None:
    """Create a SIMULATED workspace, replay N years of the daily pipeline, show stats, verify."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from trackrecord.bootstrap import connect, demo_workspace, wall_clock
    from trackrecord.engine.demo import run_demo
    from trackrecord.engine.performance import performance_stats
    from trackrecord.ledger.operations import verify_ledger
    from trackrecord.workspace import open_workspace

    console = context.console()
    started = time.perf_counter()
    now = wall_clock()  # TRACKRECORD_NOW fixes it, as for every command
    console.print(f"[bold]SIMULATED demo[/bold]: synthetic market (seed {seed}), simulated broker, SQLite in {directory}")
    with Progress(TextColumn("replaying sessions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("sessions", total=None)
        result = run_demo(directory, years, seed, now.date(), now, demo_workspace,
                          lambda done, total: bar.update(task, completed=done, total=total))
    replay = result.replay
    if result.replaced_unfinished:
        console.print(f"replaced the unfinished demo a killed run had left in {result.root}")
    console.print(f"replayed {replay.sessions} sessions {replay.first_session} .. {replay.last_session}: "
                  f"{replay.rebalances} rebalances, {replay.orders} orders, final NAV {replay.final_nav:,.2f} GBP")
    for refusal in replay.refusals:
        console.print(f"refused by a safety rule: {refusal}")
    services = connect(open_workspace(result.root))
    try:
        render_stats_table(performance_stats(services, None, None, None), console)
        verdict = verify_ledger(services.ledger, services.workspace.public_key_path)
    finally:
        services.close()
    if not verdict.ok:
        console.print(f"ledger BROKEN at seq {verdict.first_bad_seq}: {verdict.problems[0]}")
        raise typer.Exit(1)
    console.print(f"ledger OK: {verdict.events} events, head {verdict.head_hash[:16]}, "
                  f"{verdict.checkpoints} signed checkpoint(s), projections match")
    console.print(f"done in {time.perf_counter() - started:.1f} s. Explore it: trackrecord --home {result.root} stats")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
