"""The ledger store: append events to the hash chain and write their projections in the
same transaction, one writer at a time.

Rule: nothing is ever updated or deleted in ``events``; the database refuses it too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterator, Mapping, Protocol, Sequence

from trackrecord.crash import after_commit
from trackrecord.errors import RuntimeFailure
from trackrecord.ledger import events as kinds
from trackrecord.ledger.append import append_events, read_head
from trackrecord.ledger.backtest_mark import SHOWING_KINDS, read_backtest_mark, refuse_on_a_backtest
from trackrecord.ledger.canonical import Canonical, normalise
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.db import WRITE_OPTION
from trackrecord.ledger.record_rules import (
    RecordKind,
    Recorder,
    latest_session,
    recorded_kind,
    recorder_of,
    refuse_a_mixed_record,
    refuse_another_recorder,
)
from trackrecord.ledger.sql import execute_rows, param
from trackrecord.ledger.writer_lock import WriterLock

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

POSTGRES_WRITER_LOCK = 7_700_077
_PROCESS_WRITERS: list[None] = []  # depth of ledger writers open in this process (PostgreSQL)
EVENT_COLUMNS = ("seq", "recorded_at", "kind", "payload", "prev_hash", "hash")
Clock = Callable[[], datetime]
_UNREAD = object()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


_KEEPING_THE_RECORD_ONE = frozenset({kinds.SNAPSHOT_RECORDED, kinds.FILL_RECORDED})  # ledger.record_rules


class LedgerStore(Protocol):
    """The ledger port: append facts, read them back in order."""

    def append(self, kind: str, payload: Mapping[str, Any]) -> StoredEvent: ...

    def append_many(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[StoredEvent]: ...

    def events(self, kind: str | None = None, after_seq: int = 0) -> Iterator[StoredEvent]: ...

    def head(self) -> tuple[int, str]: ...


@dataclass
class Writer:
    """Appends inside one open transaction; projections are written as events are."""

    conn: "Connection"
    seq: int
    prev_hash: str
    clock: Clock
    written: list[StoredEvent] = field(default_factory=list)
    dbapi: Any = field(default=None, repr=False)  # the connection's DBAPI connection (sqlite3 or psycopg)
    # the only kinds this writer may append (a BACKTEST ledger's, to any writer but the replay's); None: any
    only: frozenset[str] | None = None
    # account -> its latest snapshot's session (text), read once in this transaction, then followed
    _latest_snapshots: dict[str, Any] = field(default_factory=dict, repr=False)
    # account -> the kind of its record (its latest snapshot's), read once in this transaction, then followed
    _record_kinds: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.dbapi is None:
            self.dbapi = self.conn.connection.driver_connection
        self._dialect = self.conn.dialect.name

    def append(self, kind: str, payload: Mapping[str, Any] | Canonical,
               recorded_at: datetime | None = None) -> StoredEvent:
        if self.only is not None and kind not in self.only:
            refuse_on_a_backtest(kind)
        if kind in _KEEPING_THE_RECORD_ONE:
            self._refuse_a_mixed_record(kind, payload)
        event = append_events(self.dbapi, self._dialect, (self.seq, self.prev_hash), ((kind, payload),),
                              recorded_at or self.clock())[0]
        self.seq, self.prev_hash = event.seq, event.hash
        self.written.append(event)
        if kind == kinds.SNAPSHOT_RECORDED and self._latest_snapshots:
            self._follow_snapshot(payload)
        return event

    def append_many(
        self, items: Sequence[tuple[str, Mapping[str, Any] | Canonical]], recorded_at: datetime | None = None
    ) -> list[StoredEvent]:
        if self.only is not None:
            for kind, _ in items:
                if kind not in self.only:
                    refuse_on_a_backtest(kind)
        for kind, payload in items:
            if kind in _KEEPING_THE_RECORD_ONE:
                self._refuse_a_mixed_record(kind, payload)
        new = append_events(self.dbapi, self._dialect, (self.seq, self.prev_hash), items, recorded_at or self.clock())
        if not new:
            return []
        last = new[-1]
        self.seq, self.prev_hash = last.seq, last.hash
        self.written.extend(new)
        if self._latest_snapshots:
            for kind, payload in items:
                if kind == kinds.SNAPSHOT_RECORDED:
                    self._follow_snapshot(payload)
        return new

    def may_hold_snapshot(self, account_id: str, session_date: date) -> bool:
        """Whether the ``snapshots`` table may hold a row for (account, session). False only
        when it provably does not: the account's latest session, read once in this
        transaction (which holds the single-writer lock: no other writer adds one) and
        followed through every snapshot this writer appends, is before ``session_date``."""
        latest = self._latest_snapshots.get(account_id, _UNREAD)
        if latest is _UNREAD:
            found = latest_session(self.conn, account_id)
            latest = self._latest_snapshots[account_id] = None if found is None else found.isoformat()
        return latest is not None and latest >= session_date.isoformat()

    def _refuse_a_mixed_record(self, kind: str, payload: Mapping[str, Any] | Canonical) -> None:
        """A snapshot or fill that would mix into its account's record (``ledger.record_rules``)
        is refused before it is written; the record's kind is its latest snapshot's."""
        data = payload.data if type(payload) is Canonical else payload
        account_id = str(normalise(data.get("account_id")))
        recorded = self._record_kinds.get(account_id, _UNREAD)
        if recorded is _UNREAD:
            recorded = self._record_kinds[account_id] = recorded_kind(self.conn, account_id)
        if kind == kinds.FILL_RECORDED:  # a fill is checked only as an import (the engine's follow their orders)
            if recorder_of(data) is Recorder.IMPORT:
                refuse_another_recorder(account_id, Recorder.IMPORT, recorded, "fill")
            return
        new = RecordKind(str(normalise(data.get("base_currency"))), recorder_of(data))
        refuse_a_mixed_record(account_id, new, recorded)
        if recorded is None:  # the account's first snapshot sets its record's kind
            self._record_kinds[account_id] = new

    def _follow_snapshot(self, payload: Mapping[str, Any] | Canonical) -> None:
        """A snapshot appended: the latest session of its account (as its projection stores them)."""
        if type(payload) is Canonical:
            account_id, session = payload.data.get("account_id"), payload.data.get("session_date")
        else:
            account_id, session = normalise(payload.get("account_id")), normalise(payload.get("session_date"))
        latest = self._latest_snapshots.get(account_id, _UNREAD)
        if latest is not _UNREAD and (latest is None or str(session) > latest):
            self._latest_snapshots[account_id] = str(session)


class SqlLedger:
    """LedgerStore over SQLAlchemy: SQLite (file lock) or PostgreSQL (advisory lock).

    Rule: a ledger marked as a BACKTEST's (``ledger.backtest_mark``) takes from this store
    only ``SHOWING_KINDS``, unless it is the replay's own (``replay``, which only
    ``bootstrap.connect(durable=False)`` opens, for a backtest alone): every other record is
    refused where it would be written, whichever command, page or script offers it."""

    def __init__(self, engine: "Engine", lock_path: Path | None = None, clock: Clock = utc_now,
                 replay: bool = False) -> None:
        self.engine = engine
        self.clock = clock
        self.replay = replay
        self._only: Any = _UNREAD  # the kinds its writers may append, read once the chain has begun
        self._lock_path = lock_path
        self._lock = WriterLock(str(lock_path)) if lock_path is not None else None  # one, resolved once
        self._writer_conn: "Connection | None" = None

    def write_lock(self) -> ContextManager[None]:
        """The single-writer lock, for a store that writes its own tables in the ledger's
        database (the simulated broker's book). SQLite: the file lock, re-entrant in this
        process. PostgreSQL: nothing here; such a store takes ``POSTGRES_WRITER_LOCK`` in its
        own transaction, unless this process holds it already (``this_process_writes``).
        Waits are bounded: ``RuntimeFailure`` (one line, exit 1) when it cannot."""
        if self._lock is None:
            return _ProcessWriter()
        if not self._lock.available:  # no fcntl (Windows): the portable lock
            return self._portable_lock()
        return _FileLock(self._lock)

    @contextlib.contextmanager
    def _portable_lock(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(self._lock_path), timeout=120):
                yield
        except Timeout:
            raise RuntimeFailure(f"the ledger writer lock {self._lock_path} is held by another process") from None

    def writer(self) -> ContextManager[Writer]:
        """One transaction holding the single-writer lock; commits on success. On SQLite
        the transaction begins IMMEDIATE (the database's write lock at once); the head is
        read inside the lock and the transaction."""
        return _WriteTransaction(self)

    @property
    def took_the_writer(self) -> bool:
        """Whether this ledger opened a write transaction (a writing command, even one that
        then refused)."""
        return self._writer_conn is not None

    def kinds_taken(self, dbapi: Any, seq: int) -> frozenset[str] | None:
        """The kinds this store's writers may append (None: any), read once from the chain's
        mark on the writer's own connection; an empty chain is not marked yet."""
        if self._only is _UNREAD:
            if self.replay:
                self._only = None
            elif seq == 0:
                return None
            else:
                self._only = SHOWING_KINDS if read_backtest_mark(dbapi) is not None else None
        return self._only  # type: ignore[no-any-return]

    def _write_connection(self) -> "Connection":
        """One connection kept for writing (a run appends thousands of times)."""

        if self._writer_conn is None or self._writer_conn.closed:
            self._writer_conn = self.engine.connect().execution_options(**{WRITE_OPTION: True})
        return self._writer_conn

    def close(self) -> None:
        if self._writer_conn is not None:
            self._writer_conn.close()
            self._writer_conn = None

    def append(self, kind: str, payload: Mapping[str, Any]) -> StoredEvent:
        return self.append_many([(kind, payload)])[0]

    def append_many(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[StoredEvent]:
        with self.writer() as writer:
            return writer.append_many(items)

    def head(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            return _head(conn)

    def events(self, kind: str | None = None, after_seq: int = 0, batch: int = 20_000) -> Iterator[StoredEvent]:
        """Events in seq order, read in pages so memory stays flat."""

        last = after_seq
        with self.engine.connect() as conn:
            dialect = conn.dialect.name
            where = f"seq > {param(dialect, 'last')}" + (f" AND kind = {param(dialect, 'kind')}" if kind else "")
            sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE {where} ORDER BY seq LIMIT {int(batch)}"
            while True:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.execute(sql, {"last": last, "kind": kind} if kind else {"last": last})
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
                for row in rows:
                    yield StoredEvent(*row)
                if len(rows) < batch:
                    return
                last = rows[-1][0]


class _ProcessWriter:
    """PostgreSQL's part of ``write_lock``: count this process's open writers."""

    def __enter__(self) -> None:
        _PROCESS_WRITERS.append(None)

    def __exit__(self, *exc: object) -> None:
        _PROCESS_WRITERS.pop()


class _FileLock:
    """SQLite's part of ``write_lock``: the ledger's ``flock``, bounded waits as one line."""

    def __init__(self, lock: WriterLock) -> None:
        self.lock = lock

    def __enter__(self) -> None:
        try:
            self.lock.__enter__()
        except TimeoutError as exc:
            raise RuntimeFailure(str(exc)) from None

    def __exit__(self, *exc: object) -> None:
        self.lock.__exit__()


class _WriteTransaction:
    """``SqlLedger.writer()``: lock, begin, read the head; on exit commit (or roll back)
    and release. A class rather than a generator: a replay opens thousands."""

    def __init__(self, ledger: SqlLedger) -> None:
        self.ledger = ledger
        self.lock: ContextManager[None] | None = None
        self.transaction: Any = None

    def __enter__(self) -> Writer:
        ledger = self.ledger
        conn = ledger._write_connection()
        lock = ledger.write_lock()
        lock.__enter__()
        try:
            transaction = conn.begin()
            try:
                dbapi = conn.connection.driver_connection
                if conn.dialect.name == "postgresql":
                    execute_rows(dbapi, "SELECT pg_advisory_xact_lock(%s)", [(POSTGRES_WRITER_LOCK,)])
                seq, prev = read_head(dbapi)
                only = ledger.kinds_taken(dbapi, seq)
            except BaseException:
                transaction.rollback()
                raise
        except BaseException as exc:
            lock.__exit__(None, None, None)
            _raise_lock_failure(exc)
            raise
        self.lock, self.transaction = lock, transaction
        return Writer(conn, seq, prev, ledger.clock, dbapi=dbapi, only=only)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, trace: Any) -> None:
        transaction, lock = self.transaction, self.lock
        self.transaction = self.lock = None
        try:
            try:
                if kind is None:
                    _commit(transaction)
                else:
                    transaction.rollback()
            finally:
                lock.__exit__(None, None, None)  # type: ignore[union-attr]
        except BaseException as failure:
            _raise_lock_failure(failure)
            raise
        if kind is None:
            after_commit()
        else:
            _raise_lock_failure(exc)  # type: ignore[arg-type]


def _commit(transaction: Any) -> None:
    """Commit; a commit that fails is rolled back (as ``with conn.begin()`` does), so the
    kept connection can begin again."""
    try:
        transaction.commit()
    except BaseException:
        if transaction.is_active:
            transaction.rollback()
        raise


def this_process_writes() -> bool:
    """True inside a ledger writer of this process (PostgreSQL): a store that shares the
    database must not wait for the advisory lock its own process holds."""
    return bool(_PROCESS_WRITERS)


def _raise_lock_failure(exc: BaseException) -> None:
    """SQLite's "database is locked" after the busy timeout: one line, exit 1 (any other
    error goes on as it is)."""
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        raise _lock_failure(exc) from None


def _lock_failure(exc: Exception) -> Exception:
    """SQLite's "database is locked" after the busy timeout: one line, exit 1."""
    message = str(getattr(exc, "orig", exc))
    if "locked" in message or "busy" in message:
        return RuntimeFailure(f"the database stayed locked by another writer beyond the busy timeout ({message}); "
                              "try again when it has finished")
    return exc


def _head(conn: "Connection") -> tuple[int, str]:
    return read_head(conn.connection.driver_connection)
