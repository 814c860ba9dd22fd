"""``reconcile FLEX.xml`` and ``flex fetch``: the ledger against IBKR's own statements."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Optional
from zoneinfo import ZoneInfo

import typer

from trackrecord.cli import context
from trackrecord.errors import UserError
from trackrecord.ledger.parsing import parse_decimal
from trackrecord.user_files import refuse_special_file

if TYPE_CHECKING:
    from datetime import date

    from trackrecord.bootstrap import Services
    from trackrecord.reconcile.matching import Tolerance
    from trackrecord.reconcile.service import ReconcileOutcome

# The use cases pull in ibflex, SQLAlchemy and the calendar: imported where a command runs.

TOLERANCE_HELP = "largest difference in money (NAV, commission, flows) that is not a break"


def reconcile(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="an IBKR Activity Flex statement (XML)"),
    account: Optional[str] = typer.Option(None, "--account", help="the statement's account, when the file holds several"),
    import_cashflows: bool = typer.Option(False, "--import-cashflows",
                                          help="record the deposits and withdrawals the ledger lacks"),
    tolerance: str = typer.Option("0.01", "--tolerance", help=TOLERANCE_HELP),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Compare the ledger with an IBKR Flex statement: fills, flows, NAV, positions. Exit 1 on a break."""
    from trackrecord.reconcile.service import ReconcileRequest, reconcile_statement

    request = ReconcileRequest(_read(file), str(file), account.strip() if account and account.strip() else None,
                               import_cashflows, _tolerance(tolerance))
    services = context.services(ctx)
    outcome = reconcile_statement(services, request, _today(services))
    _show(outcome, as_json)


def flex_fetch(
    ctx: typer.Context,
    tolerance: str = typer.Option("0.01", "--tolerance", help=TOLERANCE_HELP),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Download the configured Flex query (flex.query_id, TRACKRECORD_FLEX_TOKEN) and reconcile it."""
    import os
    import time

    from trackrecord.reconcile.service import fetch_and_reconcile

    tolerances = _tolerance(tolerance)
    services = context.services(ctx)
    fetched, outcome = fetch_and_reconcile(services, os.environ, _today(services), tolerances, time.sleep)
    if not as_json:
        typer.echo(f"downloaded Flex query {services.settings.flex.query_id} (reference {fetched.reference_code}, "
                   f"{fetched.requests} request(s), {fetched.waited_seconds:.0f} s waited)")
    _show(outcome, as_json, {"reference_code": fetched.reference_code, "requests": fetched.requests,
                             "waited_seconds": fetched.waited_seconds})


def _read(file: Path) -> bytes:
    refuse_special_file(file, str(file), "an IBKR Flex statement (XML)")
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{file}: is a folder, expected an IBKR Flex statement (XML)") from None
    except OSError as exc:
        raise UserError(f"{file}: cannot read it ({exc.strerror})") from None


def _tolerance(text: str) -> "Tolerance":
    from trackrecord.reconcile.matching import Tolerance

    amount = parse_decimal(text, "--tolerance")
    if amount < 0:
        raise UserError(f"--tolerance {text}: expected an amount >= 0, e.g. 0.01")
    return Tolerance(amount=Decimal(amount))


def _today(services: "Services") -> "date":
    from trackrecord.bootstrap import record_calendar

    zone = ZoneInfo(record_calendar(services).timezone)
    return services.ledger.clock().astimezone(zone).date()


def _show(outcome: "ReconcileOutcome", as_json: bool, extra: dict[str, object] | None = None) -> None:
    if as_json:
        document = outcome.document()
        if extra:
            document["fetch"] = extra
        context.print_json(document)
    else:
        _print_report(outcome)
    if not outcome.result.ok:
        if as_json:  # stdout holds the document; a script or the scheduler sees why it exited 1
            breaks = outcome.result.breaks
            typer.echo(f"{len(breaks)} break(s) with the statement (seq {outcome.seq}); first: "
                       f"{breaks[0].message}", err=True)
        raise typer.Exit(1)


def _print_report(outcome: "ReconcileOutcome") -> None:
    statement, result = outcome.statement, outcome.result
    from trackrecord.domain import is_paper_account

    label = (" | SIMULATED ledger" if outcome.simulated else "") + \
        (" | IB paper account" if is_paper_account(statement.account_id) else "")
    typer.echo(f"reconciled {outcome.saved_as} (sha256 {outcome.sha256[:16]}) of account {statement.account_id}, "
               f"{statement.from_date} .. {statement.to_date}{label}")
    names = {"fills": "fills", "cashflows": "deposits/withdrawals", "navs": "NAV days", "positions": "positions"}
    compared = [f"{names[k]} {result.matched.get(k, 0)}/{n} matched" for k, n in result.compared.items()]
    typer.echo("  " + ("; ".join(compared) if compared else "nothing to compare: the statement has no trades, "
                                                                "cash transactions, NAV or positions"))
    if result.fx_conversions:
        typer.echo(f"  {result.fx_conversions} currency conversion(s) at the broker, not compared (the ledger records "
                   "no FX trade)")
    if result.checks:
        typer.echo(f"  the statement's own totals hold: {', '.join(result.checks)}")
    for line in result.income_and_costs:
        kind = "income" if line.total > 0 else "cost"
        typer.echo(f"  {kind} (not an external flow): {line.type_text} {line.total:+,} {line.currency} "
                   f"({line.rows} row(s))")
    for flow in outcome.imported:
        typer.echo(f"  recorded {flow.flow.amount} {flow.flow.currency} on {flow.flow.flow_date} (seq {flow.seq}): "
                   f"{flow.flow.note}")
    for warning in outcome.warnings:
        typer.echo(f"  warning: {warning}")
    tolerance = outcome.tolerance
    typer.echo(f"  tolerance: {tolerance.amount} in money, {tolerance.price_relative} of a price, flow dates within "
               f"{tolerance.flow_days} days")
    where = f"recorded as seq {outcome.seq}" if outcome.recorded else \
        f"the same result as the reconciliation at seq {outcome.seq}: nothing new recorded"
    if result.ok:
        typer.echo(f"0 breaks: the ledger agrees with the statement ({where})")
        return
    typer.echo(f"{len(result.breaks)} break(s) ({where}):")
    for found in result.breaks:
        typer.echo(f"  {found.area.value} {found.kind.value.replace('_', ' ')}: {found.message}")


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile)
    flex_app = typer.Typer(help="IBKR Flex statements through the Flex Web Service.", no_args_is_help=True)
    flex_app.command("fetch")(flex_fetch)
    app.add_typer(flex_app, name="flex")
