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
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.projections import MemoryTables, Op, operations
from trackrecord.ledger.sql import execute_many, insert_sql

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


def rebuild_as_of(events: Iterable[StoredEvent], head_seq: int | None = None,
                  event_kinds: frozenset[str] | None = None) -> tuple["Engine", list[StoredEvent]]:
    """(engine of the rebuilt database, the events kept): every event with seq <= ``head_seq``
    (all when None), in seq order. The ``events`` table holds the kept events of
    ``event_kinds`` (all when None); the projection tables are built from all of them."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    from trackrecord.ledger.schema import events as events_table
    from trackrecord.ledger.schema import metadata

    kept = [e for e in events if head_seq is None or e.seq <= head_seq]
    kept.sort(key=lambda e: e.seq)
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    metadata.create_all(engine)
    tables = MemoryTables()  # the projectors applied in memory (as ``verify`` does), then written at once
    tables.apply(op for event in kept for op in _operations_of(event))
    with engine.begin() as conn:
        rows = [{"seq": e.seq, "recorded_at": e.recorded_at, "kind": e.kind, "payload": e.payload,
                 "prev_hash": e.prev_hash, "hash": e.hash}
                for e in kept if event_kinds is None or e.kind in event_kinds]
        _insert(conn, events_table.name, rows)
        for name, keyed in tables.rows.items():
            _insert(conn, name, list(keyed.values()))
    return engine, kept


@lru_cache(maxsize=1 << 16)
def _operations_of(event: StoredEvent) -> tuple[Op, ...]:
    """The projectors' operations of one event, parsed once per process: ``verify BUNDLE``
    rebuilds the ledger as of each report's head from the same events. ``MemoryTables``
    copies the rows it stores, so the operations are never changed."""
    return tuple(operations((event,)))


def _insert(conn: "Connection", table: str, rows: list[dict[str, Any]]) -> None:
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(row)
    for columns, group in by_columns.items():
        execute_many(conn, insert_sql("sqlite", table, columns), group)
