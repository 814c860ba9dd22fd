"""`trackrecord backtest --grid` as a sceptical user reads it: a combination whose target weight
risk.max_position_weight refuses was run, every rebalance refused, and shown as a trial with a
CAGR of +0.00% (a cash account's, not the strategy's) counted in the deflated Sharpe ratio; a
grid of one trial said nothing about there being nothing to deflate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_backtest_user_workspace import WINDOW, events, write_market


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("grid")
    home = root / "ws"
    assert run(["init", str(home), "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv"]) == 0
    return home, write_market(root / "prices")


def test_a_combination_risk_would_refuse_every_rebalance_is_refused_before_any_trial(setup, cli) -> None:  # type: ignore[no-untyped-def]
    home, market = setup
    before = events(cli, home)
    refused = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--grid", "top_n=2..4")
    assert refused.code == 2, refused
    assert refused.err.startswith("error: --grid combination top_n=2: risk.max_position_weight 0.35 is below") \
        and len(refused.err.strip().splitlines()) == 1, refused.err
    assert events(cli, home) == before and not (home / "backtests").exists()


def test_a_grid_of_one_trial_says_there_is_nothing_to_deflate(setup, cli) -> None:  # type: ignore[no-untyped-def]
    home, market = setup
    shown = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--grid", "top_n=3")
    assert shown.code == 0, shown
    assert "one trial: no selection to deflate" in shown.out
    document = json.loads(cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--grid", "top_n=3",
                              "--json").out)
    assert document["deflated_sharpe"]["trials"] == 1
    assert document["deflated_sharpe"]["dsr"] == document["deflated_sharpe"]["psr"]
    assert document["simulated"] is True and document["backtest"] is True


@pytest.mark.parametrize("grid, reason", [
    (("lookback_months=1", "skip_months=0"), "lookback_months=1 skip_months=0: lookback_months: input should be "
                                             "greater than or equal to 2"),
    (("top_n=0..3",), "top_n=0: top_n: input should be greater than or equal to 1"),
    (("lookback_months=6", "skip_months=6"), "lookback_months=6 skip_months=6: skip_months must be smaller than "
                                             "lookback_months"),
])
def test_a_combination_the_strategy_refuses_names_the_key(setup, cli, grid, reason) -> None:  # type: ignore[no-untyped-def]
    home, market = setup
    refused = cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--grid", *grid)
    assert refused.code == 2 and refused.err == f"error: --grid combination {reason}\n", refused
