"""What every fuzz case checks: exit 2 (or 0 for a valid variant), never a traceback, and on a
refusal the ledger, the price store and the simulated book exactly as they were."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import CliResult

FUZZ = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def state(root: Path) -> dict[str, int]:
    """Row counts of the ledger (events), the price store and every simulated-broker table."""
    db = sqlite3.connect(root / "trackrecord.db")
    try:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if name in ("events", "prices") or name.startswith("sim_")]
        return {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables}
    finally:
        db.close()


def check(result: CliResult, before: dict[str, int], root: Path, allowed: tuple[int, ...] = (0, 2)) -> None:
    assert "Traceback" not in result.out + result.err, result
    assert result.code in allowed, result
    if result.code != 0:
        assert state(root) == before, (result, before, state(root))
    if result.err.startswith("error: "):
        assert result.err.count("\n") == 1, result  # one line naming what was wrong


@pytest.fixture
def paper(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    """A paper workspace (the simulated book exists) with one deposit booked."""
    root = tmp_path / "paper"
    assert cli("init", root).code == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace('mode: "dry_run"', 'mode: "paper"', 1))
    result = cli("--home", root, "cashflow", "add", "--date", "2026-01-05", "--amount", "1000")
    assert result.code == 0, result
    return root


def run_checked(cli, root: Path, *args: object, allowed: tuple[int, ...] = (0, 2)) -> CliResult:  # type: ignore[no-untyped-def]
    before = state(root)
    result = cli("--home", root, *args)
    check(result, before, root, allowed)
    return result
