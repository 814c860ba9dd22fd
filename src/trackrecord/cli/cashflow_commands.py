"""``cashflow add|list`` and ``import snapshots|cashflows|fills|seed``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import typer

from trackrecord.cli import context


def cashflow_add(
    ctx: typer.Context,
    flow_date: str = typer.Option(..., "--date", help="session date YYYY-MM-DD"),
    amount: str = typer.Option(..., "--amount", help="deposit > 0, withdrawal < 0"),
    currency: Optional[str] = typer.Option(None, "--currency", help="default: the base currency"),
    note: str = typer.Option("", "--note"),
) -> None:
    """Record a deposit or a withdrawal."""
    from trackrecord.domain import CashFlow, Mode
    from trackrecord.errors import UserError
    from trackrecord.ledger.cashflows import record_cashflow
    from trackrecord.ledger.parsing import parse_currency, parse_date, parse_decimal

    when = parse_date(flow_date, "--date")
    value = parse_decimal(amount, "--amount")
    if value == 0:
        raise UserError("--amount: a cash flow of zero records nothing; deposits are > 0, withdrawals < 0")
    services = context.services(ctx)
    code = parse_currency(currency, "--currency") if currency else services.settings.account.base_currency
    with services.ledger.writer() as writer:
        event = record_cashflow(writer, CashFlow(when, value, code, note))
    kind = "deposit" if value > 0 else "withdrawal"
    typer.echo(f"recorded {kind} of {value} {code} on {when} (seq {event.seq})")
    if services.settings.mode is Mode.PAPER:
        _book_at_simulated_broker(services, when, value)
        typer.echo(f"booked at the simulated paper account {services.settings.broker.sim.account_id} (SIMULATED)")


def _book_at_simulated_broker(services, when, value) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.bootstrap import simulated_broker
    from trackrecord.engine.account import book_paper_cashflow
    from trackrecord.market.service import calendar_for

    calendar = calendar_for(services.settings)
    broker, _ = simulated_broker(services, calendar)
    try:
        book_paper_cashflow(broker, when, value, calendar)
    finally:
        broker.close()


def cashflow_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List recorded cash flows."""
    from trackrecord.ledger.canonical import format_decimal
    from trackrecord.ledger.cashflows import list_cashflows

    flows = list_cashflows(context.services(ctx).engine)
    if as_json:
        context.print_json([{"date": f.flow_date.isoformat(), "amount": format_decimal(f.amount),
                             "currency": f.currency, "note": f.note} for f in flows])
        return
    from rich.table import Table

    table = Table("Date", "Amount", "Currency", "Note", box=None)
    for f in flows:
        table.add_row(f.flow_date.isoformat(), f"{f.amount:,.2f}", f.currency, f.note)
    context.console().print(table)
    typer.echo(f"{len(flows)} cash flow(s), net {sum((f.amount for f in flows), start=0):,.2f}")


def _report(report, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        context.print_json(report.document())
        return
    typer.echo(report.summary())
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")


def _import(ctx: typer.Context, parse: Callable[[Any, str], Any], as_json: bool) -> None:
    """Parse with ``parse(settings, default account)`` (every row validated first), then record."""
    from trackrecord.ledger.imports import outside_universe, record_import

    services = context.services(ctx)
    parsed = parse(services.settings, services.settings.account.account_id or "default")
    parsed.warnings += outside_universe(parsed, [i.symbol for i in services.settings.universe.instruments])
    _report(record_import(services.ledger, parsed), as_json)


def import_snapshots(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV with date,nav[,cash]"),
                     account: Optional[str] = typer.Option(None, "--account"),
                     as_json: bool = typer.Option(False, "--json")) -> None:
    """Import daily NAV snapshots."""
    from trackrecord.ledger.imports import parse_snapshots_csv

    _import(ctx, lambda s, default: parse_snapshots_csv(file, account or default, s.account.base_currency), as_json)


def import_cashflows(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV with date,amount[,currency,note,ref]"),
                     account: Optional[str] = typer.Option(None, "--account", help="default: the configured account"),
                     as_json: bool = typer.Option(False, "--json")) -> None:
    """Import deposits and withdrawals (two equal flows on one day need distinct refs)."""
    from trackrecord.ledger.imports import parse_cashflows_csv

    _import(ctx, lambda s, _default: parse_cashflows_csv(file, s.account.base_currency, account), as_json)


def import_fills(ctx: typer.Context, file: Path = typer.Argument(..., help="executions CSV"),
                 account: Optional[str] = typer.Option(None, "--account"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Import executions (trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,...)."""
    from trackrecord.ledger.imports import parse_fills_csv

    _import(ctx, lambda s, default: parse_fills_csv(file, account or default, s.account.base_currency), as_json)


def import_seed(ctx: typer.Context, folder: Path = typer.Argument(..., help="the older tool's data folder"),
                account: Optional[str] = typer.Option(None, "--account"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Migrate the older file-based tool's executions/ and snapshots/."""
    from trackrecord.ledger.imports import parse_seed_folder

    _import(ctx, lambda s, default: parse_seed_folder(folder, account or default, s.account.base_currency), as_json)


def register(app: typer.Typer) -> None:
    cashflow_app = typer.Typer(help="Deposits and withdrawals.", no_args_is_help=True)
    cashflow_app.command("add")(cashflow_add)
    cashflow_app.command("list")(cashflow_list)
    app.add_typer(cashflow_app, name="cashflow")
    import_app = typer.Typer(help="Import data into the ledger (idempotent).", no_args_is_help=True)
    import_app.command("snapshots")(import_snapshots)
    import_app.command("cashflows")(import_cashflows)
    import_app.command("fills")(import_fills)
    import_app.command("seed")(import_seed)
    app.add_typer(import_app, name="import")
