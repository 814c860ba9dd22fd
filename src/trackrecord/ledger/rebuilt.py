"""A ledger rebuilt from events alone: a throw-away SQLite database holding the events and
the projections the projector (the code every append runs) derives from them."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.projections import apply_ops, operations
from trackrecord.ledger.sql import execute_rows, insert_sql
from trackrecord.ledger.store import EVENT_COLUMNS, SqlLedger


def rebuilt_ledger(database: Path, events: Sequence[StoredEvent]) -> SqlLedger:
    """A new SQLite file ``database`` (not durable: it is thrown away) with ``events`` and
    their projections; close it with ``ledger.close()`` and ``ledger.engine.dispose()``."""
    engine = create_db_engine(f"sqlite:///{database}", durable=False)
    migrate(engine)
    with engine.begin() as conn:
        dbapi = conn.connection.driver_connection
        execute_rows(dbapi, insert_sql("sqlite", "events", EVENT_COLUMNS),
                     [dict(zip(EVENT_COLUMNS, (e.seq, e.recorded_at, e.kind, e.payload, e.prev_hash, e.hash)))
                      for e in events])
        apply_ops(dbapi, "sqlite", operations(events))
    return SqlLedger(engine, None)
