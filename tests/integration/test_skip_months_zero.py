"""skip_months=0 through the CLI (issue 15 item 4): the engine decides on a month's first
session before its close, when the previous month ended with yesterday's close, so a 12-0
signal ranks on the month ends M-13 .. M-1. It failed every month before ("no symbol has
complete prices"): a month counted only once the data held a bar of a later month."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.integration.test_backtest_agreement import open_wide


def _workspace(cli, root: Path, **strategy: object) -> Path:  # type: ignore[no-untyped-def]
    assert cli("init", root, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    open_wide(root)
    path = root / "trackrecord.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["strategy"].update(strategy)
    path.write_text(yaml.safe_dump(settings))
    return root


def _signals(cli, home: Path) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    log = cli("--home", home, "ledger", "log", "--json")
    assert log.code == 0, log
    return [e["payload"] for e in json.loads(log.out) if e["kind"] == "signal.computed"]


@pytest.mark.slow
def test_a_skip_0_backtest_ranks_on_the_month_that_closed_the_day_before_each_rebalance(  # type: ignore[no-untyped-def]
        cli, tmp_path: Path, shared_data: Path) -> None:
    home = _workspace(cli, tmp_path / "ws", skip_months=0)
    out = tmp_path / "bt"
    result = cli("--home", home, "backtest", "--from", "2024-01-01", "--to", "2024-03-31", "--prices-dir",
                 shared_data / "prices", "--out", out, "--json")
    assert result.code == 0, result
    assert json.loads(result.out)["orders"] > 0
    signals = _signals(cli, out)
    assert [s["rebalance_date"] for s in signals] == ["2024-01-02", "2024-02-01", "2024-03-01"]
    first = signals[0]
    assert first["params"]["skip_months"] == 0
    # rebalance month 2024-01: from the last session of 2022-12 to the last of 2023-12 (closed on 2023-12-29)
    assert (first["formation_start"], first["formation_end"]) == ("2022-12-30", "2023-12-29")
    assert {(r["start_date"], r["end_date"]) for r in first["ranks"]} == {("2022-12-30", "2023-12-29")}
    assert len(first["ranks"]) == 9 and first["excluded"] == []
    assert [s["formation_end"] for s in signals[1:]] == ["2024-01-31", "2024-02-29"]
    log = json.loads(cli("--home", out, "ledger", "log", "--json").out)
    rule = next(e["payload"]["systematic"]["rule"] for e in log if e["kind"] == "annotation.added")
    assert rule.startswith("12-0 momentum") and "up to the last month end" in rule and "latest 0" not in rule
    assert cli("--home", out, "verify").code == 0


@pytest.mark.slow
def test_skip_0_and_skip_1_rank_differently_on_the_same_prices(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               shared_data: Path) -> None:
    ends = {}
    for skip in (0, 1):
        home = _workspace(cli, tmp_path / f"ws{skip}", skip_months=skip)
        out = tmp_path / f"bt{skip}"
        assert cli("--home", home, "backtest", "--from", "2024-01-01", "--to", "2024-01-31", "--prices-dir",
                   shared_data / "prices", "--out", out, "--json").code == 0
        ends[skip] = _signals(cli, out)[0]["formation_end"]
    assert ends == {0: "2023-12-29", 1: "2023-11-30"}


@pytest.mark.slow
def test_the_skip_0_signal_of_a_month_is_the_same_on_every_day_of_it(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     shared_data: Path) -> None:
    home = _workspace(cli, tmp_path / "ws", skip_months=0)
    assert cli("--home", home, "prices", "import", shared_data / "prices").code == 0
    shown = []
    for day in ("2024-03-01", "2024-03-20"):
        result = cli("--home", home, "signal", "--as-of", day, "--json")
        assert result.code == 0, result
        shown.append(json.loads(result.out))
    first, later = shown
    assert (first["rebalance_date"], first["formation_start"], first["formation_end"]) == \
        ("2024-03-01", "2023-02-28", "2024-02-29")
    assert [(r["symbol"], r["momentum"]) for r in later["ranks"]] == [(r["symbol"], r["momentum"]) for r in first["ranks"]]
    assert later["inputs_sha256"] == first["inputs_sha256"]
