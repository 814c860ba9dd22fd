"""A committed order intent must survive an OS crash or a power cut, not only a killed
process: SQLite ledgers sync the WAL on every commit (``synchronous=FULL``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from trackrecord.bootstrap import connect
from trackrecord.ledger import kill_switch_sqlite
from trackrecord.ledger.db import create_db_engine
from trackrecord.workspace import open_workspace

FULL, OFF = 2, 0


def test_workspace_database_syncs_every_commit(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", workspace, "cashflow", "add", "--date", "2024-01-02", "--amount", "1000").code == 0
    services = connect(open_workspace(workspace))
    try:
        with services.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == FULL
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        services.close()


def test_kill_switch_fast_path_syncs_every_commit(workspace: Path) -> None:
    conn = kill_switch_sqlite._connect(str(workspace / "trackrecord.db"))
    try:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == FULL
    finally:
        conn.close()


def test_only_a_throw_away_database_may_relax_durability(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'backtest.db'}", durable=False)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == OFF  # issue 15: a backtest's database skips the sync altogether
    finally:
        engine.dispose()
