"""The one append of the ledger: link events onto the chain head, insert them and write
their projections (``trackrecord.ledger.projections``), inside the caller's transaction.

Every writer uses it: the SQLAlchemy ``Writer`` of the command line and the engine
(``trackrecord.ledger.store``) and the kill switch's stdlib-only fast path
(``trackrecord.cli.kill_switch_fast``). It works on a DBAPI connection (``sqlite3`` or
psycopg), imports nothing beyond the standard library, and never commits: the caller owns
the transaction and the single-writer lock.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import canonical_json_and_data, format_timestamp
from trackrecord.ledger.chain import GENESIS_HASH, StoredEvent, iter_chain
from trackrecord.ledger.projections import apply_ops, operations_of
from trackrecord.ledger.signing import signed_checkpoint
from trackrecord.ledger.sql import execute_rows, insert_sql

EVENT_COLUMNS = ("seq", "recorded_at", "kind", "payload", "prev_hash", "hash")
HEAD_SQL = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"


class DbApiConnection(Protocol):
    def cursor(self) -> Any: ...


def read_head(dbapi: DbApiConnection) -> tuple[int, str]:
    """(seq, hash) of the last event; (0, genesis) for an empty chain."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(HEAD_SQL)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def append_events(
    dbapi: DbApiConnection, dialect: str, head: tuple[int, str],
    items: Sequence[tuple[str, Mapping[str, Any]]], recorded_at: datetime,
) -> list[StoredEvent]:
    """Append ``(kind, payload)`` items after ``head``, all stamped ``recorded_at``."""
    if not items:
        return []
    stamp = format_timestamp(recorded_at)
    encoded = [(kind, *canonical_json_and_data(payload)) for kind, payload in items]
    seq, prev_hash = head
    new = list(iter_chain(prev_hash, seq + 1, [(stamp, kind, text) for kind, text, _ in encoded]))
    execute_rows(dbapi, insert_sql(dialect, "events", EVENT_COLUMNS), [
        {"seq": e.seq, "recorded_at": e.recorded_at, "kind": e.kind, "payload": e.payload,
         "prev_hash": e.prev_hash, "hash": e.hash}
        for e in new
    ])
    apply_ops(dbapi, dialect, operations_of(zip(new, [data for _, _, data in encoded])))
    return new


def append_checkpoint(
    dbapi: DbApiConnection, dialect: str, head: tuple[int, str], private_key: Path, recorded_at: datetime,
) -> StoredEvent:
    """Sign ``head`` and append the ``checkpoint.signed`` event."""
    payload = signed_checkpoint(private_key, *head)
    return append_events(dbapi, dialect, head, [(kinds.CHECKPOINT_SIGNED, payload)], recorded_at)[0]
