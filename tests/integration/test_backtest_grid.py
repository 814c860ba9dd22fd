"""``trackrecord backtest --grid`` (issue 15 item 4): every combination through the same engine,
where the live parameters rank, and the deflated Sharpe ratio over the number of trials."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from trackrecord.analytics.deflated_sharpe import deflated_sharpe

FROM, TO = "2025-09-01", "2026-08-31"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("grid") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    return root


@pytest.mark.parametrize("specs, words", [
    (["top_n"], "expected KEY=VALUES"),
    (["foo=1"], "unknown parameter 'foo'"),
    (["top_n=5..1"], "empty"),
    (["top_n=a"], "not a whole number"),
    (["top_n=1..3", "top_n=2"], "given twice"),
    (["lookback_months=6,6"], "repeated"),
    (["skip_months=12"], "skip_months must be smaller than lookback_months (lookback_months 12 from trackrecord.yaml"),
    (["top_n=4..6"], "exit_rank (5) must be at least top_n (6) (exit_rank 5 from trackrecord.yaml's strategy, as every "
                     "key not on the grid): leave the combination out, or put exit_rank on the grid too"),
    (["drift_band=1..2"], "whole-number"),
    (["top_n=1..100", "lookback_months=2..60"], "at most 500"),
])
def test_a_bad_grid_is_refused_in_one_line_before_anything_runs(synthetic: Path, cli, specs: list[str],  # type: ignore[no-untyped-def]
                                                                words: str) -> None:
    before = cli("--home", synthetic, "ledger", "log", "--json")
    args = [a for spec in specs for a in ("--grid", spec)]
    refused = cli("--home", synthetic, "backtest", "--from", FROM, "--to", TO, "--provider", "synthetic", *args)
    assert refused.code == 2, refused
    assert refused.err.startswith("error: ") and refused.err.count("\n") == 1 and "Traceback" not in refused.err
    assert words in refused.err and "--grid" in refused.err, refused.err
    assert cli("--home", synthetic, "ledger", "log", "--json").out == before.out, "nothing written"
    assert not (synthetic / "backtests").exists()


@pytest.mark.parametrize("args, words", [
    (["lookback_months=6,12"], "'lookback_months=6,12': a grid axis needs --grid before it"),
    (["--grid", "top_n=3,4", "six"], "unexpected argument 'six'"),
])
def test_grid_axes_without_grid_or_stray_words_are_refused(synthetic: Path, cli, args: list[str],  # type: ignore[no-untyped-def]
                                                           words: str) -> None:
    refused = cli("--home", synthetic, "backtest", "--from", FROM, "--to", TO, "--provider", "synthetic", *args)
    assert refused.code == 2 and refused.err.count("\n") == 1 and words in refused.err, refused
    assert not (synthetic / "backtests").exists()


def test_a_grid_writes_no_workspace_to_keep(synthetic: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refused = cli("--home", synthetic, "backtest", "--from", FROM, "--to", TO, "--grid", "top_n=3,4",
                  "--out", tmp_path / "out")
    assert refused.code == 2 and "--out with --grid" in refused.err, refused
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_grid_ranks_the_live_parameters_and_deflates_their_sharpe_ratio(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", synthetic, "backtest", "--from", FROM, "--to", TO, "--provider", "synthetic",
                 "--grid", "top_n=3,4", "lookback_months=6,12", "--jobs", "2", "--json")  # issue 15's form
    assert result.code == 0, result
    grid = json.loads(result.out)
    assert grid["simulated"] is True and grid["backtest"] is True
    assert [t["params"] for t in grid["trials"]] == [{"top_n": 3, "lookback_months": 6}, {"top_n": 3, "lookback_months": 12},
                                                     {"top_n": 4, "lookback_months": 6}, {"top_n": 4, "lookback_months": 12}]
    live = grid["live"]
    assert live["params"] == {"top_n": 3, "lookback_months": 12} and live["added_to_grid"] is False and live["of"] == 4
    sharpes = sorted((t["sharpe"] for t in grid["trials"]), reverse=True)
    own = next(t for t in grid["trials"] if t["params"] == live["params"])
    assert live["rank_sharpe"] == 1 + sharpes.index(own["sharpe"])
    for t in grid["trials"]:
        assert all(isinstance(t[k], float) for k in ("cagr", "sharpe", "max_drawdown", "turnover")), t
        assert t["max_drawdown"] <= 0 and t["turnover"] > 0
    assert len({t["cagr"] for t in grid["trials"]}) == 4, "each combination is its own backtest"

    # the DSR is the hand formula on the trials' own numbers (daily Sharpe = annual / sqrt(252))
    d = grid["deflated_sharpe"]
    daily = [t["sharpe"] / math.sqrt(252) for t in grid["trials"]]
    expected = deflated_sharpe(own["sharpe"] / math.sqrt(252), own["n_returns"], own["skew"], own["kurtosis"] + 3,
                               daily)
    assert d["trials"] == 4 and d["dsr"] == pytest.approx(expected.dsr, abs=1e-12)
    assert 0.0 <= d["dsr"] <= d["psr"] <= 1.0

    # the live trial is the plain backtest of the workspace's own settings, by the same engine
    single = cli("--home", synthetic, "backtest", "--from", FROM, "--to", TO, "--provider", "synthetic", "--json")
    assert single.code == 0, single
    assert json.loads(single.out)["stats"]["metrics"]["cagr"] == pytest.approx(own["cagr"], abs=1e-12)


@pytest.mark.slow
def test_a_grid_over_skip_months_0_and_1_ranks_every_trial(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # skip_months=0 failed every trial before: on a month's first session the engine did not count the
    # month that closed the day before as complete
    result = cli("--home", synthetic, "backtest", "--from", FROM, "--to", "2025-12-31", "--provider", "synthetic",
                 "--grid", "skip_months=0,1", "--json")
    assert result.code == 0, result
    grid = json.loads(result.out)
    assert [t["params"] for t in grid["trials"]] == [{"skip_months": 0}, {"skip_months": 1}]
    assert [t["failed"] for t in grid["trials"]] == [None, None]
    assert all(isinstance(t["sharpe"], float) and t["turnover"] > 0 for t in grid["trials"])
    assert grid["trials"][0]["final_nav"] != grid["trials"][1]["final_nav"]
    assert grid["deflated_sharpe"]["trials"] == 2 and grid["live"]["of"] == 2
    assert grid["live"]["rank_sharpe"] in (1, 2)


def _prices_with_a_jump(source: Path, folder: Path, symbol: str, day: str) -> Path:
    """The real closes from 2021 to April 2024, with one day of ``symbol`` multiplied by 1.6."""
    folder.mkdir()
    for path in source.glob("XL*.csv"):
        lines = path.read_text().splitlines()
        kept = [lines[0]] + [line for line in lines[1:] if "2021-01-01" <= line[:10] <= "2024-04-30"]
        if path.stem == symbol:
            kept = [",".join([line[:10]] + [str(float(v) * 1.6) for v in line.split(",")[1:5]]
                             + [line.split(",")[5]]) if line.startswith(day) else line for line in kept]
        (folder / path.name).write_text("\n".join(kept) + "\n")
    return folder


@pytest.mark.slow
def test_a_combination_the_engine_cannot_run_is_a_failed_trial_still_counted(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                            shared_data: Path) -> None:
    # a 60% one-day jump in September 2022: the 18-month lookback's quality gate sees it and blocks the
    # signal (the engine cannot run that trial); the live 12-month lookback's window starts after it
    prices = _prices_with_a_jump(shared_data / "prices", tmp_path / "prices", "XLK", "2022-09-15")
    home = tmp_path / "ws"
    assert cli("init", home, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    window = ("--from", "2024-01-01", "--to", "2024-02-29", "--prices-dir", prices)
    result = cli("--home", home, "backtest", *window, "--grid", "lookback_months=12,18", "--json")
    assert result.code == 0, result
    grid = json.loads(result.out)
    failed = [t for t in grid["trials"] if t["failed"]]
    assert [t["params"] for t in failed] == [{"lookback_months": 18}]
    assert "no rebalance" in failed[0]["failed"] and "daily_move" in failed[0]["failed"]
    assert grid["deflated_sharpe"]["trials"] == 2 and grid["live"]["rank_sharpe"] == 1
    shown = cli("--home", home, "backtest", *window, "--grid", "lookback_months=12,18")
    assert shown.code == 0 and "failed (counted as tried)" in shown.out and "deflated Sharpe ratio" in shown.out
