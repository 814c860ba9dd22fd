"""The ledger's read side: named queries over the projections and the events.

Every query takes the caller's connection: a writer passes its own (``writer.conn``) and sees
what its open transaction wrote; a reader opens one with :func:`reading`. Values come back
typed (Decimal, date, enums), never as rows.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import func, select, union

from trackrecord.domain import OrderStatus
from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import format_timestamp
from trackrecord.ledger.cashflows import flows_between, list_cashflows
from trackrecord.ledger.schema import events, fills, imports, snapshots
from trackrecord.ledger.sql import fetch_all, fetch_one, param, select_sql

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection, Engine


@contextlib.contextmanager
def reading(engine: "Engine") -> Iterator["Connection"]:
    with engine.connect() as conn:
        yield conn


# -- plans and decisions ------------------------------------------------------------------------


def _event_payload(conn: "Connection", seq: int) -> dict[str, Any] | None:
    row = fetch_one(conn, select_sql(conn.dialect.name, "events", ("payload",), ("seq",)), {"seq": seq})
    return json.loads(row[0]) if row else None


def recorded_plan(conn: "Connection", plan_id: str, mode: str) -> tuple[int, dict[str, Any]] | None:
    """(seq, payload) of the ``plan.created`` the engine acts on for ``plan_id`` in ``mode``."""
    row = fetch_one(conn, select_sql(conn.dialect.name, "plans", ("seq",), ("plan_id", "mode")),
                    {"plan_id": plan_id, "mode": mode})
    if row is None:
        return None
    payload = _event_payload(conn, row[0])
    return None if payload is None else (int(row[0]), payload)


def recorded_decision(conn: "Connection", plan_id: str, mode: str) -> tuple[int, dict[str, Any]] | None:
    """(seq, payload) of the latest ``risk.decided`` of the plan (a re-decision supersedes)."""
    row = fetch_one(conn, select_sql(conn.dialect.name, "plans", ("risk_seq",), ("plan_id", "mode")),
                    {"plan_id": plan_id, "mode": mode})
    if row is None or row[0] is None:
        return None
    payload = _event_payload(conn, row[0])
    return None if payload is None else (int(row[0]), payload)


# -- kill switch (``trackrecord.engine.kill_switch`` turns these rows into its state) ------------


def kill_switch_row(conn: "Connection") -> Any:
    """(state, reason, changed_at, seq) of the ``kill_switch`` projection's one row, or None."""
    sql = select_sql(conn.dialect.name, "kill_switch", ("state", "reason", "changed_at", "seq"), ("id",))
    return fetch_one(conn, sql, {"id": 1})


def last_kill_switch_change(conn: "Connection") -> Any:
    """(seq, recorded_at, payload text) of the last ``kill_switch.changed`` event, or None:
    one indexed read of the events themselves, independent of the projection."""
    sql = (f"SELECT seq, recorded_at, payload FROM events WHERE kind = {param(conn.dialect.name, 'kind')} "
           "ORDER BY seq DESC LIMIT 1")
    return fetch_one(conn, sql, {"kind": kinds.KILL_SWITCH_CHANGED})


def denied_since(conn: "Connection", plan_id: str, after_seq: int) -> set[str]:
    """Order refs of the plan's ``order.denied`` events recorded after ``after_seq``."""
    sql = (f"SELECT payload FROM events WHERE kind = {param(conn.dialect.name, 'kind')} "
           f"AND seq > {param(conn.dialect.name, 'after')}")
    denied = (json.loads(text) for (text,) in fetch_all(conn, sql, {"kind": kinds.ORDER_DENIED, "after": after_seq})[1])
    return {str(data["order_ref"]) for data in denied if data.get("plan_id") == plan_id}


# -- orders -------------------------------------------------------------------------------------


def order_statuses(conn: "Connection", plan_id: str) -> dict[str, OrderStatus]:
    """order_ref -> recorded status of the plan's orders."""
    sql = select_sql(conn.dialect.name, "orders", ("order_ref", "status"), ("plan_id",))
    return {ref: OrderStatus(status) for ref, status in fetch_all(conn, sql, {"plan_id": plan_id})[1]}


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """A sent order the ledger last saw working (or lost from the broker's view)."""

    order_ref: str
    plan_id: str
    side: str
    quantity: str
    symbol: str
    status: OrderStatus


_STILL_WORKING = (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.UNKNOWN_AT_BROKER)


def working_orders(conn: "Connection", mode: str, plan_prefix: str) -> list[WorkingOrder]:
    """The orders of ``mode`` whose plan id starts ``plan_prefix`` (one account's) that were
    sent and are not final in the ledger, in the order they were recorded."""
    dialect = conn.dialect.name
    names = {f"status{i}": s.value for i, s in enumerate(_STILL_WORKING)}
    sql = (f"SELECT order_ref, side, quantity, symbol, status, plan_id FROM orders WHERE mode = {param(dialect, 'mode')} "
           f"AND status IN ({', '.join(param(dialect, n) for n in names)}) ORDER BY last_seq")
    rows = fetch_all(conn, sql, {"mode": mode, **names})[1]
    return [WorkingOrder(ref, plan_id, side, quantity, symbol, OrderStatus(status))
            for ref, side, quantity, symbol, status, plan_id in rows if plan_id.startswith(plan_prefix)]


@dataclass(frozen=True, slots=True)
class OrderView:
    """One row of ``trackrecord orders``: the intent, its status and what it was filled at."""

    order_ref: str
    plan_id: str
    mode: str
    side: str
    quantity: str
    symbol: str
    order_type: str
    intended_price: str
    currency: str
    status: str
    broker_order_id: str | None
    message: str
    last_seq: int
    filled_quantity: Decimal
    fill_price: Decimal | None

    def document(self) -> dict[str, Any]:
        return {"order_ref": self.order_ref, "plan_id": self.plan_id, "mode": self.mode, "symbol": self.symbol,
                "side": self.side, "quantity": self.quantity, "order_type": self.order_type,
                "intended_price": self.intended_price, "currency": self.currency, "status": self.status,
                "broker_order_id": self.broker_order_id, "message": self.message, "last_seq": self.last_seq,
                "filled_quantity": str(self.filled_quantity),
                "fill_price": None if self.fill_price is None else str(self.fill_price)}


def average_fill_prices(conn: "Connection", order_refs: list[str]) -> dict[str, tuple[Decimal, Decimal]]:
    """order_ref -> (filled quantity, volume-weighted fill price) over its current fills
    (a corrected fill counts once, as its correction)."""
    if not order_refs:
        return {}
    dialect = conn.dialect.name
    names = {f"ref{i}": ref for i, ref in enumerate(order_refs)}
    sql = (f"SELECT order_ref, quantity, price FROM fills WHERE superseded_by IS NULL "
           f"AND order_ref IN ({', '.join(param(dialect, n) for n in names)})")
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for ref, quantity, price in fetch_all(conn, sql, names)[1]:
        shares, value = totals.get(ref, (Decimal(0), Decimal(0)))
        totals[ref] = (shares + Decimal(quantity), value + Decimal(quantity) * Decimal(price))
    return {ref: (shares, value / shares) for ref, (shares, value) in totals.items() if shares}


ORDER_VIEW_SQL = ("SELECT order_ref, plan_id, mode, side, quantity, symbol, order_type, intended_price, currency, "
                  "status, broker_order_id, message, last_seq FROM orders")


def recent_orders(conn: "Connection", limit: int) -> list[OrderView]:
    """The latest ``limit`` orders, latest first, each with its fill price when filled."""
    return _order_views(conn, fetch_all(conn, f"{ORDER_VIEW_SQL} ORDER BY last_seq DESC LIMIT {int(limit)}")[1])


def recorded_order(conn: "Connection", order_ref: str) -> OrderView | None:
    """The recorded order ``order_ref`` as ``trackrecord orders`` shows it, or None."""
    sql = f"{ORDER_VIEW_SQL} WHERE order_ref = {param(conn.dialect.name, 'order_ref')}"
    views = _order_views(conn, fetch_all(conn, sql, {"order_ref": order_ref})[1])
    return views[0] if views else None


def _order_views(conn: "Connection", rows: list[Any]) -> list[OrderView]:
    fills = average_fill_prices(conn, [r[0] for r in rows])
    out = []
    for row in rows:
        shares, price = fills.get(row[0], (Decimal(0), None))
        out.append(OrderView(*row[:12], int(row[12]), shares, price))
    return out


def intended_prices(conn: "Connection", order_refs: set[str]) -> dict[str, tuple[Any, str]]:
    """order_ref -> (intended price, order type) of the recorded orders."""
    if not order_refs:
        return {}
    dialect = conn.dialect.name
    names = {f"ref{i}": ref for i, ref in enumerate(sorted(order_refs))}
    sql = (f"SELECT order_ref, intended_price, order_type FROM orders "
           f"WHERE order_ref IN ({', '.join(param(dialect, name) for name in names)})")
    return {ref: (price, order_type) for ref, price, order_type in fetch_all(conn, sql, names)[1]}


def recorded_commissions(conn: "Connection", since: "datetime | None") -> dict[str, Any]:
    """exec_id -> recorded commission (None while pending) of the fills since ``since``."""
    sql = "SELECT exec_id, commission FROM fills"
    params: dict[str, Any] = {}
    if since is not None:
        sql += f" WHERE executed_at >= {param(conn.dialect.name, 'since')}"
        params["since"] = format_timestamp(since)
    return dict(fetch_all(conn, sql, params)[1])


# -- snapshots and flows -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedSnapshot:
    account_id: str
    session_date: date
    nav: Decimal
    cash: Decimal | None
    positions: dict[str, Decimal]

    @property
    def source(self) -> str:
        return f"snapshot {self.account_id} {self.session_date}"


def _positions(raw: Any) -> dict[str, Decimal]:
    items = raw.items() if isinstance(raw, dict) else (
        (p.get("symbol"), p.get("quantity")) for p in raw if isinstance(p, dict))
    out = {}
    for symbol, quantity in items:
        if isinstance(quantity, dict):
            quantity = quantity.get("quantity")
        if symbol and quantity not in (None, "", "0") and Decimal(str(quantity)):
            out[str(symbol)] = Decimal(str(quantity))
    return out


def latest_snapshot(conn: "Connection", account_id: str | None) -> RecordedSnapshot | None:
    """The latest snapshot of ``account_id`` (of any account when None)."""
    dialect = conn.dialect.name
    where = f"WHERE account_id = {param(dialect, 'account')} " if account_id else ""
    row = fetch_one(conn, f"SELECT account_id, session_date, nav, cash, positions FROM snapshots {where}"
                          "ORDER BY session_date DESC, seq DESC LIMIT 1", {"account": account_id} if where else {})
    if row is None:
        return None
    account, session, nav, cash, positions = row
    return RecordedSnapshot(account, date.fromisoformat(session), Decimal(nav),
                            None if cash is None else Decimal(cash), _positions(json.loads(positions or "[]")))


def has_snapshot_on_or_before(conn: "Connection", account_id: str, day: date) -> bool:
    """Whether the account has a snapshot of ``day`` or of an earlier session."""
    dialect = conn.dialect.name
    row = fetch_one(conn, f"SELECT 1 FROM snapshots WHERE account_id = {param(dialect, 'account')} "
                          f"AND session_date <= {param(dialect, 'day')} LIMIT 1",
                    {"account": account_id, "day": day.isoformat()})
    return row is not None


def snapshot_sessions_from(conn: "Connection", account_id: str, start: date) -> list[date]:
    """The sessions on or after ``start`` the account has a snapshot of, in order."""
    dialect = conn.dialect.name
    _, rows = fetch_all(conn, f"SELECT DISTINCT session_date FROM snapshots WHERE account_id = {param(dialect, 'account')} "
                              f"AND session_date >= {param(dialect, 'start')} ORDER BY session_date",
                        {"account": account_id, "start": start.isoformat()})
    return [date.fromisoformat(r[0]) for r in rows]


def recorded_snapshot_content(conn: "Connection", account_id: str, session: date) -> tuple[Any, ...] | None:
    """(nav, cash, positions text) of the account's recorded snapshot of ``session``."""
    sql = select_sql(conn.dialect.name, "snapshots", ("nav", "cash", "positions"), ("account_id", "session_date"))
    row = fetch_one(conn, sql, {"account_id": account_id, "session_date": session.isoformat()})
    return None if row is None else tuple(row)


@dataclass(frozen=True, slots=True)
class PreviousValue:
    """The account's last snapshot before a session and the external flows booked since."""

    session_date: date | None
    nav: Decimal | None
    flows: Decimal


def nav_and_flows_before(conn: "Connection", account_id: str, session: date,
                         default_account: str | None = None) -> PreviousValue:
    """The NAV of the account's last snapshot before ``session`` and the account's flows
    booked after it, up to and including ``session`` (flows recorded without an account
    are the ``default_account``'s)."""
    dialect = conn.dialect.name
    row = fetch_one(conn, f"SELECT session_date, nav FROM snapshots WHERE account_id = {param(dialect, 'account')} "
                          f"AND session_date < {param(dialect, 'session')} ORDER BY session_date DESC LIMIT 1",
                    {"account": account_id, "session": session.isoformat()})
    if row is None:
        return PreviousValue(None, None, Decimal(0))
    previous = date.fromisoformat(row[0])
    flows = flows_between(conn, previous, session, account_id, default_account)
    return PreviousValue(previous, Decimal(row[1]), flows)


def has_cashflows(conn: "Connection", account_id: str, default_account: str | None = None) -> bool:
    """Whether any flow that counts was ever booked for the account."""
    return bool(list_cashflows(conn, account_id=account_id, default_account=default_account))


def recorded_accounts(conn: "Connection") -> list[str]:
    """Accounts with a snapshot or a fill, sorted."""
    query = union(select(snapshots.c.account_id), select(fills.c.account_id))
    return sorted(str(row[0]) for row in conn.execute(query))


# -- performance inputs (``trackrecord.engine.performance``) -------------------------------------


def rows_by_account(conn: "Connection", table: str) -> dict[str, int]:
    """account_id -> number of rows in ``table`` ("snapshots" or "fills")."""
    source = {"snapshots": snapshots, "fills": fills}[table]
    return {str(a): int(n) for a, n in conn.execute(select(source.c.account_id, func.count())
                                                       .group_by(source.c.account_id)).all()}


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """One recorded snapshot as the projection stores it (amounts as their exact text)."""

    session_date: date
    nav: str
    base_currency: str
    is_paper: bool
    simulated: bool
    positions: str
    seq: int


def snapshot_history(conn: "Connection", account_id: str) -> list[SnapshotRecord]:
    """The account's snapshots, oldest first."""
    sql = (f"SELECT session_date, nav, base_currency, is_paper, simulated, positions, seq FROM {snapshots.name} "
           f"WHERE account_id = {param(conn.dialect.name, 'account')} ORDER BY session_date")
    _, rows = fetch_all(conn, sql, {"account": account_id})  # the driver's cursor: a 25-year record has 6,000+ rows
    return [SnapshotRecord(date.fromisoformat(day), nav, currency, bool(paper), bool(simulated), positions, int(seq))
            for day, nav, currency, paper, simulated, positions, seq in rows]


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One current (not superseded) fill as the projection stores it."""

    exec_id: str
    seq: int
    order_ref: str
    symbol: str
    side: str
    quantity: str
    price: str
    executed_at: str
    commission: str | None
    intended_price: str | None
    order_type: str | None
    simulated: bool


def current_fills(conn: "Connection", account_id: str) -> list[FillRecord]:
    """The account's fills a correction has not superseded, in execution order."""
    sql = (f"SELECT exec_id, seq, order_ref, symbol, side, quantity, price, executed_at, commission, intended_price, "
           f"order_type, simulated FROM {fills.name} WHERE account_id = {param(conn.dialect.name, 'account')} "
           "AND superseded_by IS NULL ORDER BY executed_at, seq")
    _, rows = fetch_all(conn, sql, {"account": account_id})  # the driver's cursor: read by every report and stats
    return [FillRecord(exec_id, int(seq), order_ref, symbol, side, quantity, price, executed_at, commission, intended,
                       order_type, bool(simulated))
            for exec_id, seq, order_ref, symbol, side, quantity, price, executed_at, commission, intended, order_type,
            simulated in rows]


def has_paper_snapshot(conn: "Connection", account_id: str) -> bool:
    query = select(snapshots.c.is_paper).where(snapshots.c.account_id == account_id, snapshots.c.is_paper.is_(True))
    return conn.execute(query.limit(1)).first() is not None


def positions_at(conn: "Connection", account_id: str, until: date | None) -> str | None:
    """The positions text of the account's last snapshot on or before ``until`` (the last
    one when None); None without one."""
    query = select(snapshots.c.positions).where(snapshots.c.account_id == account_id)
    if until is not None:
        query = query.where(snapshots.c.session_date <= until.isoformat())
    return conn.execute(query.order_by(snapshots.c.session_date.desc()).limit(1)).scalar()


# -- imports ------------------------------------------------------------------------------------


def recorded_imports(conn: "Connection", content_hashes: list[str]) -> dict[str, str | None]:
    """Those of ``content_hashes`` an ``import.recorded`` event already names, each with that
    event's ``imported_at`` as recorded (None if it has none): a file seen then holds no close
    of a later session."""
    if not content_hashes:
        return {}
    rows = conn.execute(select(imports.c.content_hash, events.c.payload)
                        .join(events, events.c.seq == imports.c.seq)
                        .where(imports.c.content_hash.in_(content_hashes))).all()
    found: dict[str, str | None] = {}
    for content_hash, payload in rows:
        seen = json.loads(payload).get("imported_at")
        found[content_hash] = seen if isinstance(seen, str) else None
    return found


# -- attribution (the model the account planned on) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedSignal:
    """The signal an executed plan of the account was made from: its session, the signal's
    target weights and the plan's cash buffer (exact text, as recorded); ``approved`` (None:
    not decided) and how many orders the plan had."""

    session_date: date
    weights: dict[str, str]
    cash_buffer: str
    plan_id: str
    approved: bool | None
    orders: int


def planned_signals(conn: "Connection", account_id: str) -> list[PlannedSignal]:
    """One per session, oldest first: the account's ``plan.created`` that the engine acts on
    (``execution``, not a preview) and the ``signal.computed`` it names by ``signal_seq``;
    refused plans included (the model trades what the account was refused)."""
    from trackrecord.ledger.schema import events, plans

    query = select(events.c.payload).where(events.c.kind == kinds.PLAN_CREATED).order_by(events.c.seq)
    approved = {(r.plan_id, r.mode): r.approved for r in conn.execute(select(plans.c.plan_id, plans.c.mode,
                                                                              plans.c.approved))}
    out: dict[date, PlannedSignal] = {}
    for (text,) in conn.execute(query):
        plan = json.loads(text)
        if plan.get("account_id") != account_id or not plan.get("execution") or plan.get("preview"):
            continue
        session = date.fromisoformat(str(plan["session_date"]))
        if session in out:  # a later plan of a session the engine acted on already: its signal is not read
            continue
        signal = _event_payload(conn, int(plan["signal_seq"])) if plan.get("signal_seq") is not None else None
        if signal is None:
            continue
        decided = approved.get((plan["plan_id"], plan.get("mode")))
        out[session] = PlannedSignal(session, {str(s): str(w) for s, w in signal.get("weights", {}).items()},
                                     str(plan.get("params", {}).get("cash_buffer", "0")), str(plan["plan_id"]),
                                     None if decided is None else bool(decided), len(plan.get("orders", [])))
    return [out[d] for d in sorted(out)]


def snapshot_cash(conn: "Connection", account_id: str) -> dict[date, str | None]:
    """The cash each of the account's snapshots recorded (None where it recorded none)."""
    query = select(snapshots.c.session_date, snapshots.c.cash).where(snapshots.c.account_id == account_id)
    return {date.fromisoformat(day): cash for day, cash in conn.execute(query)}
