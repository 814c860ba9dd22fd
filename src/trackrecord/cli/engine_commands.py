"""``execute``, ``daily``, ``pull``, ``snapshot`` and ``orders``: the engine's commands."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator, Optional

import typer

from trackrecord.brokers.base import BrokerError
from trackrecord.cli import context
from trackrecord.cli.analytics_commands import Column, print_fitted
from trackrecord.domain import Mode
from trackrecord.errors import RuntimeFailure, SafetyRefusal, TrackrecordError, UserError
from trackrecord.ledger.canonical import normalise
from trackrecord.ledger.parsing import parse_date

if TYPE_CHECKING:
    from trackrecord.services import Services

CONFIRM_WORD = "CONFIRM"


@contextmanager
def _broker_failures(advice: str) -> Iterator[None]:
    """A broker that is down, drops the connection or times out is a run-time failure
    (exit 1) with a clear message, never a traceback; a safety refusal raised by the
    broker adapter (e.g. the login does not manage the configured account) keeps exit 3."""

    try:
        yield
    except BrokerError as exc:
        if isinstance(exc, TrackrecordError):
            raise
        raise RuntimeFailure(f"{exc}; {advice}") from None


def _session_option(text: str | None, option: str = "--as-of") -> date | None:
    return None if text is None else parse_date(text, option)


def _confirm_live(document_of: Any) -> Any:
    """Show the plan and its risk decision, then ask for the typed word (before anything is sent)."""

    def confirm(report: Any) -> None:
        typer.echo(_render_report({**report.document(), "simulated": False}), err=True)
        typer.echo("About to send these LIVE orders to Interactive Brokers.", err=True)
        answer = sys.stdin.readline().strip() if not sys.stdin.isatty() else typer.prompt(
            f"Type {CONFIRM_WORD} to go on")
        if answer != CONFIRM_WORD:
            raise SafetyRefusal(f"live run not confirmed (expected {CONFIRM_WORD!r}): nothing was sent "
                                "(the plan and its risk decision are recorded)")

    return confirm


def execute(
    ctx: typer.Context,
    live: bool = typer.Option(False, "--live", help="send real orders through IBKR (needs mode: live; asks CONFIRM)"),
    yes: bool = typer.Option(False, "--yes", help="no confirmation of the live orders"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="session date YYYY-MM-DD (default: today)"),
    cash: Optional[str] = typer.Option(None, "--cash", help="dry run only: plan for an empty account with this cash"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Run the rebalance of a session: signal, plan, risk, and (paper/live) the orders."""
    from trackrecord.bootstrap import planning_context, record_calendar, run_context, wall_clock
    from trackrecord.engine.execution import execute_session, execution_mode
    from trackrecord.engine.planning import parse_cash
    from trackrecord.engine.sessions import exchange_today

    services = context.services(ctx)
    now = wall_clock()
    calendar = record_calendar(services)
    named = _session_option(as_of)
    today = exchange_today(calendar, now)
    mode = execution_mode(services.settings.mode, live, named, today)
    if not live and services.settings.mode is Mode.LIVE:
        typer.echo("mode is live in trackrecord.yaml, but live orders need --live: this run is a dry run", err=True)
    amount = parse_cash(cash) if cash is not None else None
    if amount is not None and mode is not Mode.DRY_RUN:
        raise UserError(f"--cash {cash}: only a dry run plans for an empty account; in {mode.value} mode the plan "
                        "starts from the account itself")
    run = planning_context(services, mode, calendar, amount) if mode is Mode.DRY_RUN else \
        run_context(services, mode, calendar)
    confirm = _confirm_live(None) if mode is Mode.LIVE and not yes else None
    try:
        with _broker_failures("rerun `trackrecord execute`: it finds what the broker already has before it "
                              "sends anything, so no order is sent twice"):
            outcome = execute_session(run, named or today, now, named is not None, confirm)
    finally:
        run.close()
    document = outcome.document()
    if outcome.report is None:
        missed = (f"; this month's rebalance ({outcome.missed_rebalance}) was not run for account {run.account_id}, "
                  f"which keeps its holdings until {outcome.next_rebalance}" if outcome.missed_rebalance else "")
        _emit(document, as_json, f"{outcome.session} is not a rebalance session (next: {outcome.next_rebalance})"
                                 f"{missed}; nothing to trade")
        return
    _emit(document, as_json, _render_report(document))
    if outcome.report.rejected:
        raise RuntimeFailure(f"the broker rejected {len(outcome.report.rejected)} order(s): "
                             f"{', '.join(outcome.report.rejected)} "
                             "(recorded in the ledger as rejected; a rerun does not send them again)")


def _render_report(document: dict[str, Any]) -> str:
    label = " (SIMULATED)" if document.get("simulated") else ""
    lines = [f"REBALANCE {document['session']} - mode {document['mode']}{label} - plan {document['plan_id']} "
             f"- risk {document['verdict']}" + (" (recorded plan reused)" if document["reused_plan"] else "")]
    for order in document["orders"]:
        price = f"filled @ {order['fill_price']}" if order.get("fill_price") else f"@ {order['intended_price']}"
        lines.append(f"  {order['side']:<4} {order['quantity']:>8} {order['symbol']:<6} {order['order_type']} "
                     f"{price} {order['currency']}  [{order['status']}]  {order['order_ref']}")
    if not document["orders"]:
        lines.append("  no orders: the portfolio is on target")
    if document["already_at_broker"]:
        lines.append(f"  already at the broker, not sent again: {', '.join(document['already_at_broker'])}")
    lines.extend(f"  risk: {m}" for m in document.get("denials", []))
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

    return run_context(services, services.settings.mode, calendar)


def daily(
    ctx: typer.Context,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="paper: the session to record (in session order)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The scheduled daily job after the close: update prices, gate them, pull, snapshot.

    A price source that fails, or gives bars it cannot store (a missing or broken CSV
    folder, closes that disagree with the stored history), does not stop the broker's side
    (executions and the snapshot come from the broker): the job records what it can, then exits 1. On a
    rebalance session whose signal the price gates block, it says so and exits 3.
    """
    from trackrecord.bootstrap import record_calendar, require_paper_record, wall_clock
    from trackrecord.engine.account import order_changes_summary
    from trackrecord.engine.execution import check_daily, run_daily
    from trackrecord.market.service import build_price_source, held_back_lines, update_prices

    services = context.services(ctx)
    if services.settings.mode is Mode.PAPER:  # refused before the prices are stored
        require_paper_record(services)
    now = wall_clock()
    named = _session_option(as_of)
    calendar = record_calendar(services)
    if named is not None:  # refused before anything is written, prices included
        check = _broker_context(services, calendar)
        try:
            check_daily(check, named, now)
        finally:
            check.close()
    source = build_price_source(services.settings, services.workspace.root, calendar)
    price_failure = None
    try:
        updated = update_prices(services.ledger, services.settings, source, calendar, now)
        for line in held_back_lines(updated.held_back, "stored"):
            typer.echo(f"warning: {line}", err=True)
        if updated.unsettled:
            typer.echo(f"warning: {updated.unsettled}", err=True)
    except (RuntimeFailure, UserError) as exc:
        price_failure = str(exc)
        typer.echo(f"warning: {price_failure}; going on with the broker's executions and snapshot", err=True)
    run = _broker_context(services, calendar)
    try:
        with _broker_failures("the prices are stored; rerun `trackrecord daily` once the broker answers"):
            outcome = run_daily(run, named, now)
    finally:
        run.close()
    report = outcome.report
    orders = order_changes_summary(report.orders_changed)
    _emit({**report.document(), "price_update_failure": price_failure,
           "blocked_rebalance": outcome.blocked_rebalance,
           "missed_rebalance": None if outcome.missed_rebalance is None else outcome.missed_rebalance.isoformat()},
          as_json,
          f"daily {report.session}: the session's price gates {'passed' if report.gates_passed else 'FAILED: ' + report.gate_message}, "
          f"{report.new_fills} new fill(s), {orders + ', ' if orders else ''}"
          f"snapshot {'written' if report.snapshot_written else 'unchanged'}"
          + (f", NAV {_money(report.nav)}" if report.nav else "")
          + (f"\nnote: {report.session} is this month's rebalance session and no rebalance was run for account "
             f"{run.account_id} (`trackrecord execute`, before the close); it keeps its holdings until "
             f"{calendar.next_rebalance_session(report.session + timedelta(days=1))}" if outcome.missed_rebalance
             else ""))
    if outcome.blocked_rebalance:
        raise SafetyRefusal(outcome.blocked_rebalance)
    if price_failure:
        raise RuntimeFailure(f"daily {report.session} is incomplete: {price_failure}")


MAX_PULL_DAYS = 36_500


def pull(ctx: typer.Context, since_days: int = typer.Option(7, "--days", min=1, help="look back this many days"),
         as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Record the broker's executions and where its orders now stand (idempotent: a
    repeated pull adds nothing)."""
    from trackrecord.bootstrap import wall_clock
    from trackrecord.engine.account import settle_with_broker

    if since_days > MAX_PULL_DAYS:
        raise UserError(f"--days {since_days}: expected at most {MAX_PULL_DAYS} (100 years)")
    services = context.services(ctx)
    run = _broker_context(services)
    try:
        with _broker_failures("nothing was recorded; rerun `trackrecord pull` once the broker answers"):
            with services.ledger.writer() as writer:
                settled = settle_with_broker(writer, run, wall_clock() - timedelta(days=since_days))
    finally:
        run.close()
    result, orders = settled.pulled, settled.orders.summary()  # an order shown nowhere was logged as a warning
    _emit(settled.document(), as_json,
          f"{result.new_fills} new fill(s), {result.completed_commissions} commission(s) completed, "
          f"{result.pending_commissions} pending, {result.repeated} already recorded" + (f"; {orders}" if orders else ""))


def snapshot(
    ctx: typer.Context,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="paper: the session to record (in session order)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Record the account's snapshot for the last completed session (paper: or --as-of SESSION)."""
    from trackrecord.bootstrap import wall_clock
    from trackrecord.engine.execution import take_snapshot

    services = context.services(ctx)
    named = _session_option(as_of)
    run = _broker_context(services)
    try:
        with _broker_failures("nothing was recorded; rerun `trackrecord snapshot` once the broker answers"):
            session, written, payload, settled = take_snapshot(run, named, wall_clock())
    finally:
        run.close()
    document = {"written": written, **normalise(payload), "recorded_first": settled.document()}
    for mark in payload.get("stale_marks", []):
        typer.echo(f"warning: {mark['symbol']} is valued at the broker's mark of {mark['price_date']}, older than "
                   f"the session {session}", err=True)
    undated = [p["symbol"] for p in payload["positions"] if not p.get("price_date")]
    if undated and services.settings.mode is Mode.LIVE:
        typer.echo(f"note: IB sends its marks undated: {', '.join(undated)} valued at IB's marks as sent; only a mark "
                   "equal to an earlier stored close while the session's close moved is dated (docs/ibkr.md)", err=True)
    label = "SIMULATED " if run.simulated else ("paper " if payload["is_paper"] else "")
    first = ", ".join(filter(None, (f"{settled.pulled.new_fills} new fill(s)" if settled.pulled.new_fills else "",
                                    settled.orders.summary())))
    _emit(document, as_json, f"{label}snapshot {payload['account_id']} {session}: NAV {_money(payload['nav'])} "
          f"{payload['base_currency']}, cash {_money(payload['cash'])}, {len(payload['positions'])} position(s)"
          + ("" if written else " (unchanged, nothing written)") + (f"; recorded first: {first}" if first else ""))


def orders(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON"),
           limit: int = typer.Option(50, "--limit", min=1)) -> None:
    """Orders the engine sent or intended, latest first, with their status and fill price."""
    from trackrecord.ledger.backtest_mark import backtest_of
    from trackrecord.ledger.queries import reading, recent_orders

    services = context.services(ctx)
    with reading(services.engine) as conn:
        rows = recent_orders(conn, limit)
        backtest = backtest_of(conn) is not None
    if as_json:
        context.print_json([r.document() for r in rows])
        return

    columns = (Column("Order ref", 4, False), Column("Mode", 2, False), Column("Side", 8, False), Column("Qty", 7),
               Column("Symbol", 9, False), Column("Type", 1, False), Column("Intended", 3), Column("Filled at", 6),
               Column("Status", 5, False))
    cells = [[r.order_ref, r.mode, r.side, str(r.quantity), r.symbol, r.order_type, str(r.intended_price),
              "" if r.fill_price is None else f"{r.fill_price.quantize(Decimal('0.0001'))}", r.status] for r in rows]
    title = "Orders (latest first)" + (" | SIMULATED | BACKTEST" if backtest else "")  # a backtest's are paper-mode
    print_fitted(context.console(), title, columns, cells)


def cancel(ctx: typer.Context, order_ref: str = typer.Argument(..., help="the order, as `trackrecord orders` shows it"),
           reason: str = typer.Argument(..., help="why (recorded with the cancellation)"),
           as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Cancel an open paper order (simulated broker), recorded with the reason: the way out
    of an order whose session's closing price will never be stored."""
    from trackrecord.engine.cancellation import cancel_order, refuse_unless_paper

    services = context.services(ctx)
    refuse_unless_paper(services.settings.mode, order_ref)
    run = _broker_context(services)
    try:
        cancelled = cancel_order(run, order_ref, reason)
    finally:
        run.close()
    _emit(cancelled.document(), as_json,
          f"cancelled {cancelled.order_ref} ({cancelled.side} {cancelled.quantity} {cancelled.symbol}, was "
          f"{cancelled.was}) at the SIMULATED broker; recorded as seq {cancelled.seq}: {cancelled.message}")


def register(app: typer.Typer) -> None:
    app.command("execute")(execute)
    app.command("daily")(daily)
    app.command("pull")(pull)
    app.command("snapshot")(snapshot)
    app.command("orders")(orders)
    app.command("cancel")(cancel)
