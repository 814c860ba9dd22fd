"""``execute``, ``daily``, ``pull``, ``snapshot`` and ``orders``: the engine's commands."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator, Optional

import typer

from trackrecord.cli import context

if TYPE_CHECKING:
    from trackrecord.bootstrap import Services
    from trackrecord.domain import Mode

CONFIRM_WORD = "CONFIRM"


@contextmanager
def _broker_failures(advice: str) -> Iterator[None]:
    """A broker that is down, drops the connection or times out is a run-time failure
    (exit 1) with a clear message, never a traceback; a safety refusal raised by the
    broker adapter (e.g. the login does not manage the configured account) keeps exit 3."""
    from trackrecord.brokers.base import BrokerError
    from trackrecord.errors import RuntimeFailure, TrackrecordError

    try:
        yield
    except BrokerError as exc:
        if isinstance(exc, TrackrecordError):
            raise
        raise RuntimeFailure(f"{exc}; {advice}") from None


def _mode(services: "Services", live: bool, yes: bool) -> "Mode":
    """Dry-run unless live is asked for explicitly; paper when the config says so."""
    from trackrecord.domain import Mode
    from trackrecord.errors import SafetyRefusal

    configured = services.settings.mode
    if not live:
        if configured is Mode.LIVE:
            typer.echo("mode is live in trackrecord.yaml, but live orders need --live: this run is a dry run",
                       err=True)
        return Mode.PAPER if configured is Mode.PAPER else Mode.DRY_RUN
    if yes and configured is Mode.LIVE:
        return Mode.LIVE
    typer.echo(f"About to send LIVE orders to Interactive Brokers (config mode: {configured.value}).", err=True)
    answer = sys.stdin.readline().strip() if not sys.stdin.isatty() else typer.prompt(f"Type {CONFIRM_WORD} to go on")
    if answer != CONFIRM_WORD:
        raise SafetyRefusal(f"live run not confirmed (expected {CONFIRM_WORD!r}): nothing was sent")
    return Mode.LIVE


def _as_of(text: str | None, now: datetime, calendar: Any) -> date:
    from trackrecord.ledger.parsing import parse_date

    if text is None:
        from zoneinfo import ZoneInfo

        return now.astimezone(ZoneInfo(calendar.timezone)).date()
    return parse_date(text, "--as-of")


def _decision_time(session: date, now: datetime, calendar: Any, as_of_given: bool) -> datetime:
    """Now for a run today; for a past session, an hour before its close."""
    close = calendar.close_time(session)
    return close - timedelta(hours=1) if as_of_given and now > close else now


def execute(
    ctx: typer.Context,
    live: bool = typer.Option(False, "--live", help="send real orders through IBKR (asks for CONFIRM)"),
    yes: bool = typer.Option(False, "--yes", help="no confirmation (only with mode: live in the config)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="session date YYYY-MM-DD (default: today)"),
    cash: Optional[str] = typer.Option(None, "--cash", help="dry run: plan for an empty account with this cash"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Run the rebalance of a session: signal, plan, risk, and (paper/live) the orders."""
    from trackrecord.bootstrap import run_context
    from trackrecord.engine.rebalance import rebalance, settle
    from trackrecord.market.decisions import parse_amount
    from trackrecord.market.service import calendar_for

    services = context.services(ctx)
    mode = _mode(services, live, yes)
    calendar = calendar_for(services.settings)
    now = datetime.now(timezone.utc)
    session = _as_of(as_of, now, calendar)
    if not calendar.is_session(session) or calendar.rebalance_session(session) != session:
        next_one = calendar.next_rebalance_session(session)
        _emit({"session": session.isoformat(), "rebalance": False, "next_rebalance": next_one.isoformat(),
               "mode": mode.value}, as_json,
              f"{session} is not a rebalance session (next: {next_one}); nothing to trade")
        return
    run = run_context(services, mode, calendar)
    decided_at = _decision_time(session, now, calendar, as_of is not None)
    if run.session_clock is not None:
        run.session_clock.start(decided_at)
    try:
        with _broker_failures("rerun `trackrecord execute`: it finds what the broker already has before it "
                              "sends anything, so no order is sent twice"):
            report = rebalance(run, session, decided_at, parse_amount(cash) if cash else None)
            if run.sends_orders and report.orders:
                # a past session is settled as of its own evening, not valued at today's prices
                after_close = calendar.close_time(session) + timedelta(minutes=30)
                settled_at = after_close if as_of and now > after_close else now
                report = settle(run, report, session, settled_at)
    finally:
        if run.broker is not None:
            run.broker.close()
    document = {**report.document(), "simulated": run.simulated, "rebalance": True}
    _emit(document, as_json, _render_report(document))
    if report.rejected:
        from trackrecord.errors import RuntimeFailure

        raise RuntimeFailure(f"the broker rejected {len(report.rejected)} order(s): {', '.join(report.rejected)} "
                             "(recorded in the ledger as rejected; a rerun does not send them again)")


def _render_report(document: dict[str, Any]) -> str:
    label = " (SIMULATED)" if document.get("simulated") else ""
    lines = [f"REBALANCE {document['session']} - mode {document['mode']}{label} - plan {document['plan_id']} "
             f"- risk {document['verdict']}" + (" (recorded plan reused)" if document["reused_plan"] else "")]
    for order in document["orders"]:
        lines.append(f"  {order['side']:<4} {order['quantity']:>8} {order['symbol']:<6} {order['order_type']} "
                     f"@ {order['intended_price']} {order['currency']}  [{order['status']}]  {order['order_ref']}")
    if not document["orders"]:
        lines.append("  no orders: the portfolio is on target")
    if document["already_at_broker"]:
        lines.append(f"  already at the broker, not sent again: {', '.join(document['already_at_broker'])}")
    lines.extend(f"  note: {m}" for m in document["messages"])
    if document["mode"] == "dry_run":
        lines.append("  dry run: nothing was sent (the plan is in the ledger, outside the track record)")
    return "\n".join(lines)


def _money(amount: Any) -> str:
    from decimal import Decimal

    return "n/a" if amount is None else f"{Decimal(str(amount)):,.2f}"


def _emit(document: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        context.print_json(document)
    else:
        typer.echo(text)


def _broker_context(services: "Services", calendar: Any = None) -> Any:
    from trackrecord.bootstrap import run_context
    from trackrecord.domain import Mode
    from trackrecord.errors import UserError

    mode = services.settings.mode
    if mode is Mode.DRY_RUN:
        raise UserError("mode is dry_run: there is no broker to read; set `mode: paper` or `mode: live` in "
                        "trackrecord.yaml")
    return run_context(services, mode, calendar)


def daily(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The scheduled daily job after the close: update prices, gate them, pull, snapshot.

    A price source that fails does not stop the broker's side (executions and the
    snapshot come from the broker): the job records what it can, then exits 1.
    """
    from trackrecord.engine.daily import close_of_day
    from trackrecord.errors import RuntimeFailure
    from trackrecord.market.service import build_price_source, calendar_for, last_completed_session, update_prices

    services = context.services(ctx)
    now = datetime.now(timezone.utc)
    calendar = calendar_for(services.settings)
    source = build_price_source(services.settings, services.workspace.root, calendar)
    price_failure = None
    try:
        update_prices(services.ledger, services.settings, source, calendar, now)
    except RuntimeFailure as exc:
        price_failure = str(exc)
        typer.echo(f"warning: {price_failure}; going on with the broker's executions and snapshot", err=True)
    session = last_completed_session(calendar, now)
    run = _broker_context(services, calendar)
    try:
        with _broker_failures("the prices are stored; rerun `trackrecord daily` once the broker answers"):
            if run.session_clock is not None:
                run.session_clock.close_session(session, calendar.close_time(session))
            report = close_of_day(run, session, (), now)
    finally:
        run.broker.close()
    _emit({**report.document(), "price_update_failure": price_failure}, as_json,
          f"daily {report.session}: gates {'passed' if report.gates_passed else 'FAILED: ' + report.gate_message}, "
          f"{report.new_fills} new fill(s), snapshot {'written' if report.snapshot_written else 'unchanged'}"
          + (f", NAV {_money(report.nav)}" if report.nav else ""))
    if price_failure:
        raise RuntimeFailure(f"daily {report.session} is incomplete: {price_failure}")


def pull(ctx: typer.Context, since_days: int = typer.Option(7, "--days", min=1, help="look back this many days"),
         as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Record the broker's executions (idempotent: a repeated pull adds nothing)."""
    from trackrecord.engine.account import pull_executions

    services = context.services(ctx)
    run = _broker_context(services)
    try:
        with _broker_failures("nothing was recorded; rerun `trackrecord pull` once the broker answers"):
            with services.ledger.writer() as writer:
                result = pull_executions(writer, run.broker,
                                         datetime.now(timezone.utc) - timedelta(days=since_days), run.simulated)
    finally:
        run.broker.close()
    _emit(result.document(), as_json,
          f"{result.new_fills} new fill(s), {result.completed_commissions} commission(s) completed, "
          f"{result.pending_commissions} pending, {result.repeated} already recorded")


def snapshot(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Record the account's snapshot for the last completed session."""
    from trackrecord.engine.account import record_snapshot
    from trackrecord.ledger.canonical import normalise
    from trackrecord.market.service import last_completed_session

    services = context.services(ctx)
    run = _broker_context(services)
    now = datetime.now(timezone.utc)
    session = last_completed_session(run.calendar, now)
    try:
        with _broker_failures("nothing was recorded; rerun `trackrecord snapshot` once the broker answers"):
            with services.ledger.writer() as writer:
                written, payload = record_snapshot(writer, run.broker, now, session, run.simulated,
                                                   run.mode.value)
    finally:
        run.broker.close()
    document = {"written": written, **normalise(payload)}
    label = "SIMULATED " if run.simulated else ("paper " if payload["is_paper"] else "")
    _emit(document, as_json, f"{label}snapshot {payload['account_id']} {session}: NAV {_money(payload['nav'])} "
          f"{payload['base_currency']}, cash {_money(payload['cash'])}, {len(payload['positions'])} position(s)"
          + ("" if written else " (unchanged, nothing written)"))


def orders(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON"),
           limit: int = typer.Option(50, "--limit", min=1)) -> None:
    """Orders the engine sent or intended, latest first, with their status."""
    from sqlalchemy import select

    from trackrecord.ledger.schema import orders as table

    services = context.services(ctx)
    with services.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(table).order_by(table.c.last_seq.desc()).limit(limit)).mappings()]
    if as_json:
        context.print_json(rows)
        return
    from rich.table import Table

    view = Table("Order ref", "Mode", "Side", "Qty", "Symbol", "Type", "Intended", "Status", box=None)
    for r in rows:
        view.add_row(r["order_ref"], r["mode"], r["side"], r["quantity"], r["symbol"], r["order_type"],
                     r["intended_price"], r["status"])
    context.console().print(view)


def register(app: typer.Typer) -> None:
    app.command("execute")(execute)
    app.command("daily")(daily)
    app.command("pull")(pull)
    app.command("snapshot")(snapshot)
    app.command("orders")(orders)
