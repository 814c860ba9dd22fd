"""Pull executions and snapshot the account: the daily bookkeeping against any broker.

Both are idempotent: a repeated pull adds nothing (fills keyed by exec id; a commission
that was pending is completed by its own event, never recorded as zero), and a snapshot
identical to the one recorded for the same session adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from trackrecord.brokers.base import Broker
from trackrecord.engine.recording import fill_payload, snapshot_payload
from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import normalise

if TYPE_CHECKING:
    from trackrecord.ledger.store import Writer


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


def _recorded_fills(writer: "Writer", since: datetime | None) -> dict[str, Any]:
    from trackrecord.ledger.canonical import format_timestamp
    from trackrecord.ledger.sql import fetch_all, param

    sql = "SELECT exec_id, commission FROM fills"
    params: dict[str, Any] = {}
    if since is not None:
        sql += f" WHERE executed_at >= {param(writer.conn.dialect.name, 'since')}"
        params["since"] = format_timestamp(since)
    return dict(fetch_all(writer.conn, sql, params)[1])


def _intended_prices(writer: "Writer", order_refs: set[str]) -> dict[str, tuple[Any, str]]:
    from trackrecord.ledger.sql import fetch_all, param

    if not order_refs:
        return {}
    dialect = writer.conn.dialect.name
    names = {f"ref{i}": ref for i, ref in enumerate(sorted(order_refs))}
    sql = (f"SELECT order_ref, intended_price, order_type FROM orders "
           f"WHERE order_ref IN ({', '.join(param(dialect, name) for name in names)})")
    return {ref: (price, order_type) for ref, price, order_type in fetch_all(writer.conn, sql, names)[1]}


def pull_executions(writer: "Writer", broker: Broker, since: datetime, simulated: bool) -> PullResult:
    """Record the broker's executions since ``since`` that the ledger does not have yet."""
    result = PullResult()
    executions = broker.executions_since(since)
    if not executions:
        return result
    recorded = _recorded_fills(writer, None if len(executions) > 50 else min(f.executed_at for f in executions))
    intended = _intended_prices(writer, {f.order_ref for f in executions if f.order_ref})
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
    return result


def record_snapshot(writer: "Writer", broker: Broker, as_of: datetime, session_date: date, simulated: bool,
                    source: str) -> tuple[bool, dict[str, Any]]:
    """Snapshot the account for a session; return (written, payload)."""
    from dataclasses import replace

    snapshot = replace(broker.snapshot(as_of), session_date=session_date)
    payload = snapshot_payload(snapshot, simulated, source)
    if _same_as_recorded(writer, payload):
        return False, payload
    writer.append(kinds.SNAPSHOT_RECORDED, payload)
    return True, payload


def _same_as_recorded(writer: "Writer", payload: dict[str, Any]) -> bool:
    from trackrecord.ledger.sql import fetch_one, select_sql

    sql = select_sql(writer.conn.dialect.name, "snapshots", ("nav", "cash", "positions"), ("account_id", "session_date"))
    row = fetch_one(writer.conn, sql, {"account_id": payload["account_id"],
                                       "session_date": payload["session_date"].isoformat()})
    if row is None:
        return False
    from trackrecord.ledger.projections import snapshot_content

    return tuple(row) == snapshot_content(normalise(payload))
