"""Wall time of ``trackrecord kill-switch status`` and ``activate`` against ``python -c pass``.

Target (issue 5): each at most 10x the wall time of ``python -c pass``, measured side by
side. Every command runs as a fresh process (subprocess), ``RUNS`` times, interleaved so
that machine noise hits all of them alike; the median is reported.

Rows:
  python -c pass                     the yardstick
  trackrecord kill-switch ...        the installed console script, as wired today
  python -m trackrecord kill-switch  ``python -m trackrecord``: the same entry point
                                     (``trackrecord.cli.entry``), which tries the stdlib-only
                                     fast path before importing Typer; ``activate`` appends
                                     the change and signs a checkpoint of the new head

The workspace is a fresh ``trackrecord init`` in a temporary folder; ``verify`` runs at the
end, since every ``activate`` appended to its hash chain.

Run: .venv/bin/python benchmarks/bench_kill_switch.py [RUNS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 21
TARGET_RATIO = 10.0
BIN = Path(sys.executable).parent
TRACKRECORD = str(BIN / "trackrecord")


def wall_time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}): {completed.stderr.decode()}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "ws"
        subprocess.run([TRACKRECORD, "init", str(home)], check=True, stdout=subprocess.DEVNULL)
        env = {**os.environ, "TRACKRECORD_HOME": str(home)}
        fast = [sys.executable, "-m", "trackrecord"]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "trackrecord kill-switch status": [TRACKRECORD, "kill-switch", "status"],
            "trackrecord kill-switch activate": [TRACKRECORD, "kill-switch", "activate", "benchmark"],
            "python -m trackrecord kill-switch status": [*fast, "kill-switch", "status"],
            "python -m trackrecord kill-switch activate": [*fast, "kill-switch", "activate", "benchmark"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for name, command in commands.items():  # warm the file cache and .pyc files
            wall_time(command, env)
        for _ in range(RUNS):
            for name, command in commands.items():
                times[name].append(wall_time(command, env))
        verify = subprocess.run([TRACKRECORD, "verify"], env=env, capture_output=True, text=True)

    base = statistics.median(times["python -c pass"])
    print(f"kill-switch wall time, median of {RUNS} runs each (target: <= {TARGET_RATIO:.0f}x python -c pass)")
    print(f"{'command':44} {'median ms':>10} {'min ms':>8} {'ratio':>7}  verdict")
    for name, samples in times.items():
        median = statistics.median(samples)
        ratio = median / base
        verdict = "" if name == "python -c pass" else ("ok" if ratio <= TARGET_RATIO else "OVER")
        print(f"{name:44} {median * 1000:10.1f} {min(samples) * 1000:8.1f} {ratio:6.1f}x  {verdict}")
    print(f"verify after {RUNS * 2 + 2} activations: {verify.stdout.strip() or verify.stderr.strip()}")


if __name__ == "__main__":
    main()
