"""The rebalance run: signal → plan → risk → submit → await fills → pull → snapshot.

Rule: an order is never sent twice. The plan id is derived from (account, session) and
each order's ``order_ref`` from the plan id, so a rerun after a crash finds the plan it
recorded, the risk decision it took and the orders the broker already has (open orders
and the day's executions), and sends only what never reached the broker. The intent to
send is committed to the ledger before the order leaves; the kill switch is read again
immediately before each order.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from trackrecord.brokers.base import BrokerError, OrderRejected
from trackrecord.domain import AccountSnapshot, BrokerOrder, Mode, OrderRequest, OrderStatus, OrderType, Side
from trackrecord.engine.account import pull_executions, record_snapshot
from trackrecord.engine.crash import crash_point
from trackrecord.engine.recording import order_payload, status_payload
from trackrecord.errors import RuntimeFailure, SafetyRefusal, UserError
from trackrecord.ledger import events as kinds

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from trackrecord.engine.context import RunContext
    from trackrecord.ledger.store import Writer
    from trackrecord.risk.rules import PlanDecision

log = logging.getLogger(__name__)
QUALITY_LOOKBACK_DAYS = 31
PRICE_STEP = Decimal("0.0001")


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
    statuses: dict[str, str] = field(default_factory=dict)
    fills: int = 0
    reused_plan: bool = False
    verdict: str = ""
    messages: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id, "session": self.session.isoformat(), "mode": self.mode.value,
            "verdict": self.verdict, "reused_plan": self.reused_plan,
            "orders": [{"order_ref": o.order_ref, "symbol": o.symbol, "side": o.side.value,
                        "quantity": str(o.quantity), "order_type": o.order_type.value,
                        "intended_price": str(o.intended_price), "currency": o.currency,
                        "status": self.statuses.get(o.order_ref, "planned")} for o in self.orders],
            "sent": self.sent, "already_at_broker": self.already_at_broker, "denied": self.denied,
            "rejected": self.rejected, "fills": self.fills, "messages": self.messages,
        }


@dataclass(frozen=True)
class _Portfolio:
    account_id: str
    nav: Decimal
    cash: Decimal
    positions: dict[str, Decimal]
    source: str


def decision_price(close: float) -> Decimal:
    """A stored close as an exact price: float noise beyond 1/10,000 of a unit dropped."""
    return Decimal(repr(close)).quantize(PRICE_STEP)


# -- recorded state ------------------------------------------------------------------------


def _recorded(ctx: "RunContext", kind: str, plan_id: str) -> dict[str, Any] | None:
    """The recorded ``plan.created`` (or its ``risk.decided``) of ``plan_id`` in this run's mode."""
    from trackrecord.ledger.sql import fetch_one, select_sql

    column = "seq" if kind == kinds.PLAN_CREATED else "risk_seq"
    with ctx.ledger.engine.connect() as conn:
        dialect = conn.dialect.name
        row = fetch_one(conn, select_sql(dialect, "plans", (column,), ("plan_id", "mode")),
                        {"plan_id": plan_id, "mode": ctx.mode.value})
        if row is None or row[0] is None:
            return None
        payload = fetch_one(conn, select_sql(dialect, "events", ("payload",), ("seq",)), {"seq": row[0]})
    return json.loads(payload[0]) if payload else None


def _orders_from_plan(data: dict[str, Any]) -> list[OrderRequest]:
    return [
        OrderRequest(o["order_ref"], data["plan_id"], o["symbol"], Side(o["side"]), Decimal(o["quantity"]),
                     OrderType(o["order_type"]), Decimal(o["intended_price"]), o["currency"])
        for o in data["orders"]
    ]


def recorded_order_statuses(ctx: "RunContext", plan_id: str, conn: "Connection | None" = None) -> dict[str, str]:
    """order_ref -> recorded status of the plan's orders (on ``conn`` when given: a
    writer's own connection sees what its transaction wrote)."""
    from trackrecord.ledger.sql import fetch_all, select_sql

    if conn is None:
        with ctx.ledger.engine.connect() as own:
            return recorded_order_statuses(ctx, plan_id, own)
    sql = select_sql(conn.dialect.name, "orders", ("order_ref", "status"), ("plan_id",))
    return dict(fetch_all(conn, sql, {"plan_id": plan_id})[1])


# -- portfolio, prices, signal, plan ----------------------------------------------------------


def _portfolio(ctx: "RunContext", decided_at: datetime, cash_override: Decimal | None) -> _Portfolio:
    if cash_override is not None:
        return _Portfolio(ctx.account_id, cash_override, cash_override, {}, f"empty account with {cash_override}")
    if ctx.broker is not None:
        snap: AccountSnapshot = ctx.broker.snapshot(decided_at)
        positions = {p.symbol: p.quantity for p in snap.positions if p.quantity}
        return _Portfolio(snap.account_id, snap.net_liquidation, snap.cash, positions, f"broker {snap.account_id}")
    from trackrecord.market.decisions import latest_positions

    latest, positions = latest_positions(ctx.ledger.engine, ctx.settings)
    if latest is None or latest.cash is None:
        raise UserError("dry run: no account snapshot with cash yet; pass --cash AMOUNT to plan for an empty account")
    return _Portfolio(latest.account_id, latest.nav, latest.cash, positions,
                      f"snapshot {latest.account_id} {latest.session_date}")


def _planning_prices(ctx: "RunContext", symbols: set[str], as_of: date) -> dict[str, Any]:
    from trackrecord.market.decisions import currency_and_rate
    from trackrecord.strategy.planner import PricePoint

    out = {}
    for symbol in sorted(symbols):
        found = ctx.book.last_close(symbol, as_of)
        if found is None:
            raise RuntimeFailure(f"no price for {symbol} on or before {as_of}: run `trackrecord prices update`")
        out[symbol] = PricePoint(decision_price(found[1]), *currency_and_rate(ctx.settings, symbol))
    return out


def _gate_and_signal(ctx: "RunContext", writer: "Writer", session: date, held: set[str]) -> Any:
    from trackrecord.market.decisions import SignalOutcome, signal_params, signal_payload
    from trackrecord.market.quality import check_quality
    from trackrecord.market.service import month_start_of
    from trackrecord.strategy.momentum import SignalError, prepare_month_ends, signal_for_month

    params = signal_params(ctx.settings.strategy)
    previous = ctx.calendar.previous_session(session)
    window_start = month_start_of(session, 1 + params.lookback_months)
    series = ctx.book.series(until=previous, start=window_start - timedelta(days=QUALITY_LOOKBACK_DAYS))
    prices = ctx.settings.prices
    quality = check_quality(series, ctx.calendar.sessions_between(window_start, previous), window_start, previous,
                            prices.max_daily_move, prices.max_gap_sessions)
    writer.append(kinds.QUALITY_CHECKED, {**quality.document(), "purpose": "signal", "as_of": session,
                                          "calendar": ctx.calendar.code})
    if not quality.passed:
        return quality
    try:
        signal = signal_for_month(prepare_month_ends({s: v.history for s, v in series.items()}), session, params, held)
    except SignalError as exc:
        return exc
    sectors = {i.symbol: i.sector for i in ctx.settings.universe.instruments}
    outcome = SignalOutcome(signal, session, quality, ctx.simulated, sectors, None)
    event = writer.append(kinds.SIGNAL_COMPUTED, {**signal_payload(outcome), "mode": ctx.mode.value})
    return SignalOutcome(signal, session, quality, ctx.simulated, sectors, event.seq)


def _make_plan(ctx: "RunContext", writer: "Writer", session: date, portfolio: _Portfolio) -> dict[str, Any] | str:
    """Gate, signal and plan inside ``writer``; returns the ``plan.created`` payload, or
    why there is no plan (the gate or signal refused: what it found is recorded)."""
    from trackrecord.market.decisions import SignalOutcome, plan_params, plan_payload
    from trackrecord.strategy.planner import PlanError, plan_rebalance

    outcome = _gate_and_signal(ctx, writer, session, set(portfolio.positions))
    if not isinstance(outcome, SignalOutcome):
        return outcome.message() if hasattr(outcome, "message") else str(outcome)
    weights = {s: Decimal(repr(w)) for s, w in outcome.signal.target_weights.items()}
    prices = _planning_prices(ctx, {*portfolio.positions, *weights}, ctx.calendar.previous_session(session))
    try:
        plan = plan_rebalance(portfolio.account_id, session, portfolio.positions, portfolio.cash, prices,
                              weights, plan_params(ctx.settings), ctx.settings.account.base_currency)
    except PlanError as exc:
        raise UserError(f"cannot plan the rebalance of {session}: {exc}") from None
    payload = {**plan_payload(plan, outcome, portfolio.source, ctx.mode is Mode.DRY_RUN),
               "mode": ctx.mode.value, "positions": portfolio.positions}
    writer.append(kinds.PLAN_CREATED, payload)
    return json.loads(json.dumps(payload, default=str))


def _plan_and_decide(ctx: "RunContext", session: date, decided_at: datetime,
                     cash: Decimal | None) -> tuple[dict[str, Any], "PlanDecision"]:
    """Gate, signal, plan and risk decision in one transaction: a crash before its commit
    leaves no plan (the rerun plans afresh), after it the rerun reuses plan and decision.
    A refused gate or signal is committed, then raised."""
    portfolio = _portfolio(ctx, decided_at, cash)
    with ctx.ledger.writer() as writer:
        planned = _make_plan(ctx, writer, session, portfolio)
        if isinstance(planned, dict):
            decision = _decide(ctx, writer, planned, _orders_from_plan(planned), session, decided_at)
    if not isinstance(planned, dict):
        raise RuntimeFailure(f"no rebalance on {session}: {planned}")
    return planned, decision


# -- risk ----------------------------------------------------------------------------------------


def _risk_context(ctx: "RunContext", conn: "Connection", plan: dict[str, Any], session: date,
                  decided_at: datetime) -> Any:
    from trackrecord.engine.kill_switch import read_status
    from trackrecord.risk.rules import RiskContext

    previous = ctx.calendar.previous_session(session)
    last_closes: dict[str, Decimal] = {}
    ages: dict[str, int] = {}
    for order in plan["orders"]:
        found = ctx.book.last_close(order["symbol"], previous)
        if found is not None:
            last_closes[order["symbol"]] = decision_price(found[1])
            ages[order["symbol"]] = int(ctx.calendar.sessions_between(found[0], session).size) - 1
    cutoff = ctx.calendar.close_time(session) - timedelta(minutes=ctx.settings.risk.moc_cutoff_minutes) \
        if ctx.calendar.is_session(session) else None
    previous_nav, flows = _previous_nav_and_flows(conn, plan["account_id"], session)
    state = read_status(conn).state
    return RiskContext(
        session_date=session, decided_at=decided_at, is_session=ctx.calendar.is_session(session),
        trading_state=state, nav=Decimal(plan["nav"]), cash=Decimal(plan["cash"]),
        positions={s: Decimal(q) for s, q in plan.get("positions", {}).items()}, last_closes=last_closes,
        price_age_sessions=ages, base_currency=ctx.settings.account.base_currency,
        fx_rates=dict(ctx.settings.prices.fx_rates), moc_cutoff=cutoff, previous_nav=previous_nav,
        flows_since_previous=flows, connected_account=ctx.broker.account_id if ctx.broker else None,
        configured_account=ctx.settings.account.account_id,
    )


def _previous_nav_and_flows(conn: "Connection", account_id: str, session: date) -> tuple[Decimal | None, Decimal]:
    """The NAV of the account's last snapshot before ``session`` and the flows booked since."""
    from trackrecord.ledger.sql import fetch_all, fetch_one, param

    dialect = conn.dialect.name
    row = fetch_one(conn, f"SELECT session_date, nav FROM snapshots WHERE account_id = {param(dialect, 'account')} "
                          f"AND session_date < {param(dialect, 'session')} ORDER BY session_date DESC LIMIT 1",
                    {"account": account_id, "session": session.isoformat()})
    if row is None:
        return None, Decimal(0)
    _, amounts = fetch_all(conn, f"SELECT amount FROM cashflows WHERE flow_date > {param(dialect, 'after')} "
                                 f"AND flow_date <= {param(dialect, 'session')}",
                           {"after": row[0], "session": session.isoformat()})
    return Decimal(row[1]), sum((Decimal(a) for (a,) in amounts), Decimal(0))


def _decide(ctx: "RunContext", writer: "Writer", plan: dict[str, Any], orders: list[OrderRequest], session: date,
            decided_at: datetime) -> "PlanDecision":
    """Check the plan against the risk rules and record the decision inside ``writer``
    (the kill switch and the account's history are read in the same transaction)."""
    from trackrecord.engine.kill_switch import halt
    from trackrecord.risk.rules import RiskLimits, check_plan

    context = _risk_context(ctx, writer.conn, plan, session, decided_at)
    decision = check_plan(orders, context, RiskLimits.from_config(ctx.settings.risk))
    writer.append(kinds.RISK_DECIDED, {"plan_id": plan["plan_id"], "mode": ctx.mode.value,
                                       "decided_at": decided_at, **decision.document()})
    if decision.halt:
        halt(writer, "; ".join(r.message for r in decision.denials if r.details.get("halt")))
    return decision


# -- submission ------------------------------------------------------------------------------------


def _broker_refs(ctx: "RunContext", since: datetime) -> dict[str, BrokerOrder | None]:
    """Order refs the broker already knows: open orders and executions since ``since``."""
    assert ctx.broker is not None
    known: dict[str, BrokerOrder | None] = {o.order_ref: o for o in ctx.broker.open_orders()}
    for fill in ctx.broker.executions_since(since):
        known.setdefault(fill.order_ref, None)
    return known


def _submit(ctx: "RunContext", report: RebalanceReport, positions: dict[str, Decimal], session_start: datetime) -> None:
    """Send each order the broker does not have yet. The intent is committed before an
    order leaves; its status after the broker answered rides with the next commit (a
    crash in between is harmless: the rerun finds the order at the broker)."""
    from trackrecord.engine.kill_switch import read_status
    from trackrecord.risk.rules import check_order_now

    assert ctx.broker is not None
    _qualify(ctx, report.orders)
    known = _broker_refs(ctx, session_start)
    recorded = recorded_order_statuses(ctx, report.plan_id)
    answered: list[tuple[str, dict[str, Any]]] = []

    def record(*items: tuple[str, dict[str, Any]]) -> None:
        with ctx.ledger.writer() as writer:
            writer.append_many([*answered, *items])
        answered.clear()

    try:
        for index, order in enumerate(report.orders, start=1):
            if order.order_ref in known:
                report.already_at_broker.append(order.order_ref)
                if recorded.get(order.order_ref) in (None, "pending_submit"):
                    record(_submission_found(ctx, order, known[order.order_ref]))
                continue
            if recorded.get(order.order_ref) not in (None, "pending_submit"):
                report.messages.append(f"{order.order_ref} was {recorded[order.order_ref]} before: not sent again")
                continue
            with ctx.ledger.writer() as writer:  # the kill switch is read in the intent's own transaction
                verdict = check_order_now(read_status(writer.conn).state, order, positions.get(order.symbol, Decimal(0)))
                if verdict.passed:
                    intent = [(kinds.ORDER_SUBMITTED, order_payload(order, ctx.mode.value, "pending_submit"))]
                else:
                    intent = _denials(ctx, report, report.orders[index - 1:], verdict.message)
                writer.append_many([*answered, *intent])
            answered.clear()
            if not verdict.passed:
                log.warning("kill switch refused %s: %s", order.order_ref, verdict.message)
                raise SafetyRefusal(verdict.message + f"; {len(report.denied)} order(s) not sent (recorded in the ledger)")
            log.info("sending %s %s %s %s (%s)", order.order_ref, order.side.value, order.quantity, order.symbol,
                     ctx.mode.value)
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


def _qualify(ctx: "RunContext", orders: list[OrderRequest]) -> None:
    """Resolve every traded line at the broker (IB pins its conId) before the first order
    leaves: a line the broker cannot resolve stops the run before anything is sent."""
    assert ctx.broker is not None
    traded = {o.symbol for o in orders}
    try:
        ctx.broker.qualify([i for i in ctx.settings.universe.domain_instruments() if i.symbol in traded])
    except BrokerError as exc:
        raise RuntimeFailure(f"the broker cannot resolve the instruments to trade: {exc}; "
                             "no order was sent in this run") from None


def _submission_found(ctx: "RunContext", order: OrderRequest, at_broker: BrokerOrder | None) -> tuple[str, dict[str, Any]]:
    status = at_broker.status.value if at_broker else OrderStatus.FILLED.value
    return kinds.ORDER_SUBMITTED, order_payload(order, ctx.mode.value, status, at_broker, "found at the broker on rerun")


def _denials(ctx: "RunContext", report: RebalanceReport, orders: list[OrderRequest],
             message: str) -> list[tuple[str, dict[str, Any]]]:
    report.denied.extend(o.order_ref for o in orders)
    return [(kinds.ORDER_DENIED, {"order_ref": o.order_ref, "plan_id": o.plan_id, "mode": ctx.mode.value,
                                  "rule": "kill_switch", "message": message}) for o in orders]


# -- the run -------------------------------------------------------------------------------------------


def session_start_utc(session: date) -> datetime:
    return datetime.combine(session, time(0, 0), tzinfo=timezone.utc)


def rebalance(ctx: "RunContext", session: date, decided_at: datetime, cash: Decimal | None = None) -> RebalanceReport:
    """Plan (or find the recorded plan of) ``session`` and, unless dry-run, send what the
    broker does not have yet. Raises SafetyRefusal (exit 3) when risk or the kill switch
    refuses; RuntimeFailure (exit 1) when data or the broker fails."""
    from trackrecord.strategy.planner import plan_id_for

    plan_id = plan_id_for(ctx.account_id, session)
    plan = _recorded(ctx, kinds.PLAN_CREATED, plan_id) if ctx.mode is not Mode.DRY_RUN else None
    report = RebalanceReport(plan_id, session, ctx.mode, reused_plan=plan is not None)
    decision: "PlanDecision | None" = None
    if plan is None:
        plan, decision = _plan_and_decide(ctx, session, decided_at, cash)
        report.plan_id = plan["plan_id"]
    crash_point("after_plan")
    report.orders = _orders_from_plan(plan)
    recorded_decision = _recorded(ctx, kinds.RISK_DECIDED, report.plan_id) if report.reused_plan else None
    if recorded_decision is not None:
        approved = bool(recorded_decision["approved"])
        denials = [r["message"] for r in recorded_decision["results"] if not r["passed"]]
    else:
        if decision is None:  # a recorded plan without its decision (a crash in between, before this release)
            with ctx.ledger.writer() as writer:
                decision = _decide(ctx, writer, plan, report.orders, session, decided_at)
        approved, denials = decision.approved, [r.message for r in decision.denials]
    crash_point("after_risk")
    report.verdict = "approved" if approved else "denied"
    log.info("plan %s (%s): %d order(s), risk %s%s", report.plan_id, ctx.mode.value, len(report.orders),
             report.verdict, " (recorded plan reused)" if report.reused_plan else "")
    if not approved:
        raise SafetyRefusal(f"risk refused the plan {report.plan_id}: " + "; ".join(denials[:3]))
    if not ctx.sends_orders or not report.orders:
        return report
    positions = {s: Decimal(q) for s, q in plan.get("positions", {}).items()}
    _submit(ctx, report, positions, session_start_utc(session))
    return report


def follow_orders(ctx: "RunContext", report: RebalanceReport, writer: "Writer | None" = None) -> RebalanceReport:
    """Follow the orders to a terminal state (or the timeout) and record what changed,
    inside ``writer`` when given (the close of day's transaction), else in its own."""
    assert ctx.broker is not None
    final = ctx.broker.wait_for_terminal([o.order_ref for o in report.orders], ctx.settings.broker.ibkr.order_timeout)
    recorded = recorded_order_statuses(ctx, report.plan_id, writer.conn if writer is not None else None)
    for order in final:
        report.statuses[order.order_ref] = order.status.value
    changed = [(kinds.ORDER_STATUS, status_payload(o)) for o in final if recorded.get(o.order_ref) != o.status.value]
    changed += _unknown_at_broker(report, recorded, {o.order_ref for o in final})
    if changed and writer is not None:
        writer.append_many(changed)
    elif changed:
        with ctx.ledger.writer() as own:
            own.append_many(changed)
    return report


def _unknown_at_broker(report: RebalanceReport, recorded: dict[str, str],
                       answered: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Sent orders the broker now shows nowhere (IB may forget finished orders): each is
    ``unknown_at_broker`` with a warning that needs a person; recorded once, never resent,
    revised if the broker shows the order again. Terminal or unsent orders stay as recorded."""
    unknown = OrderStatus.UNKNOWN_AT_BROKER.value
    changed: list[tuple[str, dict[str, Any]]] = []
    for order in report.orders:
        status = recorded.get(order.order_ref)
        if order.order_ref in answered or status in (None, OrderStatus.PENDING_SUBMIT.value) \
                or OrderStatus(status).is_terminal:
            continue
        warning = (f"{order.order_ref} ({order.side.value} {order.quantity} {order.symbol}) was {status} but the "
                   "broker shows it nowhere (no open or completed order, no execution): check it at the broker")
        log.warning("order unknown at the broker: %s", warning)
        report.messages.append(warning)
        report.statuses[order.order_ref] = unknown
        if status != unknown:
            changed.append((kinds.ORDER_STATUS, {"order_ref": order.order_ref, "status": unknown, "message": warning}))
    return changed


def settle(ctx: "RunContext", report: RebalanceReport, session: date, now: datetime) -> RebalanceReport:
    """After the orders went out: the closing auction (simulated market, once its prices
    are known), the orders' final states, the executions and the snapshot."""
    assert ctx.broker is not None
    closed_at = ctx.calendar.close_time(session)
    if ctx.session_clock is not None and now >= closed_at:
        ctx.session_clock.close_session(session, closed_at)
    with ctx.ledger.writer() as writer:
        follow_orders(ctx, report, writer)
        pulled = pull_executions(writer, ctx.broker, session_start_utc(session), ctx.simulated)
        report.fills = pulled.new_fills
        record_snapshot(writer, ctx.broker, now, session, ctx.simulated, ctx.mode.value)
    return report
