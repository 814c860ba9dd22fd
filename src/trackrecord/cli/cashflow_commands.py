"""``cashflow add|list|void`` and ``import snapshots|cashflows|fills|seed``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer

from trackrecord.cli import context
from trackrecord.domain import Mode
from trackrecord.ledger.parsing import parse_currency, parse_date, parse_decimal

if TYPE_CHECKING:
    from trackrecord.market.calendar import ExchangeCalendar
    from trackrecord.services import Services

# The use cases below pull in SQLAlchemy and the calendar (numpy): imported where a command
# runs, so that `trackrecord --help` and every other command start fast.


def cashflow_add(
    ctx: typer.Context,
    flow_date: str = typer.Option(..., "--date", help="date YYYY-MM-DD (a non-session date is booked on the next session)"),
    amount: str = typer.Option(..., "--amount", help="deposit > 0, withdrawal < 0"),
    currency: Optional[str] = typer.Option(None, "--currency", help="default: the base currency"),
    note: str = typer.Option("", "--note"),
    account: Optional[str] = typer.Option(None, "--account", help="default: the configured account"),
    again: bool = typer.Option(False, "--again", help="record a second, real flow identical to one recorded today"),
) -> None:
    """Record a deposit or a withdrawal."""
    from trackrecord.engine.cashflows import CashFlowRequest, record_cashflow
    from trackrecord.bootstrap import record_calendar

    services = context.services(ctx)
    settings = services.settings
    calendar = record_calendar(services)
    request = CashFlowRequest(
        parse_date(flow_date, "--date"), parse_decimal(amount, "--amount"),
        parse_currency(currency, "--currency") if currency else settings.account.base_currency, note,
        account.strip() if account and account.strip() else None, again,
    )
    today = calendar.date_at(services.ledger.clock())
    recorded = record_cashflow(services.ledger, services.engine, settings, calendar, request, today,
                               lambda: _paper_cash(services, calendar), currency_named="--currency")
    flow = recorded.flow
    kind = "deposit" if flow.amount > 0 else "withdrawal"
    typer.echo(f"recorded {kind} of {flow.amount} {flow.currency} on {flow.flow_date} for account "
               f"{recorded.account_id} (seq {recorded.seq})")
    if recorded.moved_to_next_session:
        typer.echo(f"{recorded.date_given} is not a {calendar.code} session: booked on the next session, {flow.flow_date}")
    if recorded.simulated_account:
        typer.echo(f"the simulated paper account {recorded.simulated_account} books it from the ledger (SIMULATED)")
    for warning in recorded.warnings:
        typer.echo(f"warning: {warning.message()}", err=True)


def _paper_cash(services: "Services", calendar: "ExchangeCalendar") -> Decimal:
    """The simulated account's cash once it has booked every recorded flow (it needs no prices)."""
    from trackrecord.bootstrap import simulated_broker
    from trackrecord.brokers.sim import PriceTape

    broker, _ = simulated_broker(services, calendar, PriceTape())
    try:
        return broker.cash
    finally:
        broker.close()


def cashflow_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON"),
                  account: Optional[str] = typer.Option(None, "--account", help="only this account's flows")) -> None:
    """List recorded cash flows (voided ones marked; they count in no figure)."""
    from rich.table import Table

    from trackrecord.engine.cashflows import configured_account_id
    from trackrecord.ledger.cashflows import recorded_cashflows

    services = context.services(ctx)
    default = configured_account_id(services.settings)
    if account is not None:
        _refuse_unknown_account(services, account, default)
    flows = recorded_cashflows(services.engine, account, default)
    if as_json:
        context.print_json([f.document(default) for f in flows])
        return
    table = Table("Seq", "Date", "Account", "Amount", "Currency", "Note", "Status", box=None)
    for f in flows:
        status = f"voided (seq {f.voided_by})" if f.voided else ""
        if f.date_given is not None:
            status = f"given {f.date_given}" + (f"; {status}" if status else "")
        table.add_row(str(f.seq), f.flow.flow_date.isoformat(), f.account_id or default, f"{f.flow.amount:,.2f}",
                      f.flow.currency, f.flow.note, status)
    context.console().print(table)
    counted = [f.flow for f in flows if not f.voided]
    voided = len(flows) - len(counted)
    nets: dict[str, Decimal] = {}
    for flow in counted:  # one net per currency: 100 CHF and 100 USD are not 200 of anything
        nets[flow.currency] = nets.get(flow.currency, Decimal(0)) + flow.amount
    net = ", ".join(f"{amount:,.2f} {currency}" for currency, amount in sorted(nets.items())) or "0.00"
    typer.echo(f"{len(counted)} cash flow(s), net {net}" + (f"; {voided} voided" if voided else ""))


def _refuse_unknown_account(services: "Services", account: str, default: str) -> None:
    from trackrecord.errors import UserError
    from trackrecord.ledger.queries import reading
    from trackrecord.ledger.reconciliation import ledger_accounts

    with reading(services.engine) as conn:
        known = ledger_accounts(conn) | {default}
    if account not in known:
        raise UserError(f"--account {account}: the ledger holds nothing of it; accounts: {', '.join(sorted(known))}")


def cashflow_void(ctx: typer.Context, seq: int = typer.Argument(..., help="the flow's seq, as `cashflow list` shows it"),
                  reason: str = typer.Option(..., "--reason", help="why the flow is voided")) -> None:
    """Void a recorded flow: a correction event; the flow stays in the record and counts in no figure."""
    from trackrecord.engine.cashflows import simulated_account, void_cashflow

    from trackrecord.bootstrap import record_calendar

    services = context.services(ctx)
    voided = void_cashflow(services.ledger, seq, reason, simulated_account(services.settings),
                           lambda: _paper_cash(services, record_calendar(services)), services.settings)
    flow = voided.flow
    typer.echo(f"voided the flow at seq {seq} ({flow.amount} {flow.currency} on {flow.flow_date}): {reason.strip()}")


def _report(report, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        context.print_json(report.document())
        return
    typer.echo(report.summary())
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")


def _import(ctx: typer.Context, parse: Callable[[Any, str], Any], as_json: bool,
            record: Callable[[Any, Any, str], Any] | None = None) -> None:
    """Parse with ``parse(services, default account)`` (every row validated first), then record
    (with ``record(services, parsed, default account)`` if given)."""
    from trackrecord.engine.cashflows import configured_account_id
    from trackrecord.ledger.imports import outside_universe, record_import

    services = context.services(ctx)
    default = configured_account_id(services.settings)
    parsed = parse(services, default)
    _refuse_future_records(parsed, _exchange_today(services))
    parsed.warnings += outside_universe(parsed, [i.symbol for i in services.settings.universe.instruments])
    if record is None:
        _report(record_import(services.ledger, parsed, default), as_json)
    else:
        _report(record(services, parsed, default), as_json)


def _exchange_today(services: Any) -> Any:
    from trackrecord.bootstrap import record_calendar, wall_clock

    return record_calendar(services).date_at(wall_clock())


def _refuse_future_records(parsed: Any, today: Any) -> None:
    """A snapshot or a fill dated after today is not a record of anything yet (`cashflow add`
    and the flows' import refuse the same): exit 2 before anything is written."""
    from trackrecord.errors import UserError

    for snapshot in parsed.snapshots:
        day = str(snapshot["session_date"])[:10]
        if day > today.isoformat():
            source = str(snapshot.get("source") or "snapshots").removeprefix("import:")
            raise UserError(f"{source}: the snapshot of {day} is in the future (today is {today}); a snapshot "
                            "records a session that has closed")
    for fill in parsed.fills:
        day = str(fill["executed_at"])[:10]
        if day > today.isoformat():
            raise UserError(f"{str(fill.get('source', '')).removeprefix('import:') or 'fills'}: fill "
                            f"{fill['exec_id']} executed on {day} is in the future (today is {today})")


def _flow_booking(services: Any) -> Any:
    """Imported flows are booked as `cashflow add` books them: on a session, never in the future."""
    from trackrecord.ledger.imports import FlowBooking
    from trackrecord.bootstrap import record_calendar

    calendar = record_calendar(services)
    today = calendar.date_at(services.ledger.clock())
    return FlowBooking(lambda day: next(iter(calendar.next_sessions(day, 1)), None), today)


def import_snapshots(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV with date,nav[,cash]"),
                     account: Optional[str] = typer.Option(None, "--account"),
                     as_json: bool = typer.Option(False, "--json")) -> None:
    """Import daily NAV snapshots."""
    from trackrecord.ledger.imports import parse_snapshots_csv

    _import(ctx, lambda s, default: parse_snapshots_csv(file, account or default, s.settings.account.base_currency),
            as_json)


def import_cashflows(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV with date,amount[,currency,note,ref]"),
                     account: Optional[str] = typer.Option(None, "--account", help="default: the configured account"),
                     as_json: bool = typer.Option(False, "--json")) -> None:
    """Import deposits and withdrawals (two equal flows on one day need distinct refs)."""
    from trackrecord.ledger.imports import parse_cashflows_csv

    def parse(services: Any, default: str) -> Any:
        # A flow imported without --account is the default account's (the one `stats` shows);
        # in paper mode that is the simulated account, which books only flows that name it.
        owner = account or (default if services.settings.mode is Mode.PAPER else None)
        return parse_cashflows_csv(file, services.settings.account.base_currency, owner, _flow_booking(services))

    def record(services: Any, parsed: Any, default: str) -> Any:
        # in paper mode a withdrawal may take at most the simulated account's cash, as in `cashflow add`
        from trackrecord.engine.cashflows import record_imported_cashflows
        from trackrecord.bootstrap import record_calendar

        return record_imported_cashflows(services.ledger, parsed, services.settings, default,
                                         lambda: _paper_cash(services, record_calendar(services)))

    _import(ctx, parse, as_json, record)


def import_fills(ctx: typer.Context, file: Path = typer.Argument(..., help="executions CSV"),
                 account: Optional[str] = typer.Option(None, "--account"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Import executions (trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,...)."""
    from trackrecord.ledger.imports import parse_fills_csv

    _import(ctx, lambda s, default: parse_fills_csv(file, account or default, s.settings.account.base_currency), as_json)


def import_seed(ctx: typer.Context, folder: Path = typer.Argument(..., help="the older tool's data folder"),
                account: Optional[str] = typer.Option(None, "--account"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Migrate the older file-based tool's executions/ and snapshots/."""
    from trackrecord.ledger.imports import parse_seed_folder

    _import(ctx, lambda s, default: parse_seed_folder(folder, account or default, s.settings.account.base_currency), as_json)


def register(app: typer.Typer) -> None:
    cashflow_app = typer.Typer(help="Deposits and withdrawals.", no_args_is_help=True)
    cashflow_app.command("add")(cashflow_add)
    cashflow_app.command("list")(cashflow_list)
    cashflow_app.command("void")(cashflow_void)
    app.add_typer(cashflow_app, name="cashflow")
    import_app = typer.Typer(help="Import data into the ledger (idempotent).", no_args_is_help=True)
    import_app.command("snapshots")(import_snapshots)
    import_app.command("cashflows")(import_cashflows)
    import_app.command("fills")(import_fills)
    import_app.command("seed")(import_seed)
    app.add_typer(import_app, name="import")
