"""The mark of a BACKTEST record, and what such a ledger still takes once the replay is over.

``trackrecord backtest`` marks its workspace once, at its creation: the ``backtest`` section
of the chain's first ``workspace.created`` (what was replayed, over which dates, at which
costs). It is in the hash chain itself, so the workspace, a bundle of it and a report rebuilt
from it all say BACKTEST by this one rule. Standard library only: the kill switch's fast path
(``ledger.kill_switch_sqlite``) reads it without SQLAlchemy.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any, Iterable

from trackrecord.errors import SafetyRefusal
from trackrecord.ledger import events as kinds
from trackrecord.ledger.sql import fetch_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from trackrecord.ledger.chain import StoredEvent

# a literal, not a bound parameter: the same text for sqlite3 and psycopg
FIRST_CREATED_SQL = f"SELECT payload FROM events WHERE kind = '{kinds.WORKSPACE_CREATED}' ORDER BY seq LIMIT 1"

# What a BACKTEST ledger takes from any writer but the replay's own: its signatures, the
# commitments made from it and the reports shown from it. Anything else (a fill, a cash flow,
# a snapshot, a kill-switch change, an annotation) would mix records that are not the
# replay's into it.
SHOWING_KINDS = frozenset({kinds.CHECKPOINT_SIGNED, kinds.COMMITMENT_MADE, kinds.REPORT_INPUTS_RECORDED,
                           kinds.REPORT_GENERATED})


def backtest_section(created: dict[str, Any]) -> dict[str, Any] | None:
    """The ``backtest`` section of a ``workspace.created`` payload, None when it has none."""
    section = created.get("backtest")
    return section if isinstance(section, dict) else None


def read_backtest_mark(dbapi: Any) -> dict[str, Any] | None:
    """The mark read on a DBAPI connection (sqlite3 or psycopg), None for a live or paper record."""
    row = fetch_row(dbapi, FIRST_CREATED_SQL)
    return backtest_section(json.loads(row[0])) if row else None


def backtest_of(conn: "Connection") -> dict[str, Any] | None:
    """The mark (the ``backtest`` section) on the caller's connection, None for a live or paper record."""
    return read_backtest_mark(conn.connection.driver_connection)


def is_backtest(engine: "Engine") -> bool:
    """True for a record ``trackrecord backtest`` made."""
    with engine.connect() as conn:
        return backtest_of(conn) is not None


def chain_backtest_section(events: Iterable["StoredEvent"]) -> dict[str, Any] | None:
    """The mark of a chain (a bundle's events, a rebuilt record's), by the same rule as the
    database: the ``backtest`` section of its first ``workspace.created``."""
    created = next((event for event in events if event.kind == kinds.WORKSPACE_CREATED), None)
    return None if created is None else backtest_section(created.data())


def last_session_of(section: dict[str, Any] | None) -> date | None:
    """The last replayed session a mark names (its ``to``), None for a live or paper record."""
    return date.fromisoformat(section["to"]) if section and "to" in section else None


def opens_a_backtest(events: Iterable["StoredEvent"]) -> bool:
    """Whether a chain carries the mark (``chain_backtest_section``)."""
    return chain_backtest_section(events) is not None


def refuse_on_a_backtest(kind: str) -> None:
    """A record that is not the replay's, offered to a BACKTEST ledger: ``SafetyRefusal``
    (exit 3), raised inside the writer's transaction so that nothing is written."""
    raise SafetyRefusal(f"this ledger is a BACKTEST's (SIMULATED, written by `trackrecord backtest`): a `{kind}` "
                        "record that is not the replay's would mix into it; nothing was written. Record it in the "
                        "live workspace, or rerun `trackrecord backtest` to change the backtest")
