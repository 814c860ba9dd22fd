"""What the dashboard tests share: a demo workspace, the app over it, a live server."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

DEMO_NOW = datetime(2026, 6, 1, 7, 0, tzinfo=timezone.utc)  # a Monday morning: the record ends on Friday 29 May
TOKEN = "correct-horse-battery-staple-42"


def make_demo(root: Path, years: int = 1, seed: int = 5) -> Path:
    from trackrecord.bootstrap import demo_workspace
    from trackrecord.engine.demo import run_demo

    return run_demo(root, years, seed, DEMO_NOW.date(), DEMO_NOW, demo_workspace).root


_SHARED: list[Path] = []


def shared_demo() -> Path:
    """One demo workspace for every dashboard test module of this process (tests that
    activate the kill switch deactivate it again)."""
    if not _SHARED:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="trackrecord-dashboard-"))
        atexit.register(shutil.rmtree, folder, True)
        _SHARED.append(make_demo(folder / "demo"))
    return _SHARED[0]


def fixed_clock() -> datetime:
    return DEMO_NOW


@contextlib.contextmanager
def open_app(root: Path, token: str | None = None, login_delay: float = 0.05) -> Iterator[Any]:
    """The dashboard app over the workspace at ``root`` (services closed afterwards)."""
    from trackrecord.bootstrap import connect
    from trackrecord.dashboard.app import create_app
    from trackrecord.dashboard.security import Guard
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(root))
    try:
        yield create_app(services, Guard(token, login_delay=login_delay), fixed_clock)
    finally:
        services.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def today() -> date:
    return DEMO_NOW.date()
