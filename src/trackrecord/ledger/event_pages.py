"""The ledger's read side for showing events: the latest of a kind, pages newest first,
counts by kind. Every query takes the caller's connection (``queries.reading``).

An event's JSON shape is ``StoredEvent.document()``, as ``ledger log --json`` prints it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.sql import fetch_all, param

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_COLUMNS = "seq, recorded_at, kind, payload, prev_hash, hash"


def latest_events(conn: "Connection", kinds: Sequence[str], limit: int) -> list[StoredEvent]:
    """The latest ``limit`` events of any of ``kinds``, newest first."""
    if not kinds or limit <= 0:
        return []
    dialect = conn.dialect.name
    names = {f"k{i}": kind for i, kind in enumerate(kinds)}
    where = f"kind IN ({', '.join(param(dialect, n) for n in names)})"
    _, rows = fetch_all(conn, f"SELECT {_COLUMNS} FROM events WHERE {where} ORDER BY seq DESC LIMIT {int(limit)}",
                        names)
    return [StoredEvent(int(r[0]), *r[1:]) for r in rows]


def latest_event(conn: "Connection", kind: str) -> StoredEvent | None:
    found = latest_events(conn, (kind,), 1)
    return found[0] if found else None


def event_page(conn: "Connection", kind: str | None, before: int | None, limit: int) -> list[StoredEvent]:
    """At most ``limit`` events (of ``kind`` when given) with seq below ``before`` (all when
    None), newest first: a page of the event log."""
    dialect = conn.dialect.name
    clauses, params = [], {}
    if kind:
        clauses.append(f"kind = {param(dialect, 'kind')}")
        params["kind"] = kind
    if before is not None:
        clauses.append(f"seq < {param(dialect, 'before')}")
        params["before"] = before
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    _, rows = fetch_all(conn, f"SELECT {_COLUMNS} FROM events{where} ORDER BY seq DESC LIMIT {int(limit)}", params)
    return [StoredEvent(int(r[0]), *r[1:]) for r in rows]


def kind_counts(conn: "Connection") -> dict[str, int]:
    """kind -> number of events, alphabetically."""
    _, rows = fetch_all(conn, "SELECT kind, COUNT(*) FROM events GROUP BY kind ORDER BY kind")
    return {str(kind): int(count) for kind, count in rows}


def head_of(conn: "Connection") -> tuple[int, str]:
    """(seq, hash) of the last event; (0, 64 zeros) for an empty ledger."""
    _, rows = fetch_all(conn, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
    return (int(rows[0][0]), str(rows[0][1])) if rows else (0, "0" * 64)
