"""When a run decides and when it settles: one definition for ``execute``, ``daily``,
``snapshot`` and the replay.

A run for today decides now. A run for a past session (paper or dry run only) decides as
the engine would have on that day, an hour before its close, and settles half an hour after
it, so its snapshot is valued at that evening's closes rather than today's prices.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from trackrecord.domain import Mode
from trackrecord.errors import UserError
from trackrecord.ledger.cashflows import booking_flows
from trackrecord.ledger.queries import reading
from trackrecord.ledger.record_rules import latest_session

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.engine.context import PlanningContext
    from trackrecord.market.calendar import ExchangeCalendar

DECISION_BEFORE_CLOSE = timedelta(minutes=60)
SNAPSHOT_AFTER_CLOSE = timedelta(minutes=30)


def exchange_today(calendar: "ExchangeCalendar", now: datetime) -> date:
    return calendar.date_at(now)


def decision_time(calendar: "ExchangeCalendar", session: date, now: datetime, back_dated: bool) -> datetime:
    """Now for a run today; for a session named explicitly whose close has passed, an hour
    before that close."""
    close = calendar.close_time(session)
    return close - DECISION_BEFORE_CLOSE if back_dated and now > close else now


def settlement_time(calendar: "ExchangeCalendar", session: date, now: datetime, back_dated: bool) -> datetime:
    """Now, or for a session named explicitly and long closed, half an hour after its close."""
    after_close = calendar.close_time(session) + SNAPSHOT_AFTER_CLOSE
    return after_close if back_dated and now > after_close else now


def refuse_back_dated(ctx: "PlanningContext", session: date, command: str) -> None:
    """A run that records a session earlier than the account's latest recorded one is
    refused (exit 2): a record is written in session order. ``pull`` is not such a run.
    In paper mode, so is a session before a flow the simulated account has booked: it
    would be valued with money it did not have yet."""
    refuse_out_of_order(ctx.ledger.engine, ctx.account_id, ctx.mode, session, command)


def refuse_out_of_order(engine: "Engine", account_id: str, mode: Mode, session: date, command: str) -> None:
    """``refuse_back_dated`` for a caller without a run context (a job run by hand)."""
    with reading(engine) as conn:
        latest = latest_session(conn, account_id)
        later_flows = [] if mode is not Mode.PAPER else \
            [f for f in booking_flows(conn, account_id) if not f.voided and f.flow.flow_date > session]
    if latest is not None and session < latest:
        raise UserError(f"{command} {session}: the account {account_id} already has a later recorded session, "
                        f"{latest}; sessions are recorded in order only (`trackrecord pull` still records past "
                        "executions; `trackrecord rebalance --as-of` previews any date)")
    if later_flows:
        first = min(later_flows, key=lambda f: f.flow.flow_date)
        raise UserError(f"{command} {session}: the simulated account {account_id} has booked the cash flow of "
                        f"{first.flow.amount} {first.flow.currency} dated {first.flow.flow_date} (seq {first.seq}), "
                        f"after this session; record sessions from {first.flow.flow_date} on, or void the flow "
                        "(`trackrecord cashflow void`)")
