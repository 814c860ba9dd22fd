"""The engine's use cases behind ``execute``, ``daily`` and ``snapshot``: each decides the
session, the decision and settlement times and the order of the steps; the CLI parses,
calls one of these and prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from trackrecord.domain import Mode
from trackrecord.engine.account import Settled, record_snapshot, session_start_utc, settle_with_broker
from trackrecord.engine.cashflows import configured_account_id
from trackrecord.engine.context import PlanningContext, RunContext
from trackrecord.engine.daily import SessionReport, close_of_day, is_rebalance_session
from trackrecord.engine.planning import NoPlan
from trackrecord.engine.rebalance import RebalanceReport, rebalance, settle
from trackrecord.engine.sessions import (
    SNAPSHOT_AFTER_CLOSE,
    decision_time,
    exchange_today,
    refuse_back_dated,
    settlement_time,
)
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger import queries
from trackrecord.market.service import last_completed_session
from trackrecord.strategy.planner import plan_id_for


def execution_mode(configured: Mode, live: bool, session: date | None, today: date) -> Mode:
    """Dry run unless the configuration says paper, or live is asked for (``--live``) and
    the configuration says ``mode: live`` too. A live run trades today only."""
    if not live:
        return Mode.PAPER if configured is Mode.PAPER else Mode.DRY_RUN
    if configured is not Mode.LIVE:
        raise UserError(f"--live: trackrecord.yaml says mode: {configured.value}; live orders need `mode: live` "
                        "there as well as --live on the command line")
    if session is not None and session < today:
        raise UserError(f"--live --as-of {session}: a live run trades today's session only ({today}); "
                        "a past session can be previewed with `trackrecord rebalance --as-of`")
    return Mode.LIVE


@dataclass
class ExecuteOutcome:
    session: date
    mode: Mode
    simulated: bool
    report: RebalanceReport | None = None
    next_rebalance: date | None = None
    missed_rebalance: date | None = None  # the month's rebalance session, which the running account did not trade

    def document(self) -> dict[str, Any]:
        if self.report is None:
            return {"session": self.session.isoformat(), "rebalance": False, "mode": self.mode.value,
                    "next_rebalance": None if self.next_rebalance is None else self.next_rebalance.isoformat(),
                    "missed_rebalance": None if self.missed_rebalance is None else self.missed_rebalance.isoformat()}
        return {**self.report.document(), "simulated": self.simulated, "rebalance": True}


def execute_session(ctx: PlanningContext, session: date, now: datetime, back_dated: bool,
                    confirm: Callable[[RebalanceReport], None] | None = None) -> ExecuteOutcome:
    """Run the rebalance of ``session`` when it is one: plan, decide, and (paper, live)
    send, follow and settle. ``back_dated``: the session was named (``--as-of``), so a
    past one is decided and settled as of its own day."""
    calendar = ctx.calendar
    outcome = ExecuteOutcome(session, ctx.mode, ctx.simulated)
    if not calendar.is_session(session) or calendar.rebalance_session(session) != session:
        outcome.next_rebalance = calendar.next_rebalance_session(session)
        outcome.missed_rebalance = _missed_rebalance(ctx, session)
        return outcome
    refuse_back_dated(ctx, session, "execute")
    decided_at = decision_time(calendar, session, now, back_dated)
    if isinstance(ctx, RunContext):
        pending = ctx.session_clock.unsettled(decided_at)
        if pending is not None and pending[0] < session:
            raise UserError(f"execute {session}: {_awaiting(ctx, pending)}; store that session's prices (`trackrecord "
                            "prices update` or `prices import DIR`) and run `trackrecord daily`, then execute: "
                            "a plan made now would not know what those orders did; nothing was written")
        ctx.session_clock.start(decided_at)
    outcome.report = rebalance(ctx, session, decided_at, confirm)
    if isinstance(ctx, RunContext) and ctx.sends_orders and outcome.report.orders:
        settle(ctx, outcome.report, session, settlement_time(calendar, session, now, back_dated))
    return outcome


def _back_dating(ctx: RunContext, session: date | None, now: datetime, command: str) -> tuple[date, datetime]:
    """The session a ``daily`` or ``snapshot`` run records and the moment it values it."""
    if session is None:
        return last_completed_session(ctx.calendar, now), now
    if ctx.mode is not Mode.PAPER:
        raise UserError(f"{command} --as-of: only a simulated paper account can be valued as of a past session; "
                        f"a {ctx.mode.value} broker values the account now")
    if not ctx.calendar.is_session(session):
        raise UserError(f"{command} --as-of {session}: not a {ctx.calendar.code} session")
    settled_at = ctx.calendar.close_time(session) + SNAPSHOT_AFTER_CLOSE
    if settled_at > now:
        raise UserError(f"{command} --as-of {session}: that session has not closed yet (today is "
                        f"{exchange_today(ctx.calendar, now)})")
    return session, settled_at


@dataclass
class DailyOutcome:
    report: SessionReport
    blocked_rebalance: str | None = None
    missed_rebalance: date | None = None  # the session is the month's rebalance and the account's was not run
    warnings: list[str] = field(default_factory=list)


def check_daily(ctx: RunContext, session: date | None, now: datetime) -> tuple[date, datetime]:
    """The session ``daily`` records and when it values it; refused (exit 2) when it is not
    a session it can record (out of order, or a past one on a real broker)."""
    session, settled_at = _back_dating(ctx, session, now, "daily")
    refuse_back_dated(ctx, session, "daily")
    return session, settled_at


def run_daily(ctx: RunContext, session: date | None, now: datetime) -> DailyOutcome:
    """After the close: gate the session's bars, pull, snapshot; on a rebalance session,
    say whether its signal was blocked by the price gates."""
    session, settled_at = check_daily(ctx, session, now)
    pull_from = settle_auctions(ctx, session, "daily")
    outcome = DailyOutcome(close_of_day(ctx, session, (), settled_at, pull_from=pull_from))
    if is_rebalance_session(ctx, session):
        outcome.blocked_rebalance = _blocked_rebalance(ctx, session, settled_at)
        if outcome.blocked_rebalance is None and _not_run(ctx, session):
            outcome.missed_rebalance = session
    return outcome


def run_auctions(ctx: RunContext, session: date) -> date:
    """Run the simulated market's auctions up to ``session``'s close (a real broker's clock
    does nothing) and return the earliest session they may have made fills of, for the pull."""
    closed_at = ctx.calendar.close_time(session)
    before = ctx.session_clock.unsettled(closed_at)
    ctx.session_clock.close_session(session, closed_at)
    return session if before is None else min(before[0], session)


def settle_auctions(ctx: RunContext, session: date, command: str) -> date:
    """``run_auctions``, refused (exit 2, nothing written) while an order placed by the
    session's close is still open: a market-on-close order's fate is its own session's
    close, so a snapshot taken without it (the closing prices not stored yet) would value
    the account as if it had not traded."""
    pull_from = run_auctions(ctx, session)
    after = ctx.session_clock.unsettled(ctx.calendar.close_time(session))
    if after is not None:
        raise UserError(f"{command} {session}: {_awaiting(ctx, after)}; store them (`trackrecord prices update` or "
                        f"`prices import DIR`) and run `trackrecord {command}` again, or, if that close will never "
                        "be stored, cancel the orders (`trackrecord cancel REF \"why\"`, `trackrecord orders` "
                        "lists them); nothing was written")
    return pull_from


def _missed_rebalance(ctx: PlanningContext, session: date) -> date | None:
    """The month's rebalance session when it is past and the account, running then (a snapshot
    on or before it), has no plan of it: the month was not traded and will not be (the rule
    trades its first session), which a run later in the month says rather than only "nothing to trade"."""
    if not ctx.sends_orders or not ctx.calendar.is_session(session):
        return None
    due = ctx.calendar.rebalance_session(session)
    return due if due < session and _not_run(ctx, due) else None


def _not_run(ctx: PlanningContext, due: date) -> bool:
    """Whether the account was running on the rebalance session ``due`` (a snapshot on or
    before it) and has no plan of it."""
    with queries.reading(ctx.ledger.engine) as conn:
        running = queries.has_snapshot_on_or_before(conn, ctx.account_id, due)
        planned = queries.recorded_plan(conn, plan_id_for(ctx.account_id, due), ctx.mode.value) is not None
    return running and not planned


def _awaiting(ctx: RunContext, pending: tuple[date, tuple[str, ...]]) -> str:
    day, symbols = pending
    return (f"the simulated account {ctx.account_id}'s orders of {day} ({', '.join(symbols)}) await that session's "
            "closing prices, which are not stored")


def _blocked_rebalance(ctx: RunContext, session: date, at: datetime) -> str | None:
    """Why the rebalance of ``session`` has no plan because the gates block its signal (the
    finding is recorded), or None when a plan was made or the gates pass."""
    with queries.reading(ctx.ledger.engine) as conn:
        if queries.recorded_plan(conn, plan_id_for(ctx.account_id, session), ctx.mode.value) is not None:
            return None
    held = ctx.portfolio.portfolio(at).positions
    outcome = ctx.planner.signal(session, held)
    if not isinstance(outcome, NoPlan):
        return None
    if outcome.quality is not None:
        with ctx.ledger.writer() as writer:
            writer.append(kinds.QUALITY_CHECKED, {**outcome.quality.document(), "purpose": "signal",
                                                  "as_of": session, "calendar": ctx.calendar.code})
    return f"{session} is a rebalance session and no rebalance was made: {outcome.reason}"


def take_snapshot(ctx: RunContext, session: date | None,
                  now: datetime) -> tuple[date, bool, dict[str, Any], Settled]:
    """Record the account's snapshot of the last completed session (or, paper, ``session``),
    after the executions and order ends that make it (an auction run here fills orders:
    a snapshot holding positions the ledger has no fills for would be a record of trades
    nobody can see)."""
    session, settled_at = _back_dating(ctx, session, now, "snapshot")
    refuse_back_dated(ctx, session, "snapshot")
    pull_from = settle_auctions(ctx, session, "snapshot") if ctx.mode is Mode.PAPER else session
    with ctx.ledger.writer() as writer:
        settled = settle_with_broker(writer, ctx, session_start_utc(ctx.calendar.previous_session(pull_from)))
        written, payload = record_snapshot(writer, ctx.broker, settled_at, session, ctx.simulated, ctx.mode,
                                           configured_account_id(ctx.settings))
    return session, written, payload, settled
