"""The monthly report of a 25-year record: the cached SIMULATED replay of the 9 US sector
SPDRs (benchmarks/replay_workspace.py, about 24,000 events), figures against `stats --json`,
the growth chart on a log scale, and `report verify` identical."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import require

pypdf = pytest.importorskip("pypdf")


def _run(*args: object) -> tuple[int, str]:
    from trackrecord.cli.app import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run([str(a) for a in args])
    return code, out.getvalue()


@pytest.mark.slow
def test_a_25_year_record_reports_its_figures_on_a_log_scale_and_verifies(tmp_path: Path) -> None:
    from benchmarks import replay_workspace as replay

    require(replay.DATA.is_dir(), f"real market data not found at {replay.DATA}")
    root = tmp_path / "ws"
    shutil.copytree(replay.replay_workspace(), root)
    code, out = _run("--home", root, "report", "2026-06", "--json")
    assert code == 0, out
    made = json.loads(out)
    pages = [page.extract_text() for page in pypdf.PdfReader(made["path"]).pages]
    assert made["label"] == "SIMULATED" and all("SIMULATED" in p for p in pages)
    text = "\n".join(pages)
    assert "Growth of 1 since inception, time-weighted (log scale)" in text and "benchmark (SPY)" in text
    code, out = _run("--home", root, "stats", "2001-01-01", "2026-06-30", "--json")
    inception = json.loads(out)
    lines = next(p for p in pages if "Key figures" in p).splitlines()
    twr = lines[lines.index("Time-weighted return") + 1 : lines.index("Time-weighted return") + 5]
    assert twr[2:] == [f"{inception['metrics']['total_return'] * 100:+.2f}%", f"{inception['metrics']['cagr'] * 100:+.2f}%"]
    sharpe = lines[lines.index("Sharpe ratio") + 4]
    assert sharpe == f"{inception['metrics']['sharpe']:.2f}"
    for year in ("2001", "2008", "2026"):
        assert f"\n{year}\n" in text  # a row of the monthly returns table
    code, out = _run("--home", root, "report", "verify", made["path"])
    assert code == 0 and "identical" in out
