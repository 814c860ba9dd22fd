"""``weekly-report``: one ISO week of the account on one or two A4 pages."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from trackrecord.cli import context
from trackrecord.cli.report_commands import refuse_replacing_other_file, show_verdict


def weekly_report(
    ctx: typer.Context,
    week: Optional[str] = typer.Option(None, "--week", metavar="YYYY-Www",
                                       help="ISO week, e.g. 2026-W05 (default: the last complete week; a backtest's: its last)"),
    account: Optional[str] = typer.Option(None, "--account", help="account id (default: the one `stats` shows)"),
    out: Optional[Path] = typer.Option(None, "--out", help="where to write the PDF (default reports/weekly/YYYY-Www.pdf)"),
    verify: Optional[Path] = typer.Option(None, "--verify", metavar="PDF",
                                          help="rebuild the weekly report PDF from the ledger and compare bytes"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Write the weekly report: week, month-to-date and year-to-date TWR vs the benchmark, positions,
    trades, risk events and the next rebalance session. `--verify PDF` rebuilds one and compares."""
    from trackrecord.bootstrap import record_calendar, wall_clock
    from trackrecord.engine.weekly_reporting import chosen_week, make_weekly_report, record_clock

    services = context.services(ctx)
    calendar = record_calendar(services)
    if verify is not None:
        _verify(services, calendar, verify, as_json)
        return
    refuse_replacing_other_file(out)
    chosen = chosen_week(calendar, week, record_clock(services, calendar, wall_clock()))
    made = make_weekly_report(services, calendar, chosen, account, out)
    if as_json:
        context.print_json(made.document())
        return
    recorded = f"recorded as report.generated seq {made.recorded_seq}" if made.recorded_seq else "already recorded"
    typer.echo(f"{made.label} weekly report {made.week.label} ({made.week.first} to {made.week.last}), account "
               f"{made.account}: {made.path} ({made.pages} page(s), sha256 {made.sha256[:16]}); built from ledger "
               f"seq {made.ledger_seq}, {recorded}")


def _verify(services: object, calendar: object, pdf: Path, as_json: bool) -> None:
    from trackrecord.engine.weekly_reporting import verify_weekly_report

    verdict = verify_weekly_report(services, calendar, pdf)  # type: ignore[arg-type]
    show_verdict(pdf, verdict, as_json, report="weekly report", period_key="week", pages="page(s)")


def register(app: typer.Typer) -> None:
    app.command("weekly-report")(weekly_report)
