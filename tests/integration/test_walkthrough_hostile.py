"""A hostile user's arguments to the report, bundle and reconcile commands (walkthrough of the
day's features together): dates at the end of the calendar, devices and pipes where a file is
expected. Never a traceback; one line; exit 2; nothing written."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from trackrecord.cli.app import run

REPO_SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("walkthrough") / "demo"
    assert run(["demo", str(root), "--years", "1"]) == 0
    return root


def _events(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


def _one_line_refusal(result, *named: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 2, result
    assert "Traceback" not in result.out + result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result
    for text in named:
        assert text in lines[0], result


@pytest.mark.parametrize("month", ["9999-12", "0001-01"])
def test_a_report_of_the_calendars_last_or_first_month_is_refused_in_one_line(cli, demo_root: Path, month: str) -> None:  # type: ignore[no-untyped-def]
    before = _events(cli, demo_root)
    result = cli("--home", demo_root, "report", month)
    _one_line_refusal(result, month)
    assert _events(cli, demo_root) == before


def test_stats_of_the_calendars_last_month_is_not_a_traceback(cli, demo_root: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", demo_root, "stats", "--month", "9999-12", "--json")
    assert "Traceback" not in result.out + result.err
    assert result.code in (0, 2), result


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01"])
def test_a_weekly_report_of_a_week_at_the_calendars_edge_is_refused_in_one_line(cli, demo_root: Path, week: str) -> None:  # type: ignore[no-untyped-def]
    before = _events(cli, demo_root)
    result = cli("--home", demo_root, "weekly-report", "--week", week)
    _one_line_refusal(result, week)
    assert _events(cli, demo_root) == before


@pytest.mark.parametrize("command", [
    ("export", "bundle"),
    ("report", "2024-06", "--out"),
    ("weekly-report", "--out"),
])
def test_a_pipe_given_as_the_file_to_write_is_refused_and_left_a_pipe(cli, demo_root: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     command: tuple[str, ...]) -> None:
    pipe = tmp_path / "out.fifo"
    os.mkfifo(pipe)
    before = _events(cli, demo_root)
    result = cli("--home", demo_root, *command, pipe)
    assert stat.S_ISFIFO(pipe.stat().st_mode), "the command replaced the pipe with a regular file"
    _one_line_refusal(result, str(pipe), "not a regular file")
    assert _events(cli, demo_root) == before


def test_a_weekly_report_written_onto_a_folder_is_refused_in_one_line(cli, demo_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "reports"
    folder.mkdir()
    before = _events(cli, demo_root)
    result = cli("--home", demo_root, "weekly-report", "--out", folder)
    _one_line_refusal(result, "folder")
    assert folder.is_dir() and _events(cli, demo_root) == before


def _limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ("verify", "/dev/zero"),
    ("report", "verify", "/dev/zero"),
    ("weekly-report", "--verify", "/dev/zero"),
    ("reconcile", "/dev/zero"),
])
def test_an_endless_device_given_as_the_file_to_read_is_refused_without_reading_it(demo_root: Path,  # type: ignore[no-untyped-def]
                                                                                  command: tuple[str, ...]) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_SRC), TRACKRECORD_HOME=str(demo_root))
    done = subprocess.run([sys.executable, "-m", "trackrecord", *command], capture_output=True, text=True,
                          env=env, timeout=120, preexec_fn=_limited_memory)
    assert done.returncode == 2, (done.returncode, done.stderr[-800:])
    assert "Traceback" not in done.stderr and "not a regular file" in done.stderr, done.stderr[-800:]
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_returns_whose_variance_underflows_have_no_skew_or_kurtosis_instead_of_a_crash() -> None:
    import numpy as np

    from trackrecord.analytics.metrics import Undefined, excess_kurtosis, skewness

    returns = np.array([0.0, 0.0, 1e-125, 0.0, 0.0])
    assert isinstance(skewness(returns), Undefined) and isinstance(excess_kurtosis(returns), Undefined)
