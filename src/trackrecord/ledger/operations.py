"""Ledger use cases shared by the CLI, the engine and the web: checkpoints, verify, log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from trackrecord.ledger import events as kinds
from trackrecord.ledger.append import own_public_key
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.files_check import RecordedFiles, check_files
from trackrecord.ledger.schema import PROJECTION_TABLES
from trackrecord.ledger.signing import SigningKeyError, signed_checkpoint
from trackrecord.ledger.sql import fetch_all, fetch_one, param
from trackrecord.ledger.stores_check import StoreEvidence, book_problems, cash_problems, price_problems
from trackrecord.ledger.verify import VerifyResult, verify_events

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.ledger.store import SqlLedger, Writer


def write_checkpoint(writer: "Writer", private_key: Path) -> StoredEvent:
    """Sign the current head inside an open writer transaction, with the ledger's own key."""
    payload = signed_checkpoint(private_key, writer.seq, writer.prev_hash, own_public_key(writer.dbapi))
    return writer.append(kinds.CHECKPOINT_SIGNED, payload)


def checkpoint(ledger: "SqlLedger", private_key: Path) -> StoredEvent:
    with ledger.writer() as writer:
        return write_checkpoint(writer, private_key)


def sign_new_head(ledger: "SqlLedger", private_key: Path, since_seq: int) -> StoredEvent | None:
    """Sign one checkpoint of the head when events were appended after ``since_seq`` and
    the head is not a checkpoint already: what every writing command ends with (one
    signature, however many events it wrote). None when there was nothing to sign."""
    if ledger.head()[0] <= since_seq:
        return None
    with ledger.writer() as writer:
        if writer.seq <= since_seq or _kind_at(writer, writer.seq) == kinds.CHECKPOINT_SIGNED:
            return None
        return write_checkpoint(writer, private_key)


def seal(ledger: "SqlLedger", private_key: Path, since_seq: int, warn: bool = True) -> None:
    """``sign_new_head`` at the end of a command, successful or not. A key that cannot sign
    leaves the events unsigned (``verify`` counts them) with a warning (unless ``warn`` is
    false: the command appended nothing of its own): it never undoes or hides what the
    command recorded."""
    try:
        sign_new_head(ledger, private_key, since_seq)
    except SigningKeyError as exc:
        if warn:
            sys.stderr.write(f"warning: the new events are not signed: {exc}; "
                             "fix the key and run `trackrecord ledger checkpoint`\n")


def _kind_at(writer: "Writer", seq: int) -> str | None:
    row = fetch_one(writer.conn, f"SELECT kind FROM events WHERE seq = {param(writer.conn.dialect.name, 'seq')}",
                    {"seq": seq})
    return None if row is None else str(row[0])


def stored_tables(engine: "Engine") -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in PROJECTION_TABLES:
            columns, rows = fetch_all(conn, f"SELECT {', '.join(c.name for c in table.columns)} FROM {table.name}")
            booleans = [c.name for c in table.columns if c.type.python_type is bool]
            out[table.name] = records = [dict(zip(columns, row)) for row in rows]
            for record in records if booleans else ():  # SQLite keeps booleans as 0/1
                for column in booleans:
                    if record[column] is not None:
                        record[column] = bool(record[column])
    return out


def trusted_keys(public_key: Path) -> set[str] | None:
    return {public_key.read_text(encoding="ascii").strip()} if public_key.is_file() else None


def verify_ledger(ledger: "SqlLedger", public_key: Path, root: Path | None = None) -> VerifyResult:
    """Verify the chain, its signatures (against ``public_key``, which must exist), the
    projections and the stores outside the chain (``trackrecord.ledger.stores_check``);
    with the workspace ``root``, its statements and reports too (``files_check``)."""
    tables = stored_tables(ledger.engine)
    keys = _trusted_keys_or_none(public_key)
    evidence, files = StoreEvidence(), RecordedFiles()

    def witness(event: StoredEvent) -> None:  # one pass over the chain serves every check
        evidence.see(event)
        files.see(event)

    result = verify_events(ledger.events(), tables, keys, witness)
    if keys is None:
        result.fail(None, f"{public_key} is missing or unreadable: checkpoint signatures were NOT checked against "
                          "the workspace's key (restore it from a copy kept elsewhere)")
    if result.first_bad_seq is None:
        _check_stores(ledger.engine, evidence, result)
    if root is not None and result.first_bad_seq is None:
        _check_files(files, root, result)
    return result


def _check_files(files: RecordedFiles, root: Path, result: VerifyResult) -> None:
    findings = check_files(files.files(), root)
    for seq, problem in findings.problems:
        result.fail(seq, problem)
    result.files_checked = findings.checked
    result.warnings.extend(findings.warnings)


def _trusted_keys_or_none(public_key: Path) -> set[str] | None:
    try:
        keys = trusted_keys(public_key)
    except (OSError, UnicodeDecodeError):
        return None
    return keys if keys and all(keys) else None


def _check_stores(engine: "Engine", evidence: StoreEvidence, result: VerifyResult) -> None:
    with engine.connect() as conn:
        prices = _records(conn, "prices", ("symbol", "session_date", "close", "adj_close", "source", "fetched_at"))
        orders = _records(conn, "sim_orders", ("broker_order_id", "account_id", "order_ref", "symbol", "side",
                                               "quantity"))
        executions = _records(conn, "sim_executions", ("exec_id", "account_id", "order_ref", "symbol", "side",
                                                       "quantity", "price"))
        cash = _records(conn, "sim_cash", ("id", "account_id", "amount", "note", "flow_key"))
    for seq, problem in (price_problems(evidence, prices) + book_problems(evidence, orders, executions)
                         + cash_problems(evidence, cash)):
        result.fail(seq, problem)
    result.stores_checked.extend(["prices", "sim_orders", "sim_executions", "sim_cash"])


def _records(conn: Any, table: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    names, rows = fetch_all(conn, f"SELECT {', '.join(columns)} FROM {table}")
    return [dict(zip(names, row)) for row in rows]


def log_entries(ledger: "SqlLedger", kind: str | None = None, after_seq: int = 0) -> Iterator[StoredEvent]:
    return ledger.events(kind=kind, after_seq=after_seq)
