"""Export and verify the bundle of a 25-year replay record (issue 12, item 5).

Prints the wall time of `export bundle` and of `verify BUNDLE.zip` (in-process, the same
use cases the CLI calls), and the events per second of the chain and signature check
alone (target >= 100,000 events/s). The record is ``benchmarks/replay_workspace.py``'s
cached 25-year SIMULATED replay (built once, a few seconds, if not cached), with its last
REPORTS monthly reports made first (default 12; each is rebuilt by verify, so verify's time
grows by about the per-report figure printed for each further PDF).

    PYTHONPATH=src python benchmarks/bench_bundle.py [REPORTS]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.replay_workspace import replay_workspace  # noqa: E402
from trackrecord.bootstrap import connect  # noqa: E402
from trackrecord.engine.bundles import export_bundle, verify_bundle  # noqa: E402
from trackrecord.engine.reporting import make_monthly_report  # noqa: E402
from trackrecord.ledger.bundle_verify import check_chain, read_bundle  # noqa: E402
from trackrecord.workspace import open_workspace  # noqa: E402

TARGET = 100_000
REPEATS = 5
REPORTS = int(sys.argv[1]) if len(sys.argv) > 1 else 12
LAST_MONTH = (2026, 6)  # replay_workspace.END


def months(count: int) -> list[str]:
    year, month = LAST_MONTH
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        shutil.copytree(replay_workspace(), root)  # export may sign the head: never in the shared cache
        services = connect(open_workspace(root))
        try:
            started = time.perf_counter()
            for period in months(REPORTS):
                make_monthly_report(services, period, None, None)
            reported = time.perf_counter() - started
            started, cpu = time.perf_counter(), time.process_time()
            bundle = export_bundle(services)
            exported, exported_cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            services.close()
    manifest = bundle.manifest
    started, cpu = time.perf_counter(), time.process_time()
    result = verify_bundle(bundle.data, "bench.zip", [])
    verified, verified_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.ok, result.problems[:3]

    timings = []
    for _ in range(REPEATS):  # the best of a few runs: the machine may be shared
        files = read_bundle(bundle.data, "bench.zip")
        files.public_key = result.public_key
        started, cpu = time.perf_counter(), time.process_time()
        check_chain(files)
        timings.append((time.perf_counter() - started, time.process_time() - cpu))
        assert files.ok and files.checkpoints == result.checkpoints
    chain, chain_cpu = min(timings)

    rate = manifest["events"] / chain
    print(f"record: {manifest['events']:,} events, {manifest['checkpoints']} signed checkpoints, "
          f"{len(manifest['reports'])} report PDFs, bundle {len(bundle.data) / 1e6:.1f} MB")
    print(f"making {REPORTS} monthly reports (before the export, not part of it): {reported:6.2f} s")
    print(f"export bundle:  {exported:6.2f} s wall, {exported_cpu:6.2f} s CPU")
    print(f"verify bundle:  {verified:6.2f} s wall, {verified_cpu:6.2f} s CPU  (manifest, chain, signatures, commitments, "
          f"{result.figures_checked} figures recomputed in a rebuilt database, {len(result.reports_rebuilt)} PDFs "
          f"rebuilt byte for byte)")
    print(f"chain + signatures (best of {REPEATS}): {chain:6.3f} s = {rate:,.0f} events/s  (target >= {TARGET:,}: "
          f"{'met' if rate >= TARGET else 'NOT met'}); CPU {chain_cpu:.3f} s = "
          f"{manifest['events'] / max(chain_cpu, 1e-9):,.0f} events/s")


if __name__ == "__main__":
    main()
