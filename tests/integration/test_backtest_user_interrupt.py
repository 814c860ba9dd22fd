"""Ctrl-C in the middle of `trackrecord backtest`, and a run that fails: nothing is kept, the
--out folder is as it was (an earlier, complete backtest stays whole and verifiable), and the
rerun works. A half-written backtest would otherwise verify and report its truncated CAGR as
the strategy's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.test_backtest_user_workspace import WINDOW, events, write_market


@pytest.fixture
def home(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    return root


@pytest.mark.slow
def test_ctrl_c_in_the_middle_keeps_the_earlier_backtest_whole_and_the_rerun_works(cli, home: Path,  # type: ignore[no-untyped-def]
                                                                                   tmp_path: Path) -> None:
    market = write_market(tmp_path / "prices", first=date(1998, 1, 1), last=date(2019, 6, 30))
    out = tmp_path / "out"
    assert cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", out).code == 0
    earlier = json.loads(cli("--home", out, "stats", "--json").out)
    earlier_events = events(cli, out)

    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"))
    process = subprocess.Popen([sys.executable, "-m", "trackrecord", "--home", str(home), "backtest", "--from",
                                "1999-06-01", "--to", "2019-06-30", "--prices-dir", str(market), "--out", str(out)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".out.building-") and (p / "trackrecord.db").exists() for p in tmp_path.iterdir()):
        assert process.poll() is None and time.monotonic() < deadline, "the backtest never started writing"
        time.sleep(0.02)
    time.sleep(0.3)  # into the replay
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert "backtest interrupted: nothing was kept" in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "prices", "ws"], "no half-written folder left"
    assert cli("--home", out, "verify").code == 0
    assert events(cli, out) == earlier_events
    assert json.loads(cli("--home", out, "stats", "--json").out) == earlier, "the earlier backtest, whole"

    again = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", out, "--no-costs", "--json")
    assert again.code == 0, again
    assert json.loads(cli("--home", out, "stats", "--json").out) == json.loads(again.out)["stats"]



def test_no_moment_of_a_backtest_lets_numpy_drop_a_ctrl_c(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """numpy turns the ``date`` type into a dtype by calling a Python function
    (``npy_ctypes_check``) from C and discarding whatever it raises: a Ctrl-C that landed
    there was lost, and the backtest ran on to exit 0 (1 run in 25 interrupted at random).
    Neither the backtest nor its stats call such a function, so every Ctrl-C stops them."""
    market = write_market(tmp_path / "prices")
    out = tmp_path / "out"
    dropping: list[str] = []

    def watch(frame, event, arg):  # type: ignore[no-untyped-def]
        if event == "call" and frame.f_code.co_name == "npy_ctypes_check":
            dropping.append(f"{frame.f_back.f_code.co_filename}:{frame.f_back.f_lineno}")

    sys.setprofile(watch)
    try:
        ran = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", out)
        stats = cli("--home", out, "stats", "--json")
    finally:
        sys.setprofile(None)

    assert ran.code == 0 and stats.code == 0, (ran, stats)
    assert dropping == [], dropping

def test_a_run_that_fails_keeps_the_earlier_backtest(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = write_market(tmp_path / "prices")
    out = tmp_path / "out"
    assert cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", out).code == 0
    earlier = events(cli, out)
    xlk = market / "XLK.csv"
    xlk.write_text("".join(f"{line.split(',')[0]},{float(line.split(',')[1]) * 100}\n"
                           if line.startswith("2019-05-15") else line for line in xlk.read_text().splitlines(True)))
    failed = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", out)  # a gate fails in June
    assert failed.code != 0 and "Traceback" not in failed.err, failed
    assert events(cli, out) == earlier and cli("--home", out, "verify").code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "prices", "ws"]


def test_an_out_folder_beneath_a_file_is_refused_in_one_line(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = write_market(tmp_path / "prices")
    (tmp_path / "notes.txt").write_text("mine")
    refused = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", tmp_path / "notes.txt" / "bt")
    assert refused.code == 2, refused
    assert "cannot write there" in refused.err and len(refused.err.strip().splitlines()) == 1, refused.err
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_ctrl_c_in_a_grid_is_one_line_and_leaves_no_trial_workspace(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = write_market(tmp_path / "prices", first=date(1998, 1, 1), last=date(2019, 6, 30))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"), TMPDIR=str(scratch))
    process = subprocess.Popen([sys.executable, "-m", "trackrecord", "--home", str(home), "backtest", "--from",
                                "1999-06-01", "--to", "2019-06-30", "--prices-dir", str(market), "--grid", "top_n=3,4",
                                "--jobs", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(scratch.glob("trackrecord-grid-*/trial-*/.ws.building-*/trackrecord.db")):
        assert process.poll() is None and time.monotonic() < deadline, "the grid never started a trial"
        time.sleep(0.02)
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "backtest --grid interrupted" in err and "Traceback" not in err, err
    assert out == "" and list(scratch.iterdir()) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc (Linux)")
def test_ctrl_c_while_the_replay_waits_for_the_writer_lock_ends_cleanly(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The interrupt that once landed by chance (CI, 5aef4b2), made certain: another process
    holds the writer lock, so the month's writer is still taking it when Ctrl-C arrives. The
    month then has no transaction to end (it used to trip over a half-entered one: a
    traceback, exit 1), the lock file is not left open, and the next month begins normally."""
    from trackrecord.bootstrap import connect
    from trackrecord.engine.replay import MonthLedger
    from trackrecord.workspace import open_workspace

    out = tmp_path / "out"
    market = write_market(tmp_path / "prices")
    assert cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", out).code == 0
    lock = out / "trackrecord.db.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def open_lock_files() -> int:
        return sum(os.path.realpath(f"/proc/self/fd/{fd}") == str(lock.resolve()) for fd in os.listdir("/proc/self/fd"))

    def ctrl_c(*_: object) -> None:
        raise KeyboardInterrupt

    services = connect(open_workspace(out), durable=False)
    previous = signal.signal(signal.SIGALRM, ctrl_c)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        months = MonthLedger(services.ledger)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt) as interrupted:
            months.current()
        months.commit(interrupted.type, interrupted.value, interrupted.tb)  # what the replay does on the way out
        assert months.open_connection() is None and open_lock_files() == 0
        holder.communicate("", timeout=30)
        head = services.ledger.head()
        assert months.current().seq == head[0]
        months.commit()
        assert services.ledger.head() == head
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        holder.kill()
        holder.wait()
        services.close()
    assert cli("--home", out, "verify").code == 0
