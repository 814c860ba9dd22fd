"""`trackrecord attribution` on a BACKTEST workspace: the backtest against its own ideal model
(the same signals, fractional shares at the close, no costs). It refused with advice to
`prices import` into the backtest (its history is adjusted closes only); the backtest trades
at those closes, so they are its model's closes too, and the gap is its frictions."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.integration.test_backtest_user_workspace import WINDOW, write_market


@pytest.fixture(scope="module")
def backtests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("attribution")
    market = write_market(root / "prices")
    home = root / "ws"
    assert run(["init", str(home), "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv"]) == 0
    runs = {"costs": (), "frictionless": ("--no-costs",)}
    for name, extra in runs.items():
        assert run(["--home", str(home), "backtest", *WINDOW, "--prices-dir", str(market), "--out", str(root / name),
                    *extra]) == 0
    return {name: root / name for name in runs}


def test_attribution_of_a_backtest_is_labelled_and_its_buckets_sum_to_the_gap(backtests: dict[str, Path], cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", backtests["costs"], "attribution", "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["simulated"] is True and document["backtest"] is True
    total = document["total"]
    assert math.isclose(sum(total["buckets"].values()), total["gap"], abs_tol=1e-12)
    assert total["buckets"]["costs"] > 0, "the backtest's commissions are a cost against its model"
    table = cli("--home", backtests["costs"], "attribution")
    assert table.code == 0 and "SIMULATED | BACKTEST" in table.out, table


def test_a_frictionless_backtest_has_no_cost_or_execution_gap(backtests: dict[str, Path], cli) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(cli("--home", backtests["frictionless"], "attribution", "--json").out)
    buckets = document["total"]["buckets"]
    assert buckets["costs"] == 0 and abs(buckets["execution"]) < 1e-12, buckets
