"""Sequences across features (walkthrough): a price correction after the record was made, then
the close job of a rebalance session whose signal the corrected history blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.demo_support import import_a_pence_bar
from trackrecord.cli.app import run

NOW = "2026-12-01T12:00:00Z"  # the first session of December, before the close


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACKRECORD_NOW", NOW)
    root = tmp_path / "demo"
    assert run(["demo", str(root), "--years", "1"]) == 0
    return root


def test_a_close_job_blocked_by_the_signals_gates_does_not_also_say_the_gates_passed(cli, demo: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import_a_pence_bar(cli, demo, tmp_path / "fix")
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-12-01T18:00:00Z")
    result = cli("--home", demo, "run-job", "close")
    said = result.out + result.err
    assert result.code == 3, result
    assert "gates failed" in said and "daily_move" in said, result
    assert "fill(s), gates passed" not in said and "the session's price gates passed" in said, result
