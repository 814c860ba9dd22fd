"""The one append of the ledger: link events onto the chain head, insert them and write
their projections (``trackrecord.ledger.projections``), inside the caller's transaction.

Every writer uses it: the SQLAlchemy ``Writer`` of the command line and the engine
(``trackrecord.ledger.store``) and the kill switch's stdlib-only fast path
(``trackrecord.cli.kill_switch_fast``). It works on a DBAPI connection (``sqlite3`` or
psycopg), imports nothing beyond the standard library, and never commits: the caller owns
the transaction and the single-writer lock.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import Canonical, canonical_json, canonical_json_and_data, format_moment
from trackrecord.ledger.chain import GENESIS_HASH, StoredEvent, event_hash
from trackrecord.ledger.projections import PROJECTORS, Op, apply_on_cursor
from trackrecord.ledger.signing import signed_checkpoint
from trackrecord.ledger.sql import execute_on_cursor, fetch_row, positional_insert_sql

EVENT_COLUMNS = ("seq", "recorded_at", "kind", "payload", "prev_hash", "hash")
HEAD_SQL = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
OWN_KEY_SQL = f"SELECT payload FROM events WHERE kind = '{kinds.WORKSPACE_CREATED}' ORDER BY seq LIMIT 1"
_EVENT_INSERTS = {dialect: positional_insert_sql(dialect, "events", EVENT_COLUMNS) for dialect in ("sqlite", "postgresql")}


class DbApiConnection(Protocol):
    def cursor(self) -> Any: ...


def read_head(dbapi: DbApiConnection) -> tuple[int, str]:
    """(seq, hash) of the last event; (0, genesis) for an empty chain."""
    row = fetch_row(dbapi, HEAD_SQL)
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def append_events(
    dbapi: DbApiConnection, dialect: str, head: tuple[int, str],
    items: Sequence[tuple[str, Mapping[str, Any] | Canonical]], recorded_at: datetime,
) -> list[StoredEvent]:
    """Append ``(kind, payload)`` items after ``head``, all stamped ``recorded_at``; a
    ``Canonical`` payload is taken as its builder made it (text and data).
    A payload without a canonical form raises ``CanonicalError`` before anything is written."""
    if not items:
        return []
    stamp = format_moment(recorded_at)
    seq, prev_hash = head
    new: list[StoredEvent] = []
    rows: list[tuple[int, str, str, str, str, str]] = []
    ops: list[Op] = []
    for kind, payload in items:
        projector = PROJECTORS.get(kind)
        if type(payload) is Canonical:
            text, data = payload.text, payload.data
        elif projector is None:
            text = canonical_json(payload)
        else:  # the projector reads the payload as json.loads of its canonical text gives it
            text, data = canonical_json_and_data(payload)
        seq += 1
        digest = event_hash(prev_hash, seq, stamp, kind, text)
        row = (seq, stamp, kind, text, prev_hash, digest)
        event = StoredEvent(*row)
        new.append(event)
        rows.append(row)
        if projector is not None:
            ops.extend(projector(event, data))
        prev_hash = digest
    cursor = dbapi.cursor()
    try:
        sql = _EVENT_INSERTS.get(dialect) or positional_insert_sql(dialect, "events", EVENT_COLUMNS)
        execute_on_cursor(cursor, sql, rows)
        if ops:
            apply_on_cursor(cursor, dialect, ops)
    finally:
        cursor.close()
    return new


def own_public_key(dbapi: DbApiConnection) -> str | None:
    """The ledger's public key, as its ``workspace.created`` recorded it (None: not recorded)."""
    row = fetch_row(dbapi, OWN_KEY_SQL)
    if row is None:
        return None
    key = json.loads(row[0]).get("public_key")
    return str(key) if key else None


def append_checkpoint(
    dbapi: DbApiConnection, dialect: str, head: tuple[int, str], private_key: Path, recorded_at: datetime,
) -> StoredEvent:
    """Sign ``head`` with the ledger's own key and append the ``checkpoint.signed`` event."""
    payload = signed_checkpoint(private_key, *head, own_public_key(dbapi))
    return append_events(dbapi, dialect, head, [(kinds.CHECKPOINT_SIGNED, payload)], recorded_at)[0]
