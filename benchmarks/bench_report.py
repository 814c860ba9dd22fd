"""The monthly report of a 25-year record, whole process, against QuantStats' HTML tear sheet.

The record is the cached 25-year SIMULATED replay (``replay_workspace.py``: the engine on
the simulated broker over the 9 US sector SPDRs, SPY as the benchmark, about 24,000 ledger
events). Timed, each as a whole new process (interpreter start, imports, database, PDF):

1. ``trackrecord report 2026-06`` the first time (it freezes the report's inputs into the
   ledger, rebuilds the record as of the head from the events and writes the PDF);
2. the same command again (nothing new to freeze: the same bytes);
3. ``trackrecord report verify`` of that PDF (a rebuild from the events and a comparison);
4. ``quantstats.reports.html`` on the same daily returns and SPY's, written to a file.

Each is run ``RUNS`` times and the median wall time printed, with the CPU time (user +
system) of the child processes: the machine may be shared, and CPU time shows the work.
Target (issue 11): under 1.5 s and faster than QuantStats (measured there at about 2.9 s).

Run: .venv/bin/python benchmarks/bench_report.py
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay_workspace import BENCHMARK, read_closes, replay_workspace  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MONTH = "2026-06"
RUNS = 3
QUANTSTATS = """
import sys, warnings
import pandas as pd
warnings.filterwarnings("ignore")
import quantstats as qs
frame = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True)
qs.reports.html(frame["strategy"], benchmark=frame["benchmark"], output=sys.argv[2], title="25-year replay",
                download_filename=sys.argv[2])
"""


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds of the child, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    env = os.environ | {"PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), result


def returns_csv(root: Path, path: Path) -> int:
    """The record's daily TWR returns (``stats``' own series) and the benchmark's, as QuantStats reads them."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(REPO / "src"))
    from trackrecord.bootstrap import connect
    from trackrecord.engine.performance import performance_stats
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(root))
    try:
        document = performance_stats(services, None, None, None, include_series=True)
    finally:
        services.close()
    dates = pd.DatetimeIndex(document["series"]["dates"])
    strategy = pd.Series(document["series"]["returns"], index=dates, dtype=float).iloc[1:]
    spy_dates, spy = read_closes(BENCHMARK)
    spy_series = pd.Series(spy, index=pd.DatetimeIndex(spy_dates.astype("datetime64[ns]")))
    bench = spy_series.reindex(dates, method="ffill").pct_change().iloc[1:]
    pd.DataFrame({"strategy": strategy, "benchmark": bench.replace([np.inf, -np.inf], np.nan).fillna(0.0)}).to_csv(path)
    return int(strategy.size)


def median(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> int:
    cached = replay_workspace()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        shutil.copytree(cached, root)
        python = sys.executable
        report = [python, "-m", "trackrecord", "--home", str(root), "report", MONTH, "--json"]
        first_wall, first_cpu, result = timed(report)
        made = json.loads(result.stdout)
        again = [timed(report)[:2] for _ in range(RUNS)]
        verify = [timed([python, "-m", "trackrecord", "--home", str(root), "report", "verify", made["path"]])[:2]
                  for _ in range(RUNS)]
        csv_path = Path(folder) / "returns.csv"
        days = returns_csv(root, csv_path)
        script = Path(folder) / "qs_report.py"
        script.write_text(QUANTSTATS)
        html = Path(folder) / "quantstats.html"
        quantstats = [timed([python, str(script), str(csv_path), str(html)], cwd=Path(folder))[:2] for _ in range(RUNS)]
        events = made["ledger_seq"]
        size = Path(made["path"]).stat().st_size
    again_wall, again_cpu = median(again)
    verify_wall, verify_cpu = median(verify)
    qs_wall, qs_cpu = median(quantstats)
    print(f"25-year SIMULATED replay record: {days:,} daily returns, {events:,} ledger events; report {MONTH}, "
          f"{made['pages']} pages, {size / 1024:.0f} KiB")
    print(f"trackrecord report (first: freezes inputs):  wall {first_wall:5.2f} s  cpu {first_cpu:5.2f} s")
    print(f"trackrecord report (again, same bytes):      wall {again_wall:5.2f} s  cpu {again_cpu:5.2f} s  (median of {RUNS})")
    print(f"trackrecord report verify:                   wall {verify_wall:5.2f} s  cpu {verify_cpu:5.2f} s  (median of {RUNS})")
    import quantstats

    print(f"quantstats {quantstats.__version__} reports.html:            wall {qs_wall:5.2f} s  cpu {qs_cpu:5.2f} s  (median of {RUNS})")
    print(f"report / quantstats: wall {again_wall / qs_wall:.2f}x, cpu {again_cpu / qs_cpu:.2f}x; target < 1.5 s and < quantstats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
