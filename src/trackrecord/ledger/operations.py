"""Ledger use cases shared by the CLI, the engine and the web: checkpoints, verify, log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.signing import PUBLIC_KEY_FILE, sign_checkpoint
from trackrecord.ledger.verify import VerifyResult, verify_events

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.ledger.store import SqlLedger, Writer


def write_checkpoint(writer: "Writer", key_dir: Path) -> StoredEvent:
    """Sign the current head inside an open writer transaction."""
    public_key, signature = sign_checkpoint(key_dir, writer.seq, writer.prev_hash)
    return writer.append(kinds.CHECKPOINT_SIGNED, {
        "head_seq": writer.seq, "head_hash": writer.prev_hash, "public_key": public_key, "signature": signature,
    })


def checkpoint(ledger: "SqlLedger", key_dir: Path) -> StoredEvent:
    with ledger.writer() as writer:
        return write_checkpoint(writer, key_dir)


def stored_tables(engine: "Engine") -> dict[str, list[dict[str, Any]]]:
    from trackrecord.ledger.projections import TABLES
    from trackrecord.ledger.sql import fetch_all

    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, table in TABLES.items():
            columns, rows = fetch_all(conn, f"SELECT {', '.join(c.name for c in table.columns)} FROM {name}")
            booleans = [c.name for c in table.columns if c.type.python_type is bool]
            out[name] = records = [dict(zip(columns, row)) for row in rows]
            for record in records if booleans else ():  # SQLite keeps booleans as 0/1
                for column in booleans:
                    if record[column] is not None:
                        record[column] = bool(record[column])
    return out


def trusted_keys(key_dir: Path) -> set[str] | None:
    path = key_dir / PUBLIC_KEY_FILE
    return {path.read_text(encoding="ascii").strip()} if path.is_file() else None


def verify_ledger(ledger: "SqlLedger", key_dir: Path) -> VerifyResult:
    tables = stored_tables(ledger.engine)
    return verify_events(ledger.events(), tables, trusted_keys(key_dir))


def log_entries(ledger: "SqlLedger", kind: str | None = None, after_seq: int = 0) -> Iterator[StoredEvent]:
    return ledger.events(kind=kind, after_seq=after_seq)
