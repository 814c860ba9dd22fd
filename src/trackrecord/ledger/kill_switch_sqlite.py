"""The kill switch on a local SQLite ledger with the standard library alone (``sqlite3``):
what the command line's fast path (``trackrecord.cli.kill_switch_fast``) reads and writes
without SQLAlchemy, so ``kill-switch status`` and ``activate`` answer in a few tens of ms.

A change is the same ledger write as the normal path's: the event payload of
``trackrecord.risk.killswitch``, the ledger's one append (``trackrecord.ledger.append``) and
a signed checkpoint of the new head, in one transaction under the single-writer lock.
Every function answers None when it is not sure it can do exactly what the normal path
does (no database, an unmigrated one, the lock held): the caller then takes that path.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Callable

from trackrecord.crash import after_commit
from trackrecord.domain.enums import TradingState
from trackrecord.ledger.append import append_checkpoint, append_events, read_head
from trackrecord.ledger.backtest_mark import read_backtest_mark
from trackrecord.ledger.signing import PRIVATE_KEY_FILE, SigningKeyError
from trackrecord.ledger.writer_lock import WriterLock
from trackrecord.risk.killswitch import (
    KILL_SWITCH_CHANGED,
    KillSwitchRefusal,
    KillSwitchStatus,
    activation_state,
    change_payload,
    status_from_row,
)

LOCK_FILE = "trackrecord.db.lock"  # == trackrecord.workspace.Workspace.writer_lock_path, in the workspace root


def _connect(database: str) -> sqlite3.Connection:
    conn = sqlite3.connect(database, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA synchronous=FULL")  # as trackrecord.ledger.db: a committed change survives a power cut
    return conn


def _schema_ready(conn: sqlite3.Connection) -> bool:
    from trackrecord.ledger.db import HEAD_REVISION  # function-local: ledger.db's own imports are heavier

    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"alembic_version", "events", "kill_switch"} <= tables:
        return False
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row is not None and row[0] == HEAD_REVISION


def _status(conn: sqlite3.Connection) -> KillSwitchStatus:
    return status_from_row(conn.execute("SELECT state, reason, changed_at, seq FROM kill_switch WHERE id = 1").fetchone())


def read_status(database: str) -> KillSwitchStatus | None:
    """The projection's state, or None when the database is not ready for this reader."""
    try:
        conn = _connect(database)
        try:
            return _status(conn) if _schema_ready(conn) else None
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def activate(
    root: str, database: str, reason: str, reduce_only: bool, now: datetime, private_key: str | None,
    warn: Callable[[str], None],
) -> tuple[KillSwitchStatus, TradingState] | None:
    """Append ``kill_switch.changed`` (and its projection row, through the ledger's one
    append) and a checkpoint signing the new head, in one transaction under the writer
    lock. None (nothing written) when the database is not ready for it, or is a BACKTEST's
    (which the normal path refuses). A key that cannot sign never stops the switch: the
    change is committed unsigned and ``warn`` says so."""
    if not reason.strip():
        raise KillSwitchRefusal("give a reason: `trackrecord kill-switch activate \"why\"` (it is kept in the ledger)")
    lock = WriterLock(os.path.join(root, LOCK_FILE))
    if not lock.available:
        return None
    with lock:
        try:
            conn = _connect(database)
        except sqlite3.Error:
            return None
        try:
            conn.execute("BEGIN IMMEDIATE")
            if not _schema_ready(conn) or read_backtest_mark(conn) is not None:
                conn.execute("ROLLBACK")
                return None
            previous = _status(conn).state
            target = activation_state(previous, reduce_only, reason)
            event = append_events(conn, "sqlite", read_head(conn), [
                (KILL_SWITCH_CHANGED, change_payload(target, reason, previous))], now)[0]
            _sign(conn, (event.seq, event.hash), Path(private_key or os.path.join(root, "keys", PRIVATE_KEY_FILE)),
                  now, warn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        after_commit()
    return KillSwitchStatus(target, reason.strip(), event.recorded_at, event.seq), previous


def _sign(conn: sqlite3.Connection, head: tuple[int, str], private_key: Path, now: datetime,
          warn: Callable[[str], None]) -> None:
    try:
        append_checkpoint(conn, "sqlite", head, private_key, now)
    except (SigningKeyError, ImportError) as exc:
        warn(f"the kill-switch change is recorded but not signed: {exc}; "
             "run `trackrecord ledger checkpoint` once the key is fixed")
