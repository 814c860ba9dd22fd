"""Labels across commands on the same workspace (walkthrough): a BACKTEST workspace says BACKTEST
in `stats`, in its reports and on its dashboard; the demo's dashboard does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trackrecord.cli.app import run


@pytest.fixture(scope="module")
def demo_and_backtest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("labels")
    demo = folder / "demo"
    assert run(["demo", str(demo), "--years", "1"]) == 0
    backtest = folder / "bt"
    assert run(["--home", str(demo), "backtest", "--from", "2026-09-01", "--to", "2026-10-31", "--out", str(backtest)]) == 0
    return demo, backtest


def test_a_backtest_workspaces_dashboard_says_backtest_like_its_stats(cli, demo_and_backtest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, backtest = demo_and_backtest
    stats = cli("--home", backtest, "stats")
    assert stats.code == 0 and "BACKTEST" in stats.out.splitlines()[0], stats
    site = tmp_path / "site"
    assert cli("--home", backtest, "dashboard", "--export", site).code == 0
    assert "BACKTEST" in (site / "index.html").read_text()
    summary = json.loads((site / "api" / "summary.json").read_text())
    assert summary["backtest"] is True and summary["label"] == "SIMULATED"


def test_a_demo_dashboard_is_simulated_and_not_a_backtest(cli, demo_and_backtest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    demo, _ = demo_and_backtest
    site = tmp_path / "site"
    assert cli("--home", demo, "dashboard", "--export", site).code == 0
    page = (site / "index.html").read_text()
    assert 'data-label="SIMULATED"' in page and 'id="backtest-banner"' not in page
