"""A read-only copy of the ledger as of one head, rebuilt from its events alone.

``rebuild_as_of(events, head_seq)`` makes an in-memory SQLite database holding the events
up to ``head_seq`` and the projection tables the same projectors write on append
(``ledger.projections``): the read side every named query and ``engine.performance``
work on, with no stored projection, file, clock or environment involved. The monthly
report is built on it (so that a report rebuilt later, or by ``verify BUNDLE`` from
``events.jsonl``, gives the same bytes), and stores outside the chain (``prices``) start
empty: what the caller froze into events is written there by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.projections import apply_sql, operations

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

EVENT_ROW_BATCH = 5_000


def rebuild_as_of(events: Iterable[StoredEvent], head_seq: int | None = None) -> tuple["Engine", list[StoredEvent]]:
    """(engine of the rebuilt database, the events kept): every event with seq <= ``head_seq``
    (all when None), in seq order."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    from trackrecord.ledger.schema import events as events_table
    from trackrecord.ledger.schema import metadata

    kept = [e for e in events if head_seq is None or e.seq <= head_seq]
    kept.sort(key=lambda e: e.seq)
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    metadata.create_all(engine)
    with engine.begin() as conn:
        for start in range(0, len(kept), EVENT_ROW_BATCH):
            rows = [{"seq": e.seq, "recorded_at": e.recorded_at, "kind": e.kind, "payload": e.payload,
                     "prev_hash": e.prev_hash, "hash": e.hash} for e in kept[start:start + EVENT_ROW_BATCH]]
            conn.execute(events_table.insert(), rows)
        apply_sql(conn, operations(kept))
    return engine, kept
