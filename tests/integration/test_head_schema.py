"""A new SQLite database gets the head schema without alembic, and it is exactly the schema
the migrations build: same ``sqlite_master`` (types, names, statements, creation order),
same revision, and alembic itself finds nothing to do on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trackrecord.ledger import head_schema
from trackrecord.ledger.db import (
    HEAD_REVISION,
    alembic_upgrade,
    create_db_engine,
    current_revision,
    migrate,
    sqlite_schema,
)

REGENERATE = ("regenerate src/trackrecord/ledger/head_schema.py: REVISION = HEAD_REVISION and STATEMENTS = the sql "
              "column of sqlite_schema(engine) (rows whose sql is not None, in order) of a database built by "
              "alembic_upgrade")


def test_the_head_schema_is_the_one_the_migrations_build(tmp_path: Path) -> None:
    by_alembic = create_db_engine(f"sqlite:///{tmp_path / 'alembic.db'}")
    alembic_upgrade(by_alembic)
    fast = create_db_engine(f"sqlite:///{tmp_path / 'fast.db'}")
    migrate(fast)
    try:
        assert head_schema.REVISION == HEAD_REVISION, REGENERATE
        assert sqlite_schema(fast) == sqlite_schema(by_alembic), REGENERATE
        assert current_revision(fast) == current_revision(by_alembic) == HEAD_REVISION
        alembic_upgrade(fast)  # alembic agrees it is at the head: nothing changes
        assert sqlite_schema(fast) == sqlite_schema(by_alembic)
    finally:
        fast.dispose()
        by_alembic.dispose()


def test_a_new_database_is_created_without_importing_alembic(tmp_path: Path) -> None:
    code = ("import sys; from trackrecord.ledger.db import create_db_engine, current_revision, migrate; "
            f"e = create_db_engine('sqlite:///{tmp_path / 'new.db'}'); migrate(e); "
            "print(current_revision(e), 'alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [HEAD_REVISION, "False"], done


def test_a_database_holding_anything_goes_through_the_migrations(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "odd.db"
    sqlite3.connect(path).execute("CREATE TABLE notes (text TEXT)").connection.close()
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        assert current_revision(engine) == HEAD_REVISION
        names = [name for _, name, _, _ in sqlite_schema(engine)]
        assert names[0] == "notes" and "events" in names
    finally:
        engine.dispose()


def test_init_and_verify_on_a_head_schema_workspace(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root).code == 0
    assert cli("--home", root, "cashflow", "add", "--amount", "1000", "--date", "2026-03-02").code == 0
    result = cli("--home", root, "verify")
    assert result.code == 0, result
