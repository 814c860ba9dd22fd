"""``trackrecord scheduler``: APScheduler 3.11 in the exchange's time zone, one per workspace.

The misfire policy is ours, not APScheduler's: its default grace of one second would drop
a run silently when the machine was busy or asleep. Here APScheduler only wakes the
runner (``misfire_grace_time=None``: never dropped, ``coalesce``: once); the runner then
reads the ledger and decides every due run explicitly (:mod:`trackrecord.ops.runner`).

Lifecycle: the workspace lock (``scheduler.lock``, holding the pid; a second scheduler
exits 2 naming it), ``READY=1`` to systemd, a heartbeat file and ``WATCHDOG=1`` every
``scheduler.heartbeat_seconds``, and on SIGTERM the running job finishes its step (a
rebalance is never stopped between an order's intent and its send) before exit 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from trackrecord.errors import UserError
from trackrecord.ops.runner import Runner
from trackrecord.ops.schedule import ScheduledRun, runs_between
from trackrecord.secure_files import FILE_MODE

log = logging.getLogger("trackrecord.ops.scheduler")
LOCK_FILE = "scheduler.lock"
HEARTBEAT_FILE = "scheduler.heartbeat"
RETRY_EVERY = timedelta(minutes=30)


class SchedulerLock:
    """An exclusive lock on ``scheduler.lock`` held for the scheduler's life; the file
    names the holder's pid. The operating system drops the lock when the process dies,
    so a stale file never blocks a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise UserError(f"another scheduler (pid {holder}) runs this workspace ({self.path}): stop it first "
                            "(`systemctl stop trackrecord-scheduler`, or `kill " + holder + "`)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def holder_pid(path: Path) -> int | None:
    """The pid written in a lock file whose lock is held, else None."""
    import fcntl

    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.read(fd, 64).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def sd_notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (``READY=1``, ``WATCHDOG=1``...) to systemd's ``$NOTIFY_SOCKET``;
    False when not run by systemd with Type=notify."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.warning("systemd notify %s failed: %s", message, exc)
        return False
    return True


class ShiftedClock:
    """The wall clock, shifted so that it starts at ``start`` (``TRACKRECORD_NOW`` in tests)
    and then runs at the real rate."""

    def __init__(self, start: datetime, real: Callable[[], datetime] | None = None) -> None:
        self.real = real or (lambda: datetime.now(timezone.utc))
        self.offset = start - self.real()

    def __call__(self) -> datetime:
        return self.real() + self.offset

    def to_real(self, moment: datetime) -> datetime:
        return moment - self.offset


@dataclass
class Heartbeat:
    path: Path

    def write(self, at: datetime, next_run: ScheduledRun | None, exchange_tz: str) -> None:
        document: dict[str, Any] = {"pid": os.getpid(), "at": at.isoformat().replace("+00:00", "Z"),
                                    "next_run": None if next_run is None else next_run.document(exchange_tz)}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document), encoding="utf-8")
        os.chmod(temporary, FILE_MODE)
        temporary.replace(self.path)


def read_heartbeat(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def next_scheduled(runner: Runner, after: datetime) -> ScheduledRun | None:
    runs = runs_between(runner.env.calendar, runner.times, after, after + timedelta(days=62))
    return runs[0] if runs else None


def serve(runner: Runner, clock: ShiftedClock, heartbeat: Heartbeat, heartbeat_seconds: int,
          stop: threading.Event) -> None:
    """Run until ``stop`` is set (SIGTERM): catch up at once, then wake at every run."""
    from zoneinfo import ZoneInfo

    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers import SchedulerNotRunningError
    from apscheduler.schedulers.background import BackgroundScheduler

    zone = runner.env.calendar.timezone
    runner.stopping = stop.is_set
    scheduler = BackgroundScheduler(timezone=ZoneInfo(zone), executors={"default": ThreadPoolExecutor(1)},
                                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})

    def wake() -> None:
        try:
            runner.tick()
        except Exception as exc:  # the database down, say: logged, tried again at the next wake
            log.error("scheduler tick failed: %s", exc)
        following = next_scheduled(runner, clock())
        if following is None or stop.is_set():
            return
        try:
            scheduler.add_job(wake, "date", run_date=clock.to_real(following.at + timedelta(seconds=1)),
                              id="next-run", replace_existing=True)
        except SchedulerNotRunningError:  # stopping (SIGTERM) while this run finished
            return

    scheduler.add_job(wake, id="catch-up")
    scheduler.add_job(wake, "interval", seconds=RETRY_EVERY.total_seconds(), id="retry")
    scheduler.start()
    sd_notify("READY=1")
    log.info("scheduler started (pid %d), exchange time %s", os.getpid(), zone)
    try:
        while True:
            heartbeat.write(clock(), next_scheduled(runner, clock()), zone)
            sd_notify("WATCHDOG=1")
            if stop.wait(heartbeat_seconds):
                break
    finally:
        sd_notify("STOPPING=1")
        log.info("stopping: the running job finishes its step first")
        scheduler.shutdown(wait=True)


def stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: Any) -> None:
        log.warning("signal %d: the scheduler stops after the current step", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run_scheduler(runner: Runner, clock: ShiftedClock, workspace_root: Path, heartbeat_seconds: int) -> None:
    """``trackrecord scheduler``: the lock, the signals, the loop."""
    lock = SchedulerLock(workspace_root / LOCK_FILE)
    lock.acquire()
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        serve(runner, clock, Heartbeat(workspace_root / "logs" / HEARTBEAT_FILE), heartbeat_seconds, stop)
    finally:
        lock.release()

