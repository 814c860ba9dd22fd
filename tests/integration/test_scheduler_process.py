"""The real ``trackrecord scheduler`` process: systemd's notify protocol, one scheduler per
workspace, SIGTERM during a rebalance finishes the step and exits 0, and a rerun completes
the record without duplicates."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.integration.ops_support import paper_workspace

pytestmark = pytest.mark.slow  # subprocesses

REBALANCE_SOON = "2026-06-01T14:29:57Z"  # three seconds before the 15:30 (BST) rebalance


@pytest.fixture
def paper(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    root = paper_workspace(cli, tmp_path / "ws", heartbeat_seconds=1)
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-05-29T18:00:00Z")
    assert cli("--home", root, "prices", "update").code == 0
    assert cli("--home", root, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").code == 0
    return root


@pytest.fixture
def notify_socket():  # type: ignore[no-untyped-def]
    folder = tempfile.mkdtemp(prefix="tr-notify-")
    path = os.path.join(folder, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    yield path, sock
    sock.close()
    os.unlink(path)
    os.rmdir(folder)


def _start(root: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "trackrecord", "--home", str(root), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env})


def _messages(sock: socket.socket, until: str, timeout: float = 60) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and until not in seen:
        try:
            seen.append(sock.recv(4096).decode())
        except socket.timeout:
            continue
    return seen


def _kinds(root: Path) -> list[tuple[str, dict]]:
    with sqlite3.connect(root / "trackrecord.db", timeout=30) as db:
        return [(k, json.loads(p)) for k, p in db.execute("SELECT kind, payload FROM events ORDER BY seq")]


def _wait_for(root: Path, kind: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(k == kind for k, _ in _kinds(root)):
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"no {kind} within {timeout} s")


def test_scheduler_notifies_systemd_refuses_a_second_one_and_stops_cleanly_mid_rebalance(  # type: ignore[no-untyped-def]
        paper: Path, notify_socket, cli) -> None:
    path, sock = notify_socket
    env = {"TRACKRECORD_NOW": REBALANCE_SOON, "NOTIFY_SOCKET": path}
    first = _start(paper, "scheduler", env=env)
    try:
        assert "READY=1" in _messages(sock, "READY=1"), first.stderr
        assert "WATCHDOG=1" in _messages(sock, "WATCHDOG=1", timeout=10)
        second = _start(paper, "scheduler", env=env)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2 and f"another scheduler (pid {first.pid})" in err, err
        doctor = _start(paper, "doctor", "--json", env={"TRACKRECORD_NOW": REBALANCE_SOON})
        out, _ = doctor.communicate(timeout=120)
        seen = {c["check"]: c for c in json.loads(out)["checks"]}["scheduler"]
        assert seen["status"] == "ok" and f"pid {first.pid}" in seen["detail"], seen
        _wait_for(paper, "job.started")  # the rebalance is running: stop the scheduler now
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    assert "Traceback" not in err
    finished = [p for k, p in _kinds(paper) if k == "job.finished"]
    assert [(p["job"], p["outcome"]) for p in finished] == [("rebalance", "succeeded")], "the step finished"
    status = cli("--home", paper, "jobs", "--json")
    assert json.loads(status.out)["scheduler_pid"] is None, "the lock went with the process"

    rerun = _start(paper, "run-job", "rebalance", "--as-of", "2026-06-01", "--json", env={"TRACKRECORD_NOW":
                                                                                       "2026-06-01T14:40:00Z"})
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert json.loads(out)["details"]["sent"] == 0
    with sqlite3.connect(paper / "trackrecord.db") as db:
        refs = [r[0] for r in db.execute("SELECT order_ref FROM sim_orders")]
    assert refs and len(refs) == len(set(refs)), "no order twice"


def test_sigterm_during_run_job_rebalance_finishes_it_and_a_rerun_adds_nothing(paper: Path) -> None:
    env = {"TRACKRECORD_NOW": "2026-06-01T14:30:00Z"}
    job = _start(paper, "run-job", "rebalance", env=env)
    _wait_for(paper, "job.started")
    job.send_signal(signal.SIGTERM)
    _, err = job.communicate(timeout=120)
    assert job.returncode == 0, err
    kinds = _kinds(paper)
    assert [p["outcome"] for k, p in kinds if k == "job.finished"] == ["succeeded"]
    submitted = {p["order_ref"] for k, p in kinds if k == "order.submitted"}
    rerun = _start(paper, "run-job", "rebalance", "--json", env=env)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert json.loads(out)["details"]["sent"] == 0
    assert {p["order_ref"] for k, p in _kinds(paper) if k == "order.submitted"} == submitted


def test_a_rebalance_killed_after_its_first_order_is_completed_by_the_rerun(paper: Path) -> None:
    env = {"TRACKRECORD_NOW": "2026-06-01T14:30:00Z"}
    killed = _start(paper, "run-job", "rebalance", env={**env, "TRACKRECORD_CRASH_AT": "after_place:1"})
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    kinds = _kinds(paper)
    assert [k for k, _ in kinds if k.startswith("job.")] == ["job.started"], "killed: no end recorded"
    rerun = _start(paper, "run-job", "rebalance", "--json", env=env)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    document = json.loads(out)
    assert document["outcome"] == "succeeded" and document["details"]["already_at_broker"] == 1
    planned = {o["order_ref"] for k, p in _kinds(paper) if k == "plan.created" for o in p["orders"]}
    with sqlite3.connect(paper / "trackrecord.db") as db:
        refs = [r[0] for r in db.execute("SELECT order_ref FROM sim_orders")]
    assert sorted(refs) == sorted(planned), "every planned order at the broker once"
