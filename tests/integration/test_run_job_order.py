"""A job run by hand for a past session is refused like `daily --as-of`: one line, exit 2,
before any price source is asked and before anything is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def demo(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "demo"
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-12-01T18:00:00Z")  # the demo's record, whatever today is
    assert cli("demo", root, "--years", "1", "--seed", "3").code == 0
    return root


@pytest.mark.parametrize("job", ["close", "rebalance"])
def test_a_job_for_a_session_before_the_record_is_refused_before_anything_runs(cli, demo: Path, job: str,  # type: ignore[no-untyped-def]
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = demo / "trackrecord.yaml"
    config.write_text(config.read_text().replace('source: "synthetic"', 'source: "yahoo"'))  # would need the network
    events = len(json.loads(cli("--home", demo, "ledger", "log", "--json").out))
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-12-01T18:00:00Z")
    result = cli("--home", demo, "run-job", job, "--as-of", "2026-06-01")
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "already has a later recorded session" in result.err
    assert len(json.loads(cli("--home", demo, "ledger", "log", "--json").out)) == events
