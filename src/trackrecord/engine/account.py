"""Pull executions, follow the orders still working and snapshot the account: the daily
bookkeeping against any broker.

Each is idempotent: a repeated pull adds nothing (fills keyed by exec id; a commission
that was pending is completed by its own event, never recorded as zero), an order's state
is recorded when it changed, and a snapshot identical to the one recorded for the same
session adds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from trackrecord.brokers.base import Broker
from trackrecord.domain import AccountSnapshot, BrokerOrder, Mode, OrderStatus
from trackrecord.engine.recording import canonical_snapshot, fill_payload, snapshot_payload, status_payload
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger import queries
from trackrecord.ledger.canonical import Canonical, normalise
from trackrecord.ledger.projections import snapshot_content
from trackrecord.strategy.planner import plan_prefix_for, plan_session

if TYPE_CHECKING:
    from trackrecord.engine.context import RunContext
    from trackrecord.ledger.store import Writer

log = logging.getLogger(__name__)


@dataclass
class PullResult:
    new_fills: int = 0
    completed_commissions: int = 0
    pending_commissions: int = 0
    repeated: int = 0
    exec_ids: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {"new_fills": self.new_fills, "completed_commissions": self.completed_commissions,
                "pending_commissions": self.pending_commissions, "repeated": self.repeated}


def pull_executions(writer: "Writer", broker: Broker, since: datetime, simulated: bool) -> PullResult:
    """Record the broker's executions since ``since`` that the ledger does not have yet."""
    result = PullResult()
    executions = broker.executions_since(since)
    if not executions:
        return result
    complete = _complete_in_transaction(writer)
    if all(fill.exec_id in complete for fill in executions):  # the day after a rebalance, in a backtest's month
        result.repeated = len(executions)
        return result
    recorded = queries.recorded_commissions(writer.conn, None if len(executions) > 50 else
                                            min(f.executed_at for f in executions))
    intended = queries.intended_prices(writer.conn, {f.order_ref for f in executions if f.order_ref})
    items: list[tuple[str, dict[str, Any]]] = []
    for fill in executions:
        if fill.exec_id in recorded:
            if recorded[fill.exec_id] is None and fill.commission is not None:
                items.append((kinds.COMMISSION_RECORDED, {"exec_id": fill.exec_id, "commission": fill.commission,
                                                          "currency": fill.commission_currency}))
                recorded[fill.exec_id] = fill.commission
                result.completed_commissions += 1
            else:
                result.repeated += 1
            continue
        price, order_type = intended.get(fill.order_ref, (None, None))
        items.append((kinds.FILL_RECORDED, fill_payload(fill, price, order_type, simulated)))
        recorded[fill.exec_id] = fill.commission
        result.new_fills += 1
        result.exec_ids.append(fill.exec_id)
        if fill.commission is None:
            result.pending_commissions += 1
    writer.append_many(items)
    complete.update(fill.exec_id for fill in executions if recorded.get(fill.exec_id) is not None)
    return result


@dataclass
class FollowedOrders:
    """What became of the orders the ledger still showed working."""

    changed: dict[str, OrderStatus] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {"orders_changed": {ref: status.value for ref, status in self.changed.items()},
                "order_warnings": self.warnings}

    def summary(self) -> str:
        return order_changes_summary({ref: status.value for ref, status in self.changed.items()})


def order_changes_summary(changed: dict[str, str]) -> str:
    """``2 order(s) now filled, 1 order(s) now cancelled``; empty when nothing changed."""
    counts: dict[str, int] = {}
    for status in changed.values():
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n} order(s) now {status}" for status, n in counts.items())


@dataclass
class Settled:
    """What the broker told the ledger: executions, and the ends of orders still working."""

    pulled: PullResult
    orders: FollowedOrders

    def document(self) -> dict[str, Any]:
        return {**self.pulled.document(), **self.orders.document()}


def settle_with_broker(writer: "Writer", ctx: "RunContext", since: datetime) -> Settled:
    """Record the broker's executions since ``since`` and those of every order of the run's
    mode and account the ledger still shows working however old (an auction a later
    `snapshot` ran, an order filled weeks on), then where each such order stands now
    (``follow_working_orders``)."""
    working = queries.working_orders(writer.conn, ctx.mode.value, plan_prefix_for(ctx.account_id))
    if working:
        since = min(since, session_start_utc(min(plan_session(o.plan_id) for o in working)))
    return Settled(pull_executions(writer, ctx.broker, since, ctx.simulated),
                   follow_working_orders(writer, ctx.broker, working))


def follow_working_orders(writer: "Writer", broker: Broker, working: list[queries.WorkingOrder]) -> FollowedOrders:
    """Ask the broker where the orders the ledger still shows working (sent, not final)
    stand now, and record each change: a market-on-close order filled at a later run's
    auction, a day order the exchange cancelled at the close, an order cancelled in TWS.
    One the broker shows nowhere becomes ``unknown_at_broker``, recorded once and logged
    as a warning each time it is asked about."""
    followed = FollowedOrders()
    if not working:
        return followed
    answered = {o.order_ref: o for o in broker.wait_for_terminal([o.order_ref for o in working], 0)}
    items: list[tuple[str, dict[str, Any]]] = []
    for order in working:
        at_broker = answered.get(order.order_ref)
        if at_broker is not None:
            at_broker = ended_short(at_broker, Decimal(order.quantity))
            if at_broker.status is not order.status:
                items.append((kinds.ORDER_STATUS, status_payload(at_broker)))
                followed.changed[order.order_ref] = at_broker.status
            continue
        warning = unknown_at_broker_warning(order.order_ref, order.side, order.quantity, order.symbol, order.status)
        followed.warnings.append(warning)
        log.warning("order unknown at the broker: %s", warning)
        if order.status is not OrderStatus.UNKNOWN_AT_BROKER:
            items.append((kinds.ORDER_STATUS, {"order_ref": order.order_ref,
                                               "status": OrderStatus.UNKNOWN_AT_BROKER.value, "message": warning}))
            followed.changed[order.order_ref] = OrderStatus.UNKNOWN_AT_BROKER
    writer.append_many(items)
    return followed


def ended_short(at_broker: BrokerOrder, ordered: Decimal) -> BrokerOrder:
    """An order the broker shows only through executions short of what was ordered (IB
    forgot it: not working, no completed order) ended with the rest unfilled: cancelled,
    not filled, whatever the rebuilt order says."""
    if at_broker.status is not OrderStatus.FILLED or at_broker.order_type is not None or \
            at_broker.filled_quantity >= ordered:
        return at_broker
    return replace(at_broker, status=OrderStatus.CANCELLED,
                   message=f"{at_broker.message}; {at_broker.filled_quantity} of {ordered} executed and no order "
                           "working: the rest did not fill")


def session_start_utc(session: date) -> datetime:
    return datetime.combine(session, time(0, 0), tzinfo=timezone.utc)


def unknown_at_broker_warning(order_ref: str, side: str, quantity: Any, symbol: str, status: OrderStatus) -> str:
    return (f"{order_ref} ({side} {quantity} {symbol}) was {status.value} but the broker shows it nowhere "
            "(no open or completed order, no execution): check it at the broker")


_COMPLETE_FILLS = "trackrecord.fills.complete"  # Connection.info: (transaction, exec ids)


def _complete_in_transaction(writer: "Writer") -> set[str]:
    """Exec ids this transaction has seen recorded with their commission: a pull that finds
    only those adds nothing, known without a query (the ledger is append-only and the
    transaction holds the single-writer lock)."""
    conn = writer.conn
    transaction = conn.get_transaction()
    if transaction is None:
        return set()
    held = conn.info.get(_COMPLETE_FILLS)
    if held is None or held[0] is not transaction:
        held = conn.info[_COMPLETE_FILLS] = (transaction, set())
    return held[1]


class StaleSnapshot(UserError):
    """A simulated account valued at marks older than the session it would be labelled with."""


def record_snapshot(writer: "Writer", broker: Broker, as_of: datetime, session_date: date, simulated: bool,
                    mode: Mode, default_account: str | None = None) -> tuple[bool, dict[str, Any]]:
    """Snapshot the account for a session; return (written, payload).

    Refused (exit 2, nothing written) when the account was never funded and holds nothing,
    and in paper mode when a position is valued at a price older than the session. Live,
    the broker's valuation is recorded as it is, its old marks listed in ``stale_marks``.
    """
    snapshot = broker.snapshot(as_of)
    if snapshot.session_date != session_date:
        snapshot = replace(snapshot, session_date=session_date)
    if not snapshot.positions and not snapshot.net_liquidation and \
            not queries.has_cashflows(writer.conn, snapshot.account_id, default_account):
        raise UserError(f"no snapshot of {snapshot.account_id} for {session_date}: the account has never been "
                        "funded and holds nothing; record the deposit first (`trackrecord cashflow add`)")
    stale = stale_marks(snapshot, session_date, undated_is_stale=mode is not Mode.LIVE)
    if stale and mode is not Mode.LIVE:
        named = ", ".join(f"{symbol} {day or 'without a price'}" for symbol, day in stale)
        unpriced = [symbol for symbol, day in stale if day is None]
        fix = "" if not unpriced else (f"; a held instrument without any stored price must be in universe.instruments "
                                       f"of trackrecord.yaml until it is sold: is {', '.join(unpriced)} still there?")
        raise StaleSnapshot(f"snapshot of {snapshot.account_id} for {session_date} refused: marks older than the "
                            f"session ({named}); store the session's prices first (`trackrecord prices update` "
                            f"or `prices import`){fix}")
    payload = snapshot_payload(snapshot, simulated, mode.value)
    if stale:
        payload["stale_marks"] = [{"symbol": s, "price_date": d} for s, d in stale]
        log.warning("snapshot of %s for %s: the broker's marks are older than the session for %s",
                    snapshot.account_id, session_date, ", ".join(f"{s} ({d})" for s, d in stale))
    canonical = canonical_snapshot(payload)
    if _same_as_recorded(writer, payload, canonical):
        return False, payload
    writer.append(kinds.SNAPSHOT_RECORDED, canonical or payload)
    return True, payload


def stale_marks(snapshot: AccountSnapshot, session_date: date,
                undated_is_stale: bool) -> list[tuple[str, date | None]]:
    """(symbol, price date) of the positions valued at a price dated before the session;
    a position whose price has no date counts when ``undated_is_stale`` (the simulated
    account dates every market price it has)."""
    return [(p.symbol, p.price_date) for p in snapshot.positions
            if (p.price_date is None and undated_is_stale) or (p.price_date is not None and p.price_date < session_date)]


def _same_as_recorded(writer: "Writer", payload: dict[str, Any], canonical: Canonical | None) -> bool:
    """Whether the session's recorded snapshot has the same content (nav, cash, positions);
    no query when the writer knows the account has no snapshot that late (a replay's next session)."""
    if not writer.may_hold_snapshot(payload["account_id"], payload["session_date"]):
        return False
    row = queries.recorded_snapshot_content(writer.conn, payload["account_id"], payload["session_date"])
    return row is not None and row == snapshot_content(normalise(payload) if canonical is None else canonical.data)

