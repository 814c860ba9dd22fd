"""Query tables as projections of events, written in the event's own transaction.

A projector is a pure function from one event to row operations. The same operations
are applied to the database when an event is appended, and to an in-memory table set
when ``verify`` rebuilds every projection from the chain alone and compares.

Stdlib only (the kill switch's fast path appends through it too): the tables' primary
keys are stated here, and a test holds them equal to ``trackrecord.ledger.schema``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import CanonicalList
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.sql import execute_on_cursor, positional_insert_sql, positional_upsert_sql, update_sql

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Insert:
    table: str
    row: Row


@dataclass(frozen=True, slots=True)
class Upsert:
    table: str
    row: Row


@dataclass(frozen=True, slots=True)
class Update:
    """Update of the row whose primary key is ``key``."""

    table: str
    key: Row
    values: Row


Op = Insert | Upsert | Update
Projector = Callable[[StoredEvent, dict[str, Any]], list[Op]]

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {  # == schema.PROJECTION_TABLES' primary keys
    "cashflows": ("seq",),
    "snapshots": ("account_id", "session_date"),
    "fills": ("exec_id",),
    "orders": ("order_ref",),
    "imports": ("content_hash",),
    "kill_switch": ("id",),
    "checkpoints": ("seq",),
    "plans": ("plan_id", "mode"),
}
TABLES = tuple(PRIMARY_KEYS)


def _cashflow(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Insert("cashflows", {
        "seq": event.seq, "flow_date": data["flow_date"], "amount": data["amount"],
        "currency": data["currency"], "note": data.get("note", ""),
        "account_id": data.get("account_id"), "date_given": data.get("date_given"), "voided_by": None,
    })]


def _cashflow_voided(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Update("cashflows", {"seq": int(data["seq"])}, {"voided_by": event.seq})]


_POSITIONS_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # json.dumps makes one per call


def positions_text(positions: Any) -> str:
    """How a snapshot's positions are kept in the ``snapshots`` table (canonical JSON data).
    A ``CanonicalList``'s own text is that text when it is ASCII (the table's text escapes
    what is not: ``ensure_ascii``)."""
    if type(positions) is CanonicalList and positions.text.isascii():
        return positions.text
    return _POSITIONS_ENCODER.encode(positions or [])


def snapshot_content(data: dict[str, Any]) -> tuple[Any, Any, str]:
    """(nav, cash, positions) of a normalised snapshot payload, as the table stores them:
    what decides whether a new snapshot repeats the recorded one."""
    return data["nav"], data.get("cash"), positions_text(data.get("positions"))


def _snapshot(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Upsert("snapshots", {
        "account_id": data["account_id"], "session_date": data["session_date"], "seq": event.seq,
        "taken_at": data["taken_at"], "base_currency": data["base_currency"], "nav": data["nav"],
        "cash": data.get("cash"), "is_paper": bool(data.get("is_paper", False)),
        "simulated": bool(data.get("simulated", False)),
        "positions": positions_text(data.get("positions")),
    })]


def _fill(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    ops: list[Op] = [Insert("fills", {
        "exec_id": data["exec_id"], "seq": event.seq, "account_id": data.get("account_id", ""),
        "order_ref": data.get("order_ref", ""), "symbol": data["symbol"], "side": data["side"],
        "quantity": data["quantity"], "price": data["price"], "currency": data["currency"],
        "executed_at": data["executed_at"], "commission": data.get("commission"),
        "commission_currency": data.get("commission_currency"), "intended_price": data.get("intended_price"),
        "order_type": data.get("order_type"), "supersedes": data.get("supersedes"), "superseded_by": None,
        "simulated": bool(data.get("simulated", False)),
    })]
    if data.get("supersedes"):
        ops.append(Update("fills", {"exec_id": data["supersedes"]}, {"superseded_by": data["exec_id"]}))
    return ops


def _commission(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Update("fills", {"exec_id": data["exec_id"]},
                   {"commission": data["commission"], "commission_currency": data.get("currency")})]


def _import(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Insert("imports", {
        "content_hash": data["content_hash"], "kind": data["kind"], "source": data["source"],
        "rows": int(data["rows"]), "seq": event.seq,
    })]


def _order_submitted(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Upsert("orders", {
        "order_ref": data["order_ref"], "plan_id": data["plan_id"], "mode": data["mode"],
        "symbol": data["symbol"], "side": data["side"], "quantity": data["quantity"],
        "order_type": data["order_type"], "intended_price": data["intended_price"],
        "currency": data["currency"], "status": data.get("status", "pending_submit"),
        "broker_order_id": data.get("broker_order_id"), "message": data.get("message", ""),
        "last_seq": event.seq,
    })]


def _order_status(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    values: Row = {"status": data["status"], "message": data.get("message", ""), "last_seq": event.seq}
    if data.get("broker_order_id"):
        values["broker_order_id"] = data["broker_order_id"]
    return [Update("orders", {"order_ref": data["order_ref"]}, values)]


def _kill_switch(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Upsert("kill_switch", {
        "id": 1, "state": data["state"], "reason": data.get("reason", ""),
        "changed_at": event.recorded_at, "seq": event.seq,
    })]


def _checkpoint(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Insert("checkpoints", {
        "seq": event.seq, "head_seq": int(data["head_seq"]), "head_hash": data["head_hash"],
        "public_key": data["public_key"], "signature": data["signature"],
    })]


def _plan(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    if not data.get("execution", "mode" in data):  # a preview: not a plan the engine acts on (before the
        return []                                    # explicit field, a preview had no "mode")
    return [Upsert("plans", {"plan_id": data["plan_id"], "mode": data["mode"], "seq": event.seq,
                             "risk_seq": None, "approved": None})]


def _risk(event: StoredEvent, data: dict[str, Any]) -> list[Op]:
    return [Update("plans", {"plan_id": data["plan_id"], "mode": data["mode"]},
                   {"risk_seq": event.seq, "approved": bool(data["approved"])})]


PROJECTORS: dict[str, Projector] = {
    kinds.PLAN_CREATED: _plan,
    kinds.RISK_DECIDED: _risk,
    kinds.CASHFLOW_RECORDED: _cashflow,
    kinds.CASHFLOW_VOIDED: _cashflow_voided,
    kinds.SNAPSHOT_RECORDED: _snapshot,
    kinds.FILL_RECORDED: _fill,
    kinds.COMMISSION_RECORDED: _commission,
    kinds.IMPORT_RECORDED: _import,
    kinds.ORDER_SUBMITTED: _order_submitted,
    kinds.ORDER_STATUS: _order_status,
    kinds.KILL_SWITCH_CHANGED: _kill_switch,
    kinds.CHECKPOINT_SIGNED: _checkpoint,
}


def operations(events: Iterable[StoredEvent]) -> Iterable[Op]:
    for event in events:
        projector = PROJECTORS.get(event.kind)
        if projector is not None:
            yield from projector(event, json.loads(event.payload))


def apply_sql(conn: "Connection", ops: Iterable[Op]) -> None:
    """``apply_ops`` on a SQLAlchemy connection, inside its transaction."""
    apply_ops(conn.connection.driver_connection, conn.dialect.name, ops)


def apply_ops(dbapi: Any, dialect: str, ops: Iterable[Op]) -> None:
    """Write operations in order on a DBAPI connection; consecutive operations with the
    same statement (inserts, upserts or updates of one table and the same columns) go in
    one ``executemany``."""
    cursor = dbapi.cursor()
    try:
        apply_on_cursor(cursor, dialect, ops)
    finally:
        cursor.close()


def apply_on_cursor(cursor: Any, dialect: str, ops: Iterable[Op]) -> None:
    """``apply_ops`` on an open DBAPI cursor (the ledger's append reuses its own)."""
    sql = ""
    rows: list[Row | tuple[Any, ...]] = []
    for op in ops:  # inserts and upserts bind by position (cheaper than by name), updates by name
        kind = type(op)
        if kind is Insert:
            statement, row = positional_insert_sql(dialect, op.table, tuple(op.row)), tuple(op.row.values())
        elif kind is Upsert:
            statement = positional_upsert_sql(dialect, op.table, tuple(op.row), PRIMARY_KEYS[op.table])
            row = tuple(op.row.values())
        else:
            statement = update_sql(dialect, op.table, tuple(op.values), tuple(op.key))  # type: ignore[union-attr]
            row = {**op.values, **op.key}  # type: ignore[union-attr]
        if rows and statement != sql:
            execute_on_cursor(cursor, sql, rows)
            rows = []
        sql = statement
        rows.append(row)
    if rows:
        execute_on_cursor(cursor, sql, rows)


class DuplicateRow(ValueError):
    """An insert whose primary key an earlier event inserted already."""

    def __init__(self, table: str, key: Row) -> None:
        super().__init__(f"duplicate key {key} in {table}")
        self.table, self.key = table, key


class MemoryTables:
    """Projection tables as dicts keyed by primary key: verify's independent rebuild."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple[Any, ...], Row]] = {name: {} for name in TABLES}

    def apply(self, ops: Iterable[Op]) -> None:
        for op in ops:
            table = self.rows[op.table]
            keys = PRIMARY_KEYS[op.table]
            if isinstance(op, Update):
                target = table.get(tuple(op.key.get(name) for name in keys))
                if target is not None:
                    target.update(op.values)
                continue
            key = tuple(op.row[name] for name in keys)
            if isinstance(op, Insert) and key in table:
                raise DuplicateRow(op.table, dict(zip(keys, key)))
            table[key] = dict(op.row)
