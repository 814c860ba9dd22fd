"""Database engines and migrations: SQLite (WAL) by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrecord.secure_files import ensure_private_file

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

HEAD_REVISION = "0003"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
WRITE_OPTION = "trackrecord_write"
THROWAWAY_CACHE_KIB = 64 * 1024  # a throw-away database's page cache (SQLite's default: 2 MiB)  # execution option of a connection whose transactions write


def create_db_engine(url: str, durable: bool = True) -> "Engine":
    """``durable`` (every live and paper ledger) makes SQLite sync the WAL on every commit
    (``synchronous=FULL``): a committed order intent survives a power cut, not only a
    killed process. Only a throw-away database (a backtest's, rebuilt by rerunning it) may
    pass False: no sync at all (``synchronous=OFF``) and a larger page cache
    (``bootstrap.connect`` refuses it for any workspace not marked as a backtest)."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url

    synchronous = "FULL" if durable else "OFF"
    _create_private_sqlite_file(make_url(url).database if url.startswith("sqlite") else None)

    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            if not durable:
                cursor.execute(f"PRAGMA cache_size=-{THROWAWAY_CACHE_KIB}")
                cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # type: ignore[no-untyped-def]
            # pysqlite's own transaction handling is off (isolation_level=None): begin here.
            # A writer's transaction takes the write lock at once (a deferred one that reads
            # first fails with "database is locked" when another writer went in between).
            # Straight on the DBAPI connection: the statement needs none of SQLAlchemy's
            # execution machinery, and a replay begins thousands of transactions.
            write = conn.get_execution_options().get(WRITE_OPTION)
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


def create_read_only_engine(url: str) -> "Engine":
    """An engine that cannot write: SQLite opened with ``mode=ro`` and ``query_only``,
    PostgreSQL with read-only transactions. Nothing is created or migrated; a missing
    SQLite file is an ``OperationalError`` on first use."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if url.startswith("sqlite"):
        uri = f"file:{Path(make_url(url).database or '').resolve().as_posix()}?mode=ro"
        return create_engine("sqlite://", creator=lambda: _read_only_sqlite(uri))
    return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c default_transaction_read_only=on"})


def _read_only_sqlite(uri: str) -> Any:
    import sqlite3

    connection = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
    connection.execute("PRAGMA query_only=ON")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _create_private_sqlite_file(database: str | None) -> None:
    """A new SQLite file is created 0600 here before SQLite makes it 0644 (its -wal and
    -shm files take the database file's mode)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        ensure_private_file(path)


def current_revision(engine: "Engine") -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: "Engine") -> None:
    """Bring the schema to the head revision (a no-op when it is there already). A new,
    empty SQLite database gets the head schema at once (``head_schema``), without alembic."""
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    if revision is None and engine.dialect.name == "sqlite" and _create_head_schema(engine):
        return
    alembic_upgrade(engine)


def alembic_upgrade(engine: "Engine") -> None:
    """The migrations themselves, to the head revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _create_head_schema(engine: "Engine") -> bool:
    """The head schema's statements and its ``alembic_version`` row in one IMMEDIATE
    transaction, on a database with no table at all (False otherwise: the migrations run)."""
    from trackrecord.ledger import head_schema

    if head_schema.REVISION != HEAD_REVISION:
        return False
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        dbapi = conn.connection.driver_connection
        if dbapi.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            return False  # another process created it first, or it holds something else: alembic decides
        for statement in head_schema.STATEMENTS:
            dbapi.execute(statement)
        dbapi.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD_REVISION,))
    return True


def sqlite_schema(engine: "Engine") -> list[tuple[str, str, str, str | None]]:
    """``sqlite_master`` (type, name, table, sql) in creation order: what ``head_schema``
    must reproduce."""
    with engine.connect() as conn:
        rows = conn.connection.driver_connection.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()
    return [tuple(row) for row in rows]


def has_ledger(engine: "Engine") -> bool:
    """Whether the database holds the ledger's tables (before ``migrate`` would make them)."""
    from sqlalchemy import inspect

    return inspect(engine).has_table("events")
