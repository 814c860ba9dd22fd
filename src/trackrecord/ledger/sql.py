"""Driver-level SQL for the hot write paths (appends, projections, price bars).

SQLAlchemy builds and caches statements well, but an append costs more in statement
handling than in the database; these strings are made once per dialect and table and go
straight to the DBAPI (named parameters: ``:name`` for sqlite3, ``%(name)s`` for psycopg).
The SQL is the same on both: ``INSERT … ON CONFLICT (…) DO UPDATE SET c = excluded.c``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def param(dialect: str, name: str) -> str:
    return f"%({name})s" if dialect == "postgresql" else f":{name}"


@lru_cache(maxsize=256)
def insert_sql(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    values = ", ".join(param(dialect, c) for c in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


@lru_cache(maxsize=64)
def positional_insert_sql(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    """``insert_sql`` with positional parameters (``?`` for sqlite3, ``%s`` for psycopg), for
    rows given as tuples in ``columns`` order."""
    marks = ", ".join(["%s" if dialect == "postgresql" else "?"] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


@lru_cache(maxsize=256)
def upsert_sql(dialect: str, table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return f"{insert_sql(dialect, table, columns)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"


@lru_cache(maxsize=256)
def positional_upsert_sql(dialect: str, table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    """``upsert_sql`` with positional parameters, for rows given as tuples in ``columns`` order."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return f"{positional_insert_sql(dialect, table, columns)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"


@lru_cache(maxsize=256)
def update_sql(dialect: str, table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    sets = ", ".join(f"{c} = {param(dialect, c)}" for c in columns)
    where = " AND ".join(f"{k} = {param(dialect, k)}" for k in keys)
    return f"UPDATE {table} SET {sets} WHERE {where}"


@lru_cache(maxsize=256)
def select_sql(dialect: str, table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    where = " AND ".join(f"{k} = {param(dialect, k)}" for k in keys)
    return f"SELECT {', '.join(columns)} FROM {table} WHERE {where}"


def execute_many(conn: "Connection", sql: str, rows: Sequence[dict[str, Any]]) -> None:
    """Run ``sql`` for each row on the connection's own DBAPI cursor, inside its transaction."""
    execute_rows(conn.connection.driver_connection, sql, rows)


def execute_rows(dbapi: Any, sql: str, rows: Sequence[Any]) -> None:
    """``execute_many`` on a DBAPI connection (sqlite3, psycopg): the stdlib-only writers' form."""
    if not rows:
        return
    cursor = dbapi.cursor()
    try:
        execute_on_cursor(cursor, sql, rows)
    finally:
        cursor.close()


def execute_on_cursor(cursor: Any, sql: str, rows: Sequence[Any]) -> None:
    """``sql`` for each of ``rows`` (dicts or tuples) on an open DBAPI cursor: one execute
    for one row (executemany's set-up costs more than the row)."""
    if len(rows) == 1:
        cursor.execute(sql, rows[0])
    else:
        cursor.executemany(sql, list(rows))


def fetch_all(conn: "Connection", sql: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) straight from the DBAPI cursor."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params or {})
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        cursor.close()


def fetch_one(conn: "Connection", sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    return fetch_row(conn.connection.driver_connection, sql, params)


def fetch_row(dbapi: Any, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of ``sql`` on a DBAPI connection (sqlite3, psycopg), None when there is none."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql, params or {})
        return cursor.fetchone()  # type: ignore[no-any-return]
    finally:
        cursor.close()
