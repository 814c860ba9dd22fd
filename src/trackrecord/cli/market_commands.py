"""``calendar``, ``prices update|import|show``, ``signal`` and ``rebalance``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from trackrecord.cli import context
from trackrecord.domain import Mode, is_simulated
from trackrecord.errors import UserError
from trackrecord.ledger.canonical import normalise

if TYPE_CHECKING:
    from trackrecord.market.calendar import ExchangeCalendar
    from trackrecord.services import Services

SIMULATED_BANNER = "SIMULATED: synthetic prices, not a real market"


def _now() -> datetime:
    from trackrecord.bootstrap import wall_clock

    return wall_clock()


def _parse_as_of(text: Optional[str], calendar: "ExchangeCalendar", today: date) -> date:
    if text is None:
        return today
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of {text!r}: expected a date YYYY-MM-DD") from None
    if day > today:
        raise UserError(f"--as-of {day} is in the future (today is {today})")
    if not calendar.first_session < day <= calendar.last_session:
        raise UserError(f"--as-of {day} is outside the {calendar.code} calendar "
                        f"({calendar.first_session} .. {calendar.last_session})")
    return day


def _refuse_today_on_a_backtest(services: "Services", command: str) -> None:
    """A backtest ended with its replay: today's signal or rebalance has no prices there (the
    gate failed with "prices update / prices import", which its workspace refuses)."""
    from trackrecord.ledger.backtest_mark import backtest_of
    from trackrecord.ledger.queries import reading

    with reading(services.engine) as conn:
        mark = backtest_of(conn)
    if mark is not None:
        ends = mark.get("to")
        raise UserError(f"{services.workspace.root} is a BACKTEST workspace: its prices end with its replay on {ends}, "
                        f"so there is no `{command}` of today there; ask it of one of its sessions with --as-of "
                        f"(e.g. `{command} --as-of {ends}`), or run `{command}` on the live workspace")


def calendar_command(
    ctx: typer.Context,
    count: int = typer.Option(5, "--count", help="how many sessions to show"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Show the next exchange sessions, their closing-auction times and the next rebalance session."""
    from datetime import timedelta

    from trackrecord.market.calendar import open_calendar

    settings = context.workspace(ctx).settings
    now = _now()
    calendar = open_calendar(settings.universe.calendar, start=date(now.year - 1, 1, 1))
    today = calendar.date_at(now)
    sessions = calendar.next_sessions(today, max(count, 1))
    rebalance = calendar.next_rebalance_session(today)
    holidays = calendar.holidays(today, today + timedelta(days=90))
    document = {
        "calendar": calendar.code, "timezone": calendar.timezone, "today": today.isoformat(),
        "is_session_today": calendar.is_session(today),
        "next_sessions": [{"date": s.isoformat(), "close": calendar.local_close(s).isoformat(),
                           "close_utc": calendar.close_time(s).isoformat().replace("+00:00", "Z")}
                          for s in sessions],
        "next_rebalance_session": rebalance.isoformat(),
        "next_rebalance_close": calendar.local_close(rebalance).isoformat(),
        "holidays_next_90_days": [h.isoformat() for h in holidays],
    }
    if as_json:
        context.print_json(document)
        return
    typer.echo(f"{calendar.code} ({calendar.timezone}) - today {today}"
               f"{' is a session' if document['is_session_today'] else ' is not a session'}")
    typer.echo("Next sessions (closing auction, local time):")
    for s in sessions:
        typer.echo(f"  {s:%a %Y-%m-%d}  close {calendar.local_close(s):%H:%M}")
    typer.echo(f"Next rebalance session: {rebalance:%a %Y-%m-%d} (first session of the month)")
    if holidays:
        typer.echo("Holidays in the next 90 days: " + ", ".join(h.isoformat() for h in holidays))


def prices_update(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Fetch new daily bars from the configured source (incremental) and store them."""
    from trackrecord.bootstrap import record_calendar
    from trackrecord.market.service import build_price_source, held_back_lines, update_prices

    services = context.services(ctx)
    settings = services.settings
    calendar = record_calendar(services)
    source = build_price_source(settings, services.workspace.root, calendar)
    result = update_prices(services.ledger, settings, source, calendar, _now())
    document = {
        "source": result.source, "rows": result.rows, "seq": result.seq, "refetched": list(result.refetched),
        "symbols": [{"symbol": s, "rows": n, "first": _iso(f), "last": _iso(last)}
                    for s, (n, f, last) in result.symbols.items()],
        "simulated": result.simulated, "held_back": [normalise(h.document()) for h in result.held_back],
        "no_file": {symbol: str(path) for symbol, path in result.no_file.items()}, "unsettled": result.unsettled,
    }
    if as_json:
        context.print_json(document)
        return
    if result.simulated:
        typer.echo(SIMULATED_BANNER)
    typer.echo(f"prices update from {result.source}: {result.rows} bars stored (ledger seq {result.seq})")
    for s, (n, first, last) in result.symbols.items():
        lacking = result.no_file.get(s)
        typer.echo(f"  {s:<8} {n:>6} bars" + (f"  {first} .. {last}" if n else
                                              f"  (no file {lacking.name})" if lacking else "  (nothing new)"))
    if result.no_file:
        folder = next(iter(result.no_file.values())).parent
        typer.echo(f"warning: {folder} has no file for {', '.join(result.no_file)} (expected "
                   f"{', '.join(p.name for p in result.no_file.values())}): no new bars for them", err=True)
    for line in held_back_lines(result.held_back, "stored"):
        typer.echo(line)
    if result.unsettled:
        typer.echo(f"note: {result.unsettled}")
    for symbol in result.refetched:
        typer.echo(f"  {symbol}: adjusted history changed at the source (dividend or split): refetched in full")


def prices_import(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="folder of <SYMBOL>.csv files"),
    replace: bool = typer.Option(False, "--replace", help="let the files correct stored bars (recorded as prices.corrected)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Import <SYMBOL>.csv files (Yahoo, lower-case or adjusted-only layouts) for the universe and the benchmarks."""
    from trackrecord.market.service import held_back_lines, import_prices

    services = context.services(ctx)
    result = import_prices(services.ledger, services.settings, folder, _now(), replace=replace)
    document = {
        "folder": str(result.folder), "imported": result.imported, "already_imported": list(result.already),
        "corrected": [normalise(c.document()) for c in result.corrected], "benchmarks": list(result.benchmarks),
        "missing": list(result.missing), "ignored": list(result.ignored), "seq": result.seq, "simulated": False,
        "held_back": [normalise(h.document()) for h in result.held_back],
    }
    if as_json:
        context.print_json(document)
        return
    for symbol, rows in result.imported.items():
        typer.echo(f"imported {symbol}: {rows} new bars" + (" (benchmark: stored, never ranked or traded)"
                                                            if symbol in result.benchmarks else ""))
    for change in result.corrected:
        typer.echo(f"corrected {change.describe()}")
    for symbol in result.already:
        typer.echo(f"{symbol}: every bar already imported, nothing added")
    for line in held_back_lines(result.held_back):
        typer.echo(line)
    for symbol in result.missing:
        typer.echo(f"{symbol}: no file in {result.folder}")
    if result.ignored:
        typer.echo("ignored (not in the universe): " + ", ".join(result.ignored))
    if not result.imported and not result.corrected:
        typer.echo("nothing new imported")


def prices_show(
    ctx: typer.Context,
    symbol: str = typer.Argument(..., help="instrument symbol, e.g. SXLK"),
    last: int = typer.Option(10, "--last", min=0, max=100_000, help="how many of the latest bars to show"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Show the latest stored bars of one instrument with their provenance."""
    from trackrecord.market.store import load_prices, price_sources

    services = context.services(ctx)
    symbols = {i.symbol.upper(): i.symbol for i in services.settings.universe.instruments}
    symbols.update({s.upper(): s for s in services.settings.performance.benchmark_symbols()})
    if symbol.upper() not in symbols:
        raise UserError(f"unknown symbol {symbol[:40]!r}: the universe and benchmarks have {', '.join(symbols.values())}")
    name = symbols[symbol.upper()]
    series = load_prices(services.engine, [name])[name]
    provenance = price_sources(services.engine, name)
    tail = range(max(series.dates.size - max(last, 0), 0), series.dates.size)
    simulated = is_simulated(Mode.LIVE, (s for s, _, _ in provenance))  # the prices alone
    bars = [{"date": str(series.dates[k]), "adj_close": float(series.adj_close[k]),
             "close": None if series.close[k] != series.close[k] else float(series.close[k])} for k in tail]
    document = {"symbol": name, "bars": len(series.dates), "first": _iso(series.dates[0].item() if series.dates.size else None),
                "last": _iso(series.last_date), "latest": bars,
                "sources": [{"source": s, "fetched_at": f, "bars": n} for s, f, n in provenance],
                "simulated": simulated}
    if as_json:
        context.print_json(document)
        return
    if simulated:
        typer.echo(SIMULATED_BANNER)
    if not series.dates.size:
        typer.echo(f"{name}: no stored prices (run `trackrecord prices update` or `prices import DIR`)")
        return
    typer.echo(f"{name}: {document['bars']} bars {document['first']} .. {document['last']}; "
               + "; ".join(f"{s} fetched {f} ({n} bars)" for s, f, n in provenance))
    typer.echo(f"{'Date':<12}{'Close':>14}{'Adj close':>14}")
    for bar in bars:
        close = "-" if bar["close"] is None else f"{bar['close']:.4f}"
        typer.echo(f"{bar['date']:<12}{close:>14}{bar['adj_close']:>14.4f}")


def signal_command(
    ctx: typer.Context,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="any date: the signal of that month's rebalance"),
    top_n: Optional[int] = typer.Option(None, "--top-n", help="override strategy.top_n"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Rank the universe by 12-1 momentum and show the target weights.

    The signal of today's month is recorded in the ledger; a what-if (``--as-of``,
    ``--top-n``) is shown only: the record holds the engine's own decisions."""
    from trackrecord.bootstrap import preview_context, record_calendar, wall_clock
    from trackrecord.engine.rebalance import signal_for

    services = context.services(ctx)
    if as_of is None:
        _refuse_today_on_a_backtest(services, "signal")
    calendar = record_calendar(services)
    now = wall_clock()
    day = _parse_as_of(as_of, calendar, calendar.date_at(now))
    run = preview_context(services, calendar)
    try:
        outcome = signal_for(run, day, now, top_n, record=as_of is None and top_n is None)
    finally:
        run.close()
    if as_json:
        context.print_json(outcome.document())
        return
    _print_signal(outcome)


def _print_signal(outcome: Any) -> None:
    s = outcome.signal
    if outcome.simulated:
        typer.echo(SIMULATED_BANNER)
    typer.echo(f"MOMENTUM SIGNAL - rebalance {outcome.rebalance_date} "
               f"(formation {s.formation_start} .. {s.formation_end})")
    typer.echo(f"{'Rank':<6}{'Symbol':<8}{'Sector':<24}{'12-1 Mom':>9}    {'Target':<8}{'Held':<6}")
    for r in s.ranks:
        target = f"{r.target_weight:.1%}" if r.target_weight else "-"
        typer.echo(f"{r.rank:<6}{r.symbol:<8}{outcome.sectors.get(r.symbol, ''):<24}{r.momentum:>+9.1%}    "
                   f"{target:<8}{'yes' if r.held else '':<6}")
    if s.cash_weight > 1e-12:
        typer.echo(f"Cash: {s.cash_weight:.1%}")
    for warning in s.warnings:
        typer.echo(f"warning: {warning}")
    typer.echo(f"inputs sha256 {s.inputs_sha256}  (ledger seq {outcome.seq})")


def rebalance_command(
    ctx: typer.Context,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="any date: preview the first session on or after it"),
    cash: Optional[str] = typer.Option(None, "--cash", help="plan for an empty account holding this cash"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Preview the rebalance: the plan `execute` would make and its risk decision. Nothing is
    sent and nothing is recorded."""
    from trackrecord.bootstrap import preview_context, record_calendar, wall_clock
    from trackrecord.engine.planning import parse_cash
    from trackrecord.engine.rebalance import preview
    from trackrecord.engine.sessions import decision_time

    services = context.services(ctx)
    if as_of is None:
        _refuse_today_on_a_backtest(services, "rebalance")
    calendar = record_calendar(services)
    now = wall_clock()
    day = _parse_as_of(as_of, calendar, calendar.date_at(now))
    amount = parse_cash(cash) if cash is not None else None
    session = calendar.next_sessions(day, 1)[0]
    run = preview_context(services, calendar, amount)
    try:
        shown = preview(run, session, decision_time(calendar, session, now, as_of is not None))
    finally:
        run.close()
    if as_json:
        context.print_json(_plan_document(shown))
        return
    planned = shown.planned
    plan, outcome = planned.plan, planned.signal
    if outcome.simulated:
        typer.echo(SIMULATED_BANNER)
    typer.echo(f"REBALANCE PLAN {plan.plan_id} (preview: nothing is sent or recorded) - session "
               f"{plan.session_date}, signal of {outcome.rebalance_date}")
    typer.echo(f"Portfolio: {planned.portfolio.source}; NAV {plan.nav:,.2f} {plan.currency}, cash {plan.cash:,.2f}")
    typer.echo(f"{'Symbol':<8}{'Shares':>10}{'Price':>12}{'Weight':>9}{'Target':>9}{'Goal':>10}  Action")
    for line in plan.lines:
        typer.echo(f"{line.symbol:<8}{line.quantity:>10}{line.price:>12.4f}{float(line.weight):>9.1%}"
                   f"{float(line.target_weight):>9.1%}{line.goal_quantity:>10}  {line.action}")
    typer.echo("Orders (sells first):" if plan.orders else "Orders: none (every position within its drift band)")
    for o in plan.orders:
        typer.echo(f"  {o.side.value:<5}{o.quantity:>8} {o.symbol:<8} {plan.params.order_type.value} "
                   f"@ {o.intended_price:.4f} {o.currency}  value {o.value:,.2f}  "
                   f"est. commission {o.estimated_commission:.2f}  {o.reason}  [{o.order_ref}]")
    typer.echo(f"Estimated cash after: {plan.cash_after:,.2f} {plan.currency}")
    for note in plan.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"Risk: {shown.decision.verdict}" + "".join(f"\n  {r.message}" for r in shown.decision.denials))


def _plan_document(shown: Any) -> dict[str, Any]:
    planned = shown.planned
    plan, signal = planned.plan, planned.signal
    return {
        "plan_id": plan.plan_id, "account_id": plan.account_id, "session_date": plan.session_date.isoformat(),
        "rebalance_date": signal.rebalance_date.isoformat(), "currency": plan.currency, "preview": True,
        "portfolio_source": planned.portfolio.source, "nav": str(plan.nav), "cash": str(plan.cash),
        "cash_after": str(plan.cash_after),
        "lines": [{"symbol": x.symbol, "quantity": str(x.quantity), "price": str(x.price), "weight": float(x.weight),
                   "target_weight": float(x.target_weight), "goal_quantity": str(x.goal_quantity),
                   "planned_quantity": str(x.planned_quantity), "action": x.action} for x in plan.lines],
        "orders": [{"order_ref": o.order_ref, "symbol": o.symbol, "side": o.side.value, "quantity": str(o.quantity),
                    "order_type": plan.params.order_type.value, "intended_price": str(o.intended_price),
                    "currency": o.currency, "value": str(o.value),
                    "estimated_commission": str(o.estimated_commission), "reason": o.reason} for o in plan.orders],
        "notes": list(plan.notes), "inputs_sha256": signal.signal.inputs_sha256,
        "risk": shown.decision.document(), "signal_seq": None, "seq": None, "simulated": signal.simulated,
    }


def _iso(day: Optional[date]) -> Optional[str]:
    return None if day is None else day.isoformat()


def register(app: typer.Typer) -> None:
    app.command("calendar")(calendar_command)
    prices_app = typer.Typer(help="Daily prices: update, import, show.", no_args_is_help=True)
    prices_app.command("update")(prices_update)
    prices_app.command("import")(prices_import)
    prices_app.command("show")(prices_show)
    app.add_typer(prices_app, name="prices")
    app.command("signal")(signal_command)
    app.command("rebalance")(rebalance_command)
