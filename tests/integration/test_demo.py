"""`trackrecord demo`, as `make demo` runs it: SIMULATED everywhere, a ledger that verifies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_replays_the_pipeline_and_its_ledger_verifies(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "trackrecord", "demo", str(root), "--years", "1", "--seed", "3"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "SIMULATED demo" in out and "| SIMULATED" in out
    assert "ledger OK" in out and "Total return (time-weighted)" in out
    stats = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(root), "stats", "--json"],
                           capture_output=True, text=True, timeout=120)
    document = json.loads(stats.stdout)
    assert document["simulated"] is True and document["paper"] is not None
    assert document["metrics"]["n_returns"] > 240
    flows = json.loads(subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(root), "cashflow", "list",
                                       "--json"], capture_output=True, text=True, timeout=120).stdout)
    assert [f["amount"] for f in flows] == ["100000", "25000"], "an initial and a later deposit"
    # a deposit is not profit: P&L is the NAV change since the base snapshot less the later deposit
    navs = snapshot_navs(root)
    assert abs(document["metrics"]["pnl"] - (navs[-1] - navs[0] - 25000)) < 0.01


def snapshot_navs(root: Path) -> list[float]:
    log = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(root), "ledger", "log", "--kind",
                          "snapshot.recorded", "--json"], capture_output=True, text=True, timeout=120)
    return [float(e["payload"]["nav"]) for e in json.loads(log.stdout)]


@pytest.mark.slow
def test_demo_refuses_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "trackrecord.yaml").write_text("mode: paper\n")
    result = subprocess.run([sys.executable, "-m", "trackrecord", "demo", str(tmp_path / "demo"), "--years", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "already holds a workspace" in result.stderr


@pytest.mark.slow
def test_a_rerun_replaces_the_folder_a_killed_demo_left_and_says_so(tmp_path: Path) -> None:
    import signal
    import time

    root = tmp_path / "demo"
    command = [sys.executable, "-m", "trackrecord", "demo", str(root), "--years", "1", "--seed", "3"]
    killed = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _replaying(root):
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert (root / ".demo-unfinished").is_file(), "killed mid-way: the folder is marked unfinished"
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "replaced the unfinished demo a killed run had left" in rerun.stdout and "ledger OK" in rerun.stdout
    assert not (root / ".demo-unfinished").exists()
    verify = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(root), "verify", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and json.loads(verify.stdout)["unsigned_events"] == 0


def _replaying(root: Path) -> bool:
    """The replay has written past the history load (some sessions are in the ledger)."""
    import sqlite3

    if not (root / "trackrecord.db").is_file():
        return False
    try:
        with sqlite3.connect(root / "trackrecord.db", timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'snapshot.recorded'").fetchone()[0] > 20
    except sqlite3.Error:
        return False


def test_a_demo_into_a_folder_with_other_files_is_never_replaced(tmp_path: Path) -> None:
    from trackrecord.engine.demo import clear_unfinished_demo

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert clear_unfinished_demo(folder) is False and (folder / "notes.txt").is_file()
