"""The dashboard under load, on the 25-year replay workspace (``benchmarks/replay_workspace.py``).

``trackrecord dashboard`` runs as its own process on a free loopback port; a bounded load
generator here (asyncio, raw HTTP/1.1 keep-alive sockets, so the client costs little) sends
``REQUESTS`` requests per row over 1, 16 and 64 concurrent connections, to
``/api/v1/summary`` and to the overview page, and prints requests per second and the p50
and p99 latency. First, the overview uncached, two ways: built in a fresh process with no
cache at all (every document it shows: stats, series, signal, freshness, from the
database), and the first request to a server that has just started (``trackrecord dashboard``
builds the overview before it listens, so the first visit is served from the cache).

Targets (issue 13): cached API >= 1,000 requests/s with p99 <= 50 ms at 16 connections;
first overview <= 300 ms.

Run: .venv/bin/python benchmarks/bench_dashboard.py [REQUESTS]
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.replay_workspace import replay_workspace  # noqa: E402

REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
CONNECTIONS = (1, 16, 64)
PATHS = ("/api/v1/summary", "/")
TARGET_RPS, TARGET_P99_MS, TARGET_FIRST_MS = 1000.0, 50.0, 300.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    env.pop("TRACKRECORD_DASHBOARD_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "trackrecord", "--home", str(root), "dashboard", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"the dashboard did not start: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the dashboard did not start within 60 s")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _connection(port: int, path: str, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\r\n".encode()
    try:
        for _ in range(count):
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise SystemExit(f"GET {path}: HTTP {status}")
    finally:
        writer.close()


async def load(port: int, path: str, connections: int, total: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of ``total`` requests spread over ``connections``."""
    latencies: list[float] = []
    each = max(total // connections, 1)
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, path, each, latencies) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(latencies) / elapsed, statistics.median(ordered) * 1000, p99 * 1000


async def first_request(port: int, path: str) -> float:
    latencies: list[float] = []
    await _connection(port, path, 1, latencies)
    return latencies[0] * 1000


COLD_BUILD = """
import sys, time
from pathlib import Path
from trackrecord.bootstrap import connect, wall_clock
from trackrecord.dashboard.documents import DashboardDocuments
from trackrecord.dashboard.pages import Links, Renderer
from trackrecord.workspace import open_workspace
services = connect(open_workspace(Path(sys.argv[1])))
renderer = Renderer(DashboardDocuments(services, wall_clock), Links())
started = time.perf_counter()
renderer.render("overview", csrf="x")
print((time.perf_counter() - started) * 1000)
"""


def cold_build(root: Path) -> float:
    """ms to build the overview in a fresh process (imports and start-up not counted)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    out = subprocess.run([sys.executable, "-c", COLD_BUILD, str(root)], env=env, capture_output=True, text=True,
                         check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> int:
    root = replay_workspace()
    cold = cold_build(root)
    port = free_port()
    server = start_server(root, port)
    failures = []
    try:
        first = asyncio.run(first_request(port, "/"))
        print(f"25-year replay workspace {root}")
        print(f"overview built with no cache (fresh process): {cold:.0f} ms")
        print(f"first overview request to a server just started: {first:.0f} ms "
              f"(target <= {TARGET_FIRST_MS:.0f} ms)")
        if first > TARGET_FIRST_MS:
            failures.append(f"first overview {first:.0f} ms")
        print(f"{'path':<18}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
        for path in PATHS:
            asyncio.run(load(port, path, 4, 200))  # warm: the documents are cached from here on
            for connections in CONNECTIONS:
                rps, p50, p99 = asyncio.run(load(port, path, connections, REQUESTS))
                print(f"{path:<18}{connections:>6}{rps:>10.0f}{p50:>9.1f}{p99:>9.1f}")
                if path.startswith("/api/") and connections == 16 and (rps < TARGET_RPS or p99 > TARGET_P99_MS):
                    failures.append(f"{path} at 16 connections: {rps:.0f} req/s, p99 {p99:.1f} ms")
    finally:
        server.terminate()
        server.wait(10)
    print(f"targets: cached API >= {TARGET_RPS:.0f} req/s with p99 <= {TARGET_P99_MS:.0f} ms at 16 connections; "
          f"first overview <= {TARGET_FIRST_MS:.0f} ms")
    print("MISSED: " + "; ".join(failures) if failures else "all targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
