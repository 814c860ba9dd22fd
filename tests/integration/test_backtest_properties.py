"""Properties of any backtest a trader could ask for (generated windows and costs on the
synthetic market): its record begins with the deposit, all cash, on the session before its
first rebalance; the total return it states is its final equity over its capital; `stats`
there is its own result; its ledger verifies; and its attribution's buckets sum to each
month's gap with a residual under a tenth of a basis point."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

FIRST_DAY = date(2016, 1, 1)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("properties") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    return root


windows = st.tuples(st.integers(0, 3_000), st.integers(1, 500)).map(
    lambda offset_length: (FIRST_DAY + timedelta(days=offset_length[0]),
                           FIRST_DAY + timedelta(days=sum(offset_length))))
costs = st.one_of(st.just(["--no-costs"]),
                  st.tuples(st.integers(0, 200), st.integers(0, 50)).map(
                      lambda c: ["--commission-bps", str(c[0]), "--slippage-bps", str(c[1])]))


@settings(max_examples=int(os.environ.get("SEQ_EXAMPLES", "6")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # real commands: no shrinking
@given(window=windows, frictions=costs, cash=st.sampled_from(["50000", "100000", "600000"]))
def test_property_a_backtest_states_the_return_its_equity_shows(home: Path, cli, tmp_path_factory,  # type: ignore[no-untyped-def]
                                                                window, frictions, cash) -> None:
    start, end = window
    out = tmp_path_factory.mktemp("bt") / "out"
    result = cli("--home", home, "backtest", "--from", start, "--to", end, "--provider", "synthetic",
                 "--cash", cash, "--out", out, "--json", *frictions)
    if result.code == 2:  # a window without a session or a rebalance: refused in one line, nothing written
        assert ("no rebalance session between" in result.err or "session between" in result.err) \
            and result.err.count("\n") == 1, result
        assert not out.exists()
        return
    assert result.code == 0, result
    document = json.loads(result.out)
    snapshots = json.loads(cli("--home", out, "ledger", "log", "--kind", "snapshot.recorded", "--json").out)
    base = snapshots[0]["payload"]
    assert base["session_date"] == document["from"]
    assert base["positions"] == [] and base["nav"] == base["cash"] == cash
    signals = json.loads(cli("--home", out, "ledger", "log", "--kind", "signal.computed", "--json").out)
    first_rebalance = signals[0]["payload"]["rebalance_date"]
    assert first_rebalance >= start.isoformat() and snapshots[1]["payload"]["session_date"] == first_rebalance, \
        "funded on the session just before the first rebalance on or after --from"
    stated = document["stats"]["metrics"]["total_return"]
    assert stated == pytest.approx(float(document["final_nav"]) / float(cash) - 1, abs=1e-12)
    assert json.loads(cli("--home", out, "stats", "--json").out) == document["stats"]
    assert cli("--home", out, "verify").code == 0
    attribution = json.loads(cli("--home", out, "attribution", "--json").out)
    for month in [*attribution["months"], attribution["total"]]:
        assert sum(month["buckets"].values()) == pytest.approx(month["gap"], abs=1e-9)
        assert abs(month["buckets"]["residual"]) < 1e-5, month  # a tenth of a basis point
    assert attribution["backtest"] is True and attribution["months"][0]["start"] == document["from"]
