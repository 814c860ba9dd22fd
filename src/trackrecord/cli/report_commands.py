"""``report``: the monthly PDF a recruiter reads, and ``report verify`` to rebuild and compare it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from trackrecord.cli import context

if TYPE_CHECKING:
    from trackrecord.engine.reporting import ReportVerdict


def report(
    ctx: typer.Context,
    period: str = typer.Argument(..., metavar="YYYY-MM", help="the month, e.g. 2026-01 (or `verify PDF`)"),
    pdf: Optional[Path] = typer.Argument(None, metavar="[PDF]", help="with `verify`: the report to check"),
    account: Optional[str] = typer.Option(None, "--account", help="account id (default: the configured one, else the one with most snapshots)"),
    out: Optional[Path] = typer.Option(None, "--out", help="where to write the PDF (default reports/monthly/YYYY-MM.pdf)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Write the monthly report YYYY-MM (A4 PDF); `report verify PDF` rebuilds one and compares bytes."""
    if period == "verify":
        if pdf is None:
            raise typer.BadParameter("give the report to check: trackrecord report verify PDF", param_hint="PDF")
        _verify(ctx, pdf, as_json)
        return
    if pdf is not None:
        raise typer.BadParameter(f"unexpected extra argument {pdf}", param_hint="PDF")
    from trackrecord.engine.reporting import make_monthly_report

    refuse_replacing_other_file(out)
    made = make_monthly_report(context.services(ctx), period, account, out)
    if as_json:
        context.print_json(made.document())
        return
    recorded = f"recorded as report.generated seq {made.recorded_seq}" if made.recorded_seq else "already recorded"
    typer.echo(f"{made.label} monthly report {made.period}, account {made.account}: {made.path} "
               f"({made.pages} pages, sha256 {made.sha256[:16]}); built from ledger seq {made.ledger_seq}, {recorded}")


def _verify(ctx: typer.Context, pdf: Path, as_json: bool) -> None:
    from trackrecord.engine.reporting import verify_report

    show_verdict(pdf, verify_report(context.services(ctx), pdf), as_json, report="report", period_key="period",
                 pages="pages")


def refuse_replacing_other_file(out: Optional[Path]) -> None:
    """``--out`` replaces only an earlier trackrecord report: ``report 2026-09 --out
    trackrecord.db`` used to write the PDF over the ledger (``SafetyRefusal``, exit 3)."""
    from trackrecord.errors import SafetyRefusal

    if out is None or not out.is_file():
        return
    try:
        data = out.read_bytes()
    except OSError:
        data = b""
    if data.startswith(b"%PDF-") and (b"trackrecord-report:v1:" in data or b"trackrecord-weekly:v1:" in data):
        return
    raise SafetyRefusal(f"--out {out} exists and is not a trackrecord report: not replaced; give a new path, "
                        "or move that file away first")


def show_verdict(pdf: Path, verdict: "ReportVerdict", as_json: bool, *, report: str, period_key: str,
                 pages: str) -> None:
    """Print ``verify``'s verdict on ``pdf`` (``report`` names its kind in the sentence,
    ``period_key`` its period in the JSON); exit 1 when the bytes differ."""
    if as_json:
        context.print_json({"path": str(pdf), "equal": verdict.equal, period_key: verdict.period,
                            "account": verdict.account, "ledger_seq": verdict.ledger_seq,
                            "first_differing_page": verdict.first_differing_page, "problem": verdict.problem or None})
    elif verdict.equal:
        typer.echo(f"{pdf}: identical to the {report} {verdict.period} of account {verdict.account} rebuilt from "
                   f"ledger seq {verdict.ledger_seq} ({verdict.pages} {pages})")
    else:
        where = verdict.problem or (f"first differing page {verdict.first_differing_page}"
                                    if verdict.first_differing_page else "the pages could not be compared one by one")
        typer.echo(f"{pdf}: DIFFERS from the {report} {verdict.period} of account {verdict.account} rebuilt from "
                   f"ledger seq {verdict.ledger_seq}: {where}")
    if not verdict.equal:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
