"""The simulated broker's book in the database (``sim_orders``, ``sim_executions``,
``sim_cash``): read once at start-up, then written only when something changes.

These tables are the counterparty's state (like IB's servers), outside the hash chain.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Sequence

from trackrecord.crash import after_commit
from trackrecord.errors import RuntimeFailure
from trackrecord.ledger.canonical import format_timestamp
from trackrecord.ledger.cashflows import RecordedCashFlow, booking_flows
from trackrecord.ledger.db import WRITE_OPTION
from trackrecord.ledger.schema import sim_cash, sim_executions, sim_orders
from trackrecord.ledger.store import POSTGRES_WRITER_LOCK, this_process_writes

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

WriteLock = Callable[[], ContextManager[None]]
# The DBAPI connection of a writer transaction the book's writes join (None: none is open).
OpenTransaction = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class BookRows:
    orders: list[dict[str, Any]]
    executions: list[dict[str, Any]]
    cash: list[dict[str, Any]]
    next_order_id: int
    next_cash_id: int


def parse_timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stamp(moment: datetime) -> str:
    return format_timestamp(moment)


class DuplicateOrderRef(Exception):
    """The (account, order_ref) key exists already in ``sim_orders``."""


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"


_ORDER_COLUMNS = ("broker_order_id", "account_id", "order_ref", "symbol", "side", "quantity", "order_type",
                  "limit_price", "currency", "status", "placed_at", "message")
_EXECUTION_COLUMNS = ("exec_id", "account_id", "broker_order_id", "order_ref", "symbol", "side", "quantity", "price",
                      "currency", "commission", "executed_at")
_CASH_COLUMNS = ("id", "account_id", "amount", "booked_at", "note", "flow_key")
INSERT_ORDER = _insert_sql("sim_orders", _ORDER_COLUMNS)
INSERT_EXECUTION = _insert_sql("sim_executions", _EXECUTION_COLUMNS)
INSERT_CASH = _insert_sql("sim_cash", _CASH_COLUMNS)
UPDATE_ORDER = "UPDATE sim_orders SET status = :status, message = :message WHERE broker_order_id = :broker_order_id"


class SimBookStore:
    """Reads one account's rows once; writes each change in one short transaction.

    Writes go through a connection held for the store's life: on SQLite straight through
    the driver (a few µs a row, where SQLAlchemy's per-statement work costs ~40 µs), on
    other databases through SQLAlchemy ``text()``; the SQL is the same. ``close`` gives
    the connection back.

    Every write holds the ledger's single-writer lock (``write_lock``, the ledger's
    ``SqlLedger.write_lock``) and begins its transaction for writing: SQLite ``BEGIN
    IMMEDIATE``, PostgreSQL the ledger's advisory lock, so the book's writes and the
    ledger's never meet half-way ("database is locked").

    A backtest's book may instead join the ledger writer's open transaction
    (``join_transaction``): its rows then commit (or roll back) with the ledger's events.
    """

    def __init__(self, engine: "Engine", account_id: str, write_lock: WriteLock | None = None) -> None:
        self.engine = engine
        self.account_id = account_id
        self._sqlite = engine.dialect.name == "sqlite"
        self._conn: Any = None
        self._write_lock = write_lock
        self._postgres = engine.dialect.name == "postgresql"
        self._joined: OpenTransaction | None = None

    def join_transaction(self, open_transaction: OpenTransaction) -> None:
        """Write inside the transaction ``open_transaction()`` names whenever it names one
        (the caller holds the single-writer lock and commits); else as before, each change
        in a transaction of its own. Only for a throw-away database (a backtest's)."""
        self._joined = open_transaction

    def load(self) -> BookRows:
        from sqlalchemy import func, select

        account = self.account_id
        with self.engine.connect() as conn:
            orders = [dict(r._mapping) for r in conn.execute(
                select(sim_orders).where(sim_orders.c.account_id == account).order_by(sim_orders.c.broker_order_id))]
            executions = [dict(r._mapping) for r in conn.execute(
                select(sim_executions).where(sim_executions.c.account_id == account))]
            cash = [dict(r._mapping) for r in conn.execute(
                select(sim_cash).where(sim_cash.c.account_id == account).order_by(sim_cash.c.id))]
            max_order = conn.execute(select(func.max(sim_orders.c.broker_order_id))).scalar()
            max_cash = conn.execute(select(func.max(sim_cash.c.id))).scalar()
        return BookRows(orders, executions, cash, int(max_order or 0) + 1, int(max_cash or 0) + 1)

    def insert_order(self, row: dict[str, Any]) -> int:
        """Insert and return the broker order id used: ``row``'s, or the next free one when
        another account on the same database took it. Raises DuplicateOrderRef when
        (account, order_ref) is in the book already."""
        while True:
            try:
                self._write([(INSERT_ORDER, [{**row, "account_id": self.account_id}])])
                return int(row["broker_order_id"])
            except Exception as exc:
                if not _is_integrity_error(exc):
                    raise
                if self._scalar("SELECT COUNT(*) FROM sim_orders WHERE account_id = :a AND order_ref = :r",
                                {"a": self.account_id, "r": row["order_ref"]}):
                    raise DuplicateOrderRef(row["order_ref"]) from exc
                taken = row["broker_order_id"]
                row = {**row, "broker_order_id": int(self._scalar("SELECT MAX(broker_order_id) FROM sim_orders", {})) + 1}
                if row["broker_order_id"] <= taken:
                    raise

    def book_ledger_flows(
        self, rows_for: Callable[[list[RecordedCashFlow], set[str], int], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Book the ledger's flows of this account that the book has not booked yet, in one
        locked write transaction: ``rows_for(flows, booked flow keys, next id)`` says which
        ``sim_cash`` rows (each with its ``flow_key``). Returns the rows written."""
        from sqlalchemy import text

        held = this_process_writes()
        with self._locked(), self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                if self._postgres and not held:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_WRITER_LOCK})
                flows = booking_flows(conn, self.account_id)
                booked = {key for (key,) in conn.execute(
                    text("SELECT flow_key FROM sim_cash WHERE account_id = :a AND flow_key IS NOT NULL"),
                    {"a": self.account_id})}
                next_id = int(conn.execute(text("SELECT MAX(id) FROM sim_cash")).scalar() or 0) + 1
                rows = rows_for(flows, booked, next_id)
                if rows:
                    conn.execute(text(INSERT_CASH), [{**row, "account_id": self.account_id} for row in rows])
        if rows:
            after_commit()
        return rows

    def insert_cash(self, row: dict[str, Any]) -> int:
        """Insert and return the id used (the next free one if another account took it)."""
        while True:
            try:
                self._write([(INSERT_CASH, [{"flow_key": None, **row, "account_id": self.account_id}])])
                return int(row["id"])
            except Exception as exc:
                if not _is_integrity_error(exc):
                    raise
                taken = row["id"]
                row = {**row, "id": int(self._scalar("SELECT MAX(id) FROM sim_cash", {})) + 1}
                if row["id"] <= taken:
                    raise

    def _scalar(self, sql: str, params: dict[str, Any]) -> Any:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def record(self, executions: Sequence[dict[str, Any]], statuses: Sequence[tuple[int, str, str]]) -> None:
        """Executions and order status changes ``(broker_order_id, status, message)`` together."""
        batches = []
        if executions:
            batches.append((INSERT_EXECUTION, [{**row, "account_id": self.account_id} for row in executions]))
        if statuses:
            batches.append((UPDATE_ORDER, [{"broker_order_id": oid, "status": status, "message": message}
                                           for oid, status, message in statuses]))
        if batches:
            self._write(batches)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _locked(self) -> ContextManager[None]:
        import contextlib

        return self._write_lock() if self._write_lock is not None else contextlib.nullcontext()

    def _write(self, batches: Sequence[tuple[str, list[dict[str, Any]]]]) -> None:
        joined = self._joined() if self._joined is not None else None
        if joined is not None:
            cursor = joined.cursor()
            try:
                for sql, rows in batches:
                    cursor.executemany(sql, rows)
            finally:
                cursor.close()
            return
        held = this_process_writes()
        with self._locked():
            if self._sqlite:
                self._write_sqlite(batches)
                return
            from sqlalchemy import text

            if self._conn is None or self._conn.closed:
                self._conn = self.engine.connect()
            with self._conn.begin():
                if self._postgres and not held:
                    self._conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_WRITER_LOCK})
                for sql, rows in batches:
                    self._conn.execute(text(sql), rows)
            after_commit()

    def _write_sqlite(self, batches: Sequence[tuple[str, list[dict[str, Any]]]]) -> None:
        if self._conn is None:
            self._conn = self.engine.raw_connection()  # pragmas of create_db_engine applied; autocommit driver
        cursor = self._conn.cursor()
        try:
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise RuntimeFailure(f"the simulated book's database stayed locked beyond the busy timeout ({exc}); "
                                     "try again when the other writer has finished") from None
            try:
                for sql, rows in batches:
                    cursor.executemany(sql, rows)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            cursor.close()
        after_commit()


def _is_integrity_error(exc: Exception) -> bool:
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    return isinstance(exc, (IntegrityError, sqlite3.IntegrityError))


def decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
