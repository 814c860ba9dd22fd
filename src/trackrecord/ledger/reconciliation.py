"""Read side for reconciliation with broker statements: named queries, typed values."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, union

from trackrecord.domain import Side
from trackrecord.ledger import events as kinds
from trackrecord.ledger.account_records import LedgerFill, LedgerSnapshot
from trackrecord.ledger.parsing import parse_timestamp
from trackrecord.ledger.schema import cashflows, events, fills, snapshots

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def current_fills(conn: "Connection", account_id: str, since: date, until: date) -> list[LedgerFill]:
    """The account's current fills (a corrected one counts as its correction; commission None
    while pending) executed on UTC dates ``since`` .. ``until``, oldest first."""
    query = (select(fills).where(fills.c.account_id == account_id, fills.c.superseded_by.is_(None),
                                 fills.c.executed_at >= since.isoformat(),
                                 fills.c.executed_at < _next_day(until))
             .order_by(fills.c.executed_at, fills.c.seq))
    return [LedgerFill(r.exec_id, r.symbol, Side(r.side), abs(Decimal(r.quantity)), Decimal(r.price), r.currency,
                         None if r.commission is None else abs(Decimal(r.commission)), r.order_ref or "",
                         parse_timestamp(r.executed_at, f"fill {r.exec_id}").date())
            for r in conn.execute(query)]


def _next_day(day: date) -> str:
    return date.fromordinal(day.toordinal() + 1).isoformat()


def snapshot_navs(conn: "Connection", account_id: str, since: date, until: date) -> list[LedgerSnapshot]:
    """The account's snapshots of sessions ``since`` .. ``until`` (a later one of a session
    supersedes), oldest first, with their positions (symbol -> quantity, zero ones left out)."""
    query = (select(snapshots.c.session_date, snapshots.c.nav, snapshots.c.positions)
             .where(snapshots.c.account_id == account_id, snapshots.c.session_date >= since.isoformat(),
                    snapshots.c.session_date <= until.isoformat())
             .order_by(snapshots.c.session_date))
    return [LedgerSnapshot(date.fromisoformat(r.session_date), Decimal(r.nav), _positions(r.positions))
            for r in conn.execute(query)]


def _positions(text: str | None) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for item in json.loads(text or "[]"):
        if isinstance(item, dict) and item.get("symbol") and item.get("quantity") not in (None, ""):
            quantity = Decimal(str(item["quantity"]))
            if quantity:
                out[str(item["symbol"])] = out.get(str(item["symbol"]), Decimal(0)) + quantity
    return out


def ledger_accounts(conn: "Connection") -> set[str]:
    """Every account the ledger holds a snapshot, a fill or a flow of."""
    query = union(select(snapshots.c.account_id), select(fills.c.account_id),
                  select(cashflows.c.account_id).where(cashflows.c.account_id.is_not(None)))
    return {row[0] for row in conn.execute(query) if row[0]}



def latest_reconciliation(conn: "Connection", sha256: str) -> tuple[int, dict[str, Any]] | None:
    """(seq, payload) of the latest ``reconciliation.done`` of the statement with ``sha256``."""
    query = (select(events.c.seq, events.c.payload).where(events.c.kind == kinds.RECONCILIATION_DONE)
             .order_by(events.c.seq.desc()))
    for seq, payload in conn.execute(query):
        data = json.loads(payload)
        if isinstance(data.get("statement"), dict) and data["statement"].get("sha256") == sha256:
            return int(seq), data
    return None
