"""The daily pipeline of a session (DESIGN.md, "The daily pipeline"):
    prices.update → quality gates → pull(executions, orders' states) → snapshot(account)
       └─ on the first session of the month, before the close:
          signal → plan → risk → submit → (close) → await fills → pull → snapshot

Each arrow is an event. The same functions run live (IBKR), on the simulated broker
(paper, demo) and in a replay of history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Sequence

from trackrecord.engine.account import pull_executions, record_snapshot, session_start_utc, settle_with_broker
from trackrecord.engine.cashflows import configured_account_id
from trackrecord.engine.rebalance import RebalanceReport, follow_orders, rebalance
from trackrecord.ledger import events as kinds
from trackrecord.market.quality import check_session_bars, session_gates_document
from trackrecord.market.service import record_prices

if TYPE_CHECKING:
    from trackrecord.engine.context import PlanningContext, RunContext
    from trackrecord.ledger.store import Writer
    from trackrecord.market.base import PriceRow



@dataclass
class SessionReport:
    session: date
    prices: int = 0
    gates_passed: bool = True
    gate_message: str = ""
    new_fills: int = 0
    orders_changed: dict[str, str] = field(default_factory=dict)
    snapshot_written: bool = False
    nav: str | None = None
    rebalance: RebalanceReport | None = None
    warnings: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {"session": self.session.isoformat(), "prices": self.prices, "gates_passed": self.gates_passed,
                "gate_message": self.gate_message, "new_fills": self.new_fills,
                "orders_changed": self.orders_changed,
                "snapshot_written": self.snapshot_written, "nav": self.nav,
                "rebalance": self.rebalance.document() if self.rebalance else None, "warnings": self.warnings}


def is_rebalance_session(ctx: "PlanningContext", session: date) -> bool:
    return ctx.calendar.rebalance_session(session) == session


def record_bars(ctx: "PlanningContext", writer: "Writer", session: date, rows: Sequence["PriceRow"], now: datetime,
                report: SessionReport) -> None:
    """prices.update, then the daily quality gates over the session's bars."""

    symbols = ctx.symbols
    if rows:
        previous = ctx.book.latest()
        if ctx.held is None:
            record_prices(writer, rows, ctx.price_source, ctx.simulated, now, symbols)
        else:
            ctx.held.hold(rows, now)
        ctx.book.extend(rows)
        report.prices = len(rows)
        bars = {row.symbol: (row.close, row.adj_close) for row in rows if row.session_date == session}
    else:  # the bars were stored before (`trackrecord daily` updates prices first)
        previous = {s: ctx.book.last_bar(s, before=session) for s in symbols}
        bars = ctx.book.bars_on(session)
    quality = check_session_bars(previous, bars, symbols, session, ctx.calendar.previous_session(session),
                                 ctx.settings.prices.max_daily_move)
    if ctx.held is None:
        writer.append(kinds.QUALITY_CHECKED, {**session_gates_document(quality, symbols), "purpose": "daily",
                                              "calendar": ctx.calendar.code})
    else:
        ctx.held.hold_gates(quality)
    report.gates_passed = quality.passed
    if not quality.passed:
        report.gate_message = quality.message()


def close_of_day(ctx: "RunContext", session: date, rows: Sequence["PriceRow"], now: datetime,
                 writer: "Writer | None" = None, pull_from: date | None = None) -> SessionReport:
    """After the close: record the session's bars, gate them, pull executions, snapshot.
    The pull reaches back to the session before ``pull_from`` (default ``session``): an
    earlier session's auction settled late has fills of that session."""
    report = SessionReport(session)
    pull_from = pull_from or session
    if writer is None:
        with ctx.ledger.writer() as own:
            _close_of_day(ctx, own, session, rows, now, report, pull_from)
    else:
        _close_of_day(ctx, writer, session, rows, now, report, pull_from)
    return report


def _close_of_day(ctx: "RunContext", writer: "Writer", session: date, rows: Sequence["PriceRow"], now: datetime,
                  report: SessionReport, pull_from: date) -> None:
    record_bars(ctx, writer, session, rows, now, report)
    since = session_start_utc(ctx.calendar.previous_session(pull_from))
    if ctx.held is not None:  # a backtest follows its orders at their own auction (run_session), not every session
        report.new_fills = pull_executions(writer, ctx.broker, since, ctx.simulated).new_fills
    else:
        settled = settle_with_broker(writer, ctx, since)
        report.new_fills = settled.pulled.new_fills
        report.orders_changed = {ref: status.value for ref, status in settled.orders.changed.items()}
        report.warnings.extend(settled.orders.warnings)
    written, payload = record_snapshot(writer, ctx.broker, now, session, ctx.simulated, ctx.mode,
                                       configured_account_id(ctx.settings))
    report.snapshot_written = written
    report.nav = str(payload["nav"])


def run_session(ctx: "RunContext", session: date, rows: Sequence["PriceRow"], decided_at: datetime,
                closed_at: datetime, writer: "Writer | None" = None,
                rebalance_day: bool | None = None) -> SessionReport:
    """One session of the pipeline: rebalance before the close on the month's first
    session, then the close of day. ``rows`` are the session's own bars, known after
    its close. Used by paper runs, the demo and replays; ``writer`` lets a replay record
    several ordinary sessions in one transaction (never a rebalance session);
    ``rebalance_day``, whether ``session`` is the month's first, when the caller knows."""
    if rebalance_day is None:
        rebalance_day = is_rebalance_session(ctx, session)
    if not rebalance_day:
        ctx.session_clock.close_session(session, ctx.calendar.close_time(session))
        return close_of_day(ctx, session, rows, closed_at, writer)
    if writer is not None:
        raise ValueError("a rebalance session commits each step: run it without a shared writer")
    report_rebalance = rebalance(ctx, session, decided_at)
    follow = ctx.sends_orders and bool(report_rebalance.orders)
    if follow:  # the auction first: the simulated broker writes its own book
        ctx.session_clock.close_session(session, ctx.calendar.close_time(session))
    with ctx.ledger.writer() as own:  # the orders' final states ride with the close of day
        if follow:
            report_rebalance = follow_orders(ctx, report_rebalance, own)
        report = close_of_day(ctx, session, rows, closed_at, own)
    report.rebalance = report_rebalance
    return report
