"""The rebalance run: plan → risk → submit → await fills → pull → snapshot.

Rule: an order is never sent twice. The plan id is derived from (account, session) and
each order's ``order_ref`` from the plan id, so a rerun after a crash finds the plan it
recorded, the risk decision it took and the orders the broker already has (open orders
and the day's executions), and sends only what never reached the broker. The intent to
send is committed to the ledger before the order leaves; the kill switch is read again
immediately before each order, and checked against its own events.

A plan refused for a condition that can pass later (the kill switch, stale prices) is
decided again on a rerun: a new ``risk.decided`` that names the decision it supersedes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Mapping

from trackrecord.brokers.base import BrokerError, OrderRejected
from trackrecord.domain import BrokerOrder, Mode, OrderRequest, OrderStatus, TradingState
from trackrecord.engine.cashflows import configured_account_id
from trackrecord.engine.account import (
    StaleSnapshot,
    ended_short,
    pull_executions,
    record_snapshot,
    session_start_utc,
    unknown_at_broker_warning,
)
from trackrecord.engine.annotations import systematic_notes
from trackrecord.engine.context import PlanningContext, RunContext
from trackrecord.crash import crash_point
from trackrecord.engine.kill_switch import halt, read_status, state_from_events
from trackrecord.engine.planning import (
    NoPlan,
    Portfolio,
    RecordedPlan,
    SessionPlan,
    SignalOutcome,
    decision_price,
    with_signal_seq,
)
from trackrecord.engine.recording import order_payload, status_payload
from trackrecord.errors import RuntimeFailure, SafetyRefusal, UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger import queries
from trackrecord.risk.rules import PlanDecision, RiskContext, RiskLimits, check_order_now, check_plan
from trackrecord.strategy.planner import plan_id_for

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from trackrecord.ledger.store import Writer

log = logging.getLogger(__name__)

# Rules whose refusal a later run may find lifted: the plan is decided again then.
RETRYABLE_RULES = frozenset({"kill_switch", "stale_prices"})
UNSENT = (None, OrderStatus.PENDING_SUBMIT)

# Kept importable from here for older callers.
__all__ = ["RebalanceReport", "decision_price", "rebalance", "follow_orders", "settle", "preview", "signal_for"]


@dataclass(frozen=True)
class Decision:
    """A risk decision as the run uses it: typed, whether just made or read back."""

    seq: int | None
    approved: bool
    denials: tuple[str, ...]
    failed_rules: frozenset[str]
    halt: bool = False

    @classmethod
    def of(cls, seq: int | None, decision: PlanDecision) -> "Decision":
        return cls(seq, decision.approved, tuple(r.message for r in decision.denials),
                   frozenset(r.rule for r in decision.denials), decision.halt)

    @classmethod
    def from_payload(cls, seq: int, data: Mapping[str, Any]) -> "Decision":
        failed = [r for r in data["results"] if not r["passed"]]
        return cls(seq, bool(data["approved"]), tuple(r["message"] for r in failed),
                   frozenset(r["rule"] for r in failed), bool(data.get("halt", False)))

    @property
    def retryable(self) -> bool:
        """Refused at least in part for a condition that can lift: a rerun decides again (a
        refusal that still holds for another rule is then recorded with that rule alone)."""
        return not self.approved and not self.halt and bool(self.failed_rules & RETRYABLE_RULES)


@dataclass
class RebalanceReport:
    plan_id: str
    session: date
    mode: Mode
    orders: list[OrderRequest] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    already_at_broker: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    statuses: dict[str, OrderStatus] = field(default_factory=dict)
    fill_prices: dict[str, Decimal] = field(default_factory=dict)
    fills: int = 0
    reused_plan: bool = False
    verdict: str = ""
    denials: tuple[str, ...] = ()
    redecided: bool = False
    preview: bool = False
    snapshot_written: bool = False
    messages: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id, "session": self.session.isoformat(), "mode": self.mode.value,
            "verdict": self.verdict, "denials": list(self.denials), "reused_plan": self.reused_plan,
            "redecided": self.redecided, "preview": self.preview,
            "orders": [{"order_ref": o.order_ref, "symbol": o.symbol, "side": o.side.value,
                        "quantity": str(o.quantity), "order_type": o.order_type.value,
                        "intended_price": str(o.intended_price), "currency": o.currency,
                        "fill_price": _text(self.fill_prices.get(o.order_ref)),
                        "status": self.statuses[o.order_ref].value if o.order_ref in self.statuses else "planned"}
                       for o in self.orders],
            "sent": self.sent, "already_at_broker": self.already_at_broker, "denied": self.denied,
            "rejected": self.rejected, "fills": self.fills, "messages": self.messages,
        }


def _label(ctx: PlanningContext) -> str:
    """The mode as a log line names it: a simulated market says so (a backtest is no paper account)."""
    return f"{ctx.mode.value}, SIMULATED" if ctx.simulated else ctx.mode.value


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# -- risk ----------------------------------------------------------------------------------------


def risk_context(ctx: PlanningContext, conn: "Connection", plan: RecordedPlan, decided_at: datetime) -> RiskContext:
    """What the rules need, read in the caller's transaction (kill switch and history included)."""
    session = plan.session_date
    previous_session = ctx.calendar.previous_session(session)
    last_closes: dict[str, Decimal] = {}
    ages: dict[str, int] = {}
    sessions_since: dict[date, int] = {}  # the orders' last closes mostly share a date: one calendar question
    for order in plan.orders:
        found = ctx.book.last_close(order.symbol, previous_session)
        if found is not None:
            last_closes[order.symbol] = decision_price(found[1])
            ages[order.symbol] = _sessions_since(ctx, found[0], session, sessions_since)
    is_session = ctx.calendar.is_session(session)
    cutoff = ctx.calendar.close_time(session) - timedelta(minutes=ctx.settings.risk.moc_cutoff_minutes) \
        if is_session else None
    previous = queries.nav_and_flows_before(conn, plan.account_id, session, configured_account_id(ctx.settings))
    gap = None if previous.session_date is None else \
        _sessions_since(ctx, previous.session_date, session, sessions_since)
    return RiskContext(
        session_date=session, decided_at=decided_at, is_session=is_session,
        trading_state=read_status(conn).state, nav=plan.nav, cash=plan.cash,
        positions=dict(plan.positions), last_closes=last_closes, price_age_sessions=ages,
        base_currency=ctx.settings.account.base_currency, fx_rates=dict(ctx.settings.prices.fx_rates),
        moc_cutoff=cutoff, previous_nav=previous.nav, flows_since_previous=previous.flows,
        previous_session=previous.session_date, sessions_since_previous=gap,
        connected_account=ctx.connected_account, configured_account=ctx.settings.account.account_id,
    )


def _sessions_since(ctx: PlanningContext, day: date, session: date, known: dict[date, int]) -> int:
    """Sessions after ``day`` up to ``session`` (0: ``day`` is the session), kept in ``known``."""
    if day not in known:
        known[day] = ctx.calendar.count_sessions(day, session) - 1
    return known[day]


def decide(ctx: PlanningContext, conn: "Connection", plan: RecordedPlan, decided_at: datetime) -> PlanDecision:
    return check_plan(plan.orders, risk_context(ctx, conn, plan, decided_at), _limits(ctx.settings.risk))


_LAST_LIMITS: list[tuple[Any, RiskLimits]] = []


def _limits(risk: Any) -> RiskLimits:
    """``RiskLimits.from_config(risk)``, kept for the (frozen) config last asked about: a replay
    decides 300 plans with one config."""
    if not _LAST_LIMITS or _LAST_LIMITS[0][0] is not risk:
        _LAST_LIMITS[:] = [(risk, RiskLimits.from_config(risk))]
    return _LAST_LIMITS[0][1]


def _record_decision(ctx: PlanningContext, writer: "Writer", plan: RecordedPlan, decided_at: datetime,
                     supersedes: Decision | None = None) -> Decision:
    """Decide inside ``writer`` and record it; a decision that halts trips the kill switch."""
    decision = decide(ctx, writer.conn, plan, decided_at)
    payload: dict[str, Any] = {"plan_id": plan.plan_id, "mode": ctx.mode.value, "decided_at": decided_at,
                               **decision.document()}
    if supersedes is not None:
        payload["supersedes"] = supersedes.seq
        payload["redecision"] = ("decided again: the refusal (" + "; ".join(supersedes.denials[:3])
                                 + ") was for a condition that can lift")
    event = writer.append(kinds.RISK_DECIDED, payload)
    if decision.halt:
        halt(writer, "; ".join(r.message for r in decision.denials if r.details.get("halt")))
    return Decision.of(event.seq, decision)


# -- planning ------------------------------------------------------------------------------------


def _record_plan(ctx: PlanningContext, session: date, decided_at: datetime) -> tuple[RecordedPlan, Decision]:
    """Gate, signal, plan (with the engine's note on each order) and risk decision in one
    transaction: a crash before its commit leaves no plan (the rerun plans afresh), after it
    the rerun reuses plan and decision. A refused gate or signal is committed, then raised."""
    portfolio = ctx.portfolio.portfolio(decided_at)
    planned = ctx.planner.plan(session, portfolio)
    with ctx.ledger.writer() as writer:
        quality = planned.quality if isinstance(planned, NoPlan) else planned.signal.quality
        if quality is not None:
            writer.append(kinds.QUALITY_CHECKED, {**quality.document(), "purpose": "signal", "as_of": session,
                                                  "calendar": ctx.calendar.code})
        if isinstance(planned, SessionPlan):
            signal = writer.append(kinds.SIGNAL_COMPUTED, {**planned.signal.payload(), "mode": ctx.mode.value})
            planned = with_signal_seq(planned, signal.seq)
            event = writer.append(kinds.PLAN_CREATED, planned.payload(ctx.mode))
            writer.append_many(systematic_notes(planned, ctx.mode, event.seq))
            recorded = RecordedPlan.of(event.seq, planned)
            decision = _record_decision(ctx, writer, recorded, decided_at)
    if isinstance(planned, NoPlan):
        raise RuntimeFailure(f"no rebalance on {session}: {planned.reason}")
    return recorded, decision


def _recorded(ctx: PlanningContext, plan_id: str) -> tuple[RecordedPlan, Decision | None] | None:
    if ctx.mode is Mode.DRY_RUN:
        return None
    with queries.reading(ctx.ledger.engine) as conn:
        plan = queries.recorded_plan(conn, plan_id, ctx.mode.value)
        decision = queries.recorded_decision(conn, plan_id, ctx.mode.value)
    if plan is None:
        return None
    return RecordedPlan.from_payload(*plan), None if decision is None else Decision.from_payload(*decision)


def rebalance(ctx: PlanningContext, session: date, decided_at: datetime,
              confirm: Callable[[RebalanceReport], None] | None = None) -> RebalanceReport:
    """Plan (or find the recorded plan of) ``session`` and, unless dry-run, send what the
    broker does not have yet. ``confirm`` sees the plan and its decision before anything is
    sent and raises to stop. Raises SafetyRefusal (exit 3) when risk or the kill switch
    refuses; RuntimeFailure (exit 1) when data or the broker fails."""
    plan_id = plan_id_for(ctx.account_id, session)
    found = _recorded(ctx, plan_id)
    if found is None:
        plan, decision = _record_plan(ctx, session, decided_at)
        report = RebalanceReport(plan.plan_id, session, ctx.mode)
    else:
        plan, recorded_decision = found
        report = RebalanceReport(plan_id, session, ctx.mode, reused_plan=True)
        crash_point("after_plan")
        decision = _decision_for_rerun(ctx, plan, recorded_decision, decided_at, report)
    if found is None:
        crash_point("after_plan")
    report.orders = list(plan.orders)
    crash_point("after_risk")
    report.verdict = "approved" if decision.approved else "denied"
    report.denials = decision.denials
    log.info("plan %s (%s): %d order(s), risk %s%s", report.plan_id, _label(ctx), len(report.orders),
             report.verdict, " (recorded plan reused)" if report.reused_plan else "")
    if not decision.approved:
        raise SafetyRefusal(f"risk refused the plan {report.plan_id}: " + "; ".join(decision.denials[:3]))
    if not isinstance(ctx, RunContext) or not ctx.sends_orders or not report.orders:
        return report
    if confirm is not None:
        confirm(report)
    _submit(ctx, report, plan.positions, session_start_utc(session))
    return report


def _decision_for_rerun(ctx: PlanningContext, plan: RecordedPlan, recorded: Decision | None, decided_at: datetime,
                        report: RebalanceReport) -> Decision:
    """The recorded decision, or a new one: when none was recorded (a crash in between,
    before this release) or when the recorded refusal was for a condition that can lift."""
    if recorded is not None and not recorded.retryable:
        return recorded
    with ctx.ledger.writer() as writer:
        if recorded is not None and Decision.of(None, decide(ctx, writer.conn, plan, decided_at)).denials \
                == recorded.denials:
            return recorded  # nothing changed: the refusal stands, nothing more is written
        decision = _record_decision(ctx, writer, plan, decided_at, supersedes=recorded)
    if recorded is not None:
        report.redecided = True
        report.messages.append(f"decided again (risk.decided seq {decision.seq} supersedes seq {recorded.seq}): "
                               f"{'approved' if decision.approved else 'still refused'}")
    return decision


# -- preview -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What an execution of the session would do now, recorded nowhere."""

    planned: SessionPlan
    decision: PlanDecision
    portfolio: Portfolio


def preview(ctx: PlanningContext, session: date, decided_at: datetime, top_n: int | None = None) -> Preview:
    """The plan ``execute`` would make for ``session`` at ``decided_at`` and its risk
    decision. Nothing is sent or recorded. Raises RuntimeFailure when there is no plan."""
    portfolio = ctx.portfolio.portfolio(decided_at)
    planned = ctx.planner.plan(session, portfolio, top_n)
    if isinstance(planned, NoPlan):
        raise RuntimeFailure(planned.reason)
    with queries.reading(ctx.ledger.engine) as conn:
        decision = decide(ctx, conn, RecordedPlan.of(0, planned), decided_at)
    return Preview(planned, decision, portfolio)


def signal_for(ctx: PlanningContext, day: date, now: datetime, top_n: int | None, record: bool) -> SignalOutcome:
    """The signal of ``day``'s month (its rebalance session), gated first. ``record``: the
    engine's own signal (gate finding and signal) goes to the ledger; a what-if does not.
    Raises RuntimeFailure (exit 1) when a gate fails or no symbol can be ranked."""
    session = ctx.calendar.rebalance_session(day)
    try:
        held = set(ctx.portfolio.portfolio(now).positions)
    except UserError:  # no snapshot yet: nothing is held
        held = set()
    outcome = ctx.planner.signal(session, held, top_n)
    quality = outcome.quality
    if record and quality is not None:
        with ctx.ledger.writer() as writer:
            writer.append(kinds.QUALITY_CHECKED, {**quality.document(), "purpose": "signal", "as_of": day,
                                                  "calendar": ctx.calendar.code})
            if isinstance(outcome, SignalOutcome):
                outcome = replace(outcome, seq=writer.append(kinds.SIGNAL_COMPUTED, outcome.payload()).seq)
    if isinstance(outcome, NoPlan):
        raise RuntimeFailure(outcome.reason)
    return outcome


# -- submission ------------------------------------------------------------------------------------


def _broker_refs(ctx: RunContext, since: datetime) -> dict[str, BrokerOrder | None]:
    """Order refs the broker already knows: open orders and executions since ``since``."""
    known: dict[str, BrokerOrder | None] = {o.order_ref: o for o in ctx.broker.open_orders()}
    for fill in ctx.broker.executions_since(since):
        known.setdefault(fill.order_ref, None)
    return known


def _trading_state(conn: "Connection") -> TradingState:
    """The kill switch's state, refused when the projection disagrees with the events."""
    projected = read_status(conn).state
    recorded = state_from_events(conn).state
    if projected is not recorded:
        raise SafetyRefusal(f"the kill-switch table says {projected.value} but the last kill_switch.changed event "
                            f"says {recorded.value}: the table was changed outside the ledger; nothing was sent "
                            "(run `trackrecord verify`)")
    return projected


def _submit(ctx: RunContext, report: RebalanceReport, positions: Mapping[str, Decimal], session_start: datetime) -> None:
    """Send each order the broker does not have yet. The intent is committed before an
    order leaves; its status after the broker answered rides with the next commit (a
    crash in between is harmless: the rerun finds the order at the broker)."""
    _qualify(ctx, report.orders)
    known = _broker_refs(ctx, session_start)
    with queries.reading(ctx.ledger.engine) as conn:
        recorded = queries.order_statuses(conn, report.plan_id)
    answered: list[tuple[str, dict[str, Any]]] = []
    label = _label(ctx)

    def record(*items: tuple[str, dict[str, Any]]) -> None:
        with ctx.ledger.writer() as writer:
            writer.append_many([*answered, *items])
        answered.clear()

    try:
        for index, order in enumerate(report.orders, start=1):
            if order.order_ref in known:
                report.already_at_broker.append(order.order_ref)
                if recorded.get(order.order_ref) in UNSENT:
                    record(_submission_found(ctx, order, known[order.order_ref]))
                continue
            if recorded.get(order.order_ref) not in UNSENT:
                report.messages.append(f"{order.order_ref} was {recorded[order.order_ref].value} before: "
                                       "not sent again")
                continue
            with ctx.ledger.writer() as writer:  # the kill switch is read in the intent's own transaction
                state = _trading_state(writer.conn)
                verdict = check_order_now(state, order, positions.get(order.symbol, Decimal(0)))
                if verdict.passed:
                    intent = [(kinds.ORDER_SUBMITTED,
                               order_payload(order, ctx.mode.value, OrderStatus.PENDING_SUBMIT.value))]
                else:
                    intent = _denials(ctx, writer.conn, report, report.orders[index - 1:], verdict.message)
                writer.append_many([*answered, *intent])
            answered.clear()
            if not verdict.passed:
                log.warning("kill switch refused %s: %s", order.order_ref, verdict.message)
                raise SafetyRefusal(verdict.message + f"; {len(report.denied)} order(s) not sent (recorded in the ledger)")
            log.info("sending %s %s %s %s (%s)", order.order_ref, order.side.value, order.quantity, order.symbol,
                     label)
            crash_point(f"before_place:{index}")
            try:
                placed = ctx.broker.place_order(order)
            except OrderRejected as exc:
                log.error("broker rejected %s: %s", order.order_ref, exc)
                report.rejected.append(order.order_ref)
                answered.append((kinds.ORDER_STATUS, {"order_ref": order.order_ref, "status": OrderStatus.REJECTED.value,
                                                      "message": str(exc), "code": exc.code}))
                continue
            except BrokerError as exc:
                raise RuntimeFailure(f"broker failed while sending {order.order_ref}: {exc}; rerun `trackrecord "
                                     "execute`: it checks the broker before sending anything again") from None
            report.sent.append(order.order_ref)
            answered.append((kinds.ORDER_STATUS, status_payload(placed)))
            crash_point(f"after_place:{index}")
    finally:
        if answered:
            record()


def _qualify(ctx: RunContext, orders: list[OrderRequest]) -> None:
    """Resolve every traded line at the broker (IB pins its conId) before the first order
    leaves: a line the broker cannot resolve stops the run before anything is sent."""
    traded = {o.symbol for o in orders}
    try:
        universe = ctx.settings.universe
        ctx.broker.qualify([i.to_domain(universe.calendar) for i in universe.instruments if i.symbol in traded])
    except BrokerError as exc:
        raise RuntimeFailure(f"the broker cannot resolve the instruments to trade: {exc}; "
                             "no order was sent in this run") from None


def _submission_found(ctx: RunContext, order: OrderRequest, at_broker: BrokerOrder | None) -> tuple[str, dict[str, Any]]:
    status = at_broker.status.value if at_broker else OrderStatus.FILLED.value
    return kinds.ORDER_SUBMITTED, order_payload(order, ctx.mode.value, status, at_broker, "found at the broker on rerun")


def _denials(ctx: RunContext, conn: "Connection", report: RebalanceReport, orders: list[OrderRequest],
             message: str) -> list[tuple[str, dict[str, Any]]]:
    """The kill switch's ``order.denied`` of ``orders``; none when each was denied already
    since the switch last changed (a rerun while it holds writes nothing more)."""
    report.denied.extend(o.order_ref for o in orders)
    change = queries.last_kill_switch_change(conn)
    if {o.order_ref for o in orders} <= queries.denied_since(conn, report.plan_id, int(change[0]) if change else 0):
        return []
    return [(kinds.ORDER_DENIED, {"order_ref": o.order_ref, "plan_id": o.plan_id, "mode": ctx.mode.value,
                                  "rule": "kill_switch", "message": message}) for o in orders]


# -- after the orders went out -------------------------------------------------------------------


def follow_orders(ctx: RunContext, report: RebalanceReport, writer: "Writer") -> RebalanceReport:
    """Follow the orders to a terminal state (or the timeout) and record what changed
    inside ``writer`` (the close of day's transaction)."""
    ordered = {o.order_ref: o.quantity for o in report.orders}
    final = [ended_short(o, Decimal(ordered[o.order_ref])) for o in
             ctx.broker.wait_for_terminal(list(ordered), ctx.settings.broker.ibkr.order_timeout)]
    recorded = queries.order_statuses(writer.conn, report.plan_id)
    for order in final:
        report.statuses[order.order_ref] = order.status
        if order.average_fill_price is not None and order.filled_quantity:
            report.fill_prices[order.order_ref] = order.average_fill_price
    changed = [(kinds.ORDER_STATUS, status_payload(o)) for o in final if recorded.get(o.order_ref) is not o.status]
    changed += _unknown_at_broker(report, recorded, {o.order_ref for o in final})
    writer.append_many(changed)
    return report


def _unknown_at_broker(report: RebalanceReport, recorded: Mapping[str, OrderStatus],
                       answered: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Sent orders the broker now shows nowhere (IB may forget finished orders): each is
    ``unknown_at_broker`` with a warning that needs a person; recorded once, never resent,
    revised if the broker shows the order again. Terminal or unsent orders stay as recorded."""
    unknown = OrderStatus.UNKNOWN_AT_BROKER
    changed: list[tuple[str, dict[str, Any]]] = []
    for order in report.orders:
        status = recorded.get(order.order_ref)
        if order.order_ref in answered or status in UNSENT or status is None or status.is_terminal:
            continue
        warning = unknown_at_broker_warning(order.order_ref, order.side.value, order.quantity, order.symbol, status)
        log.warning("order unknown at the broker: %s", warning)
        report.messages.append(warning)
        report.statuses[order.order_ref] = unknown
        if status is not unknown:
            changed.append((kinds.ORDER_STATUS, {"order_ref": order.order_ref, "status": unknown.value,
                                                 "message": warning}))
    return changed


def settle(ctx: RunContext, report: RebalanceReport, session: date, now: datetime) -> RebalanceReport:
    """After the orders went out: the closing auction (simulated market, once its prices
    are known), the orders' final states, the executions and, once the session has
    closed, its snapshot (a simulated account is valued at closes; before the close the
    `daily` job takes it)."""
    closed_at = ctx.calendar.close_time(session)
    if now >= closed_at:
        ctx.session_clock.close_session(session, closed_at)
    with ctx.ledger.writer() as writer:
        follow_orders(ctx, report, writer)
        pulled = pull_executions(writer, ctx.broker, session_start_utc(session), ctx.simulated)
        report.fills = pulled.new_fills
        if ctx.mode is Mode.PAPER and now < closed_at:
            report.messages.append(f"the snapshot of {session} is taken after its close (`trackrecord daily`)")
            return report
        try:
            report.snapshot_written = record_snapshot(writer, ctx.broker, now, session, ctx.simulated, ctx.mode,
                                                      configured_account_id(ctx.settings))[0]
        except StaleSnapshot as exc:
            report.messages.append(f"no snapshot recorded: {exc}")
    return report
