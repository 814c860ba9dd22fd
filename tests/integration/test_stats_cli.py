"""`trackrecord stats` as a user sees it: imported snapshots and cash flows, hand-computed figures."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

SNAPSHOTS = "date,nav\n"
# 2026-01-05 base 100 000; 01-06 deposit 10 000 and +1 %; 01-07 +2 %; 01-08 -1 %; 02-02 +0.5 %
NAVS = [("2026-01-05", 100000), ("2026-01-06", 111100), ("2026-01-07", 113322), ("2026-01-08", 112188.78),
        ("2026-02-02", 112749.7239)]
DAILY = [0.01, 0.02, -0.01, 0.005]
# the same returns on five consecutive sessions: a daily record (NAVS jumps from 01-08 to 02-02: irregular)
NAVS_DAILY = NAVS[:4] + [("2026-01-09", NAVS[4][1])]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _imported(cli, workspace: Path, tmp_path: Path, navs=NAVS, flows="2026-01-06,10000\n",  # type: ignore[no-untyped-def]
              account: str | None = None) -> None:
    snaps = _write(tmp_path / "nav.csv", SNAPSHOTS + "".join(f"{d},{v}\n" for d, v in navs))
    extra = ("--account", account) if account else ()
    assert cli("--home", workspace, "import", "snapshots", snaps, *extra).code == 0
    if flows:
        result = cli("--home", workspace, "import", "cashflows", _write(tmp_path / "flows.csv", "date,amount\n" + flows))
        assert result.code == 0, result


def _stats(cli, workspace: Path, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("--home", workspace, "stats", *args, "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def test_a_deposit_is_not_profit(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path, navs=NAVS[:2])
    doc = _stats(cli, workspace, "--benchmark", "none")
    # (111 100 - 100 000 - 10 000) / (100 000 + 10 000) = 1 %; the naive 111 100 / 100 000 - 1 is 11.1 %
    assert doc["metrics"]["total_return"] == pytest.approx(0.01, abs=1e-12)
    assert doc["metrics"]["pnl"] == pytest.approx(1100.0)
    assert doc["metrics"]["n_returns"] == 1
    assert doc["period"] == {"base_date": "2026-01-05", "start": "2026-01-06", "end": "2026-01-06"}
    assert doc["metrics"]["ann_volatility"] is None and doc["nonfinite"]["ann_volatility"] == "needs at least 2 returns"


def test_a_withdrawal_is_not_a_loss(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path, navs=[("2026-03-02", 200000), ("2026-03-03", 49000)], flows="2026-03-03,-150000\n")
    doc = _stats(cli, workspace, "--benchmark", "none")
    assert doc["metrics"]["total_return"] == pytest.approx(-0.02, abs=1e-12)  # -1 000 on the 50 000 left, not -75.5 %
    assert doc["metrics"]["pnl"] == pytest.approx(-1000.0)


def test_the_json_document_has_the_documented_shape(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path)
    doc = _stats(cli, workspace)
    assert {"metrics", "benchmark", "trades", "period", "nonfinite", "account", "simulated", "paper",
            "benchmark_name"} <= set(doc)
    for key in ("n_returns", "total_return", "cagr", "cagr_calendar", "ann_volatility", "sharpe", "sortino", "calmar",
                "max_drawdown", "max_drawdown_days", "max_drawdown_calendar_days", "longest_underwater_days",
                "best_day", "worst_day", "win_rate_days", "profit_factor_days", "skew", "kurtosis", "psr",
                "min_track_record_days", "mwr", "pnl"):
        assert key in doc["metrics"], key
    assert doc["account"] == "SIM0001" and doc["simulated"] is False and doc["paper"] is False
    assert doc["benchmark_name"] == "universe"
    assert set(doc["period"]) == {"base_date", "start", "end"}
    for key, value in doc["metrics"].items():
        assert value is not None or key in doc["nonfinite"], key


def test_figures_match_hand_computation(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path, navs=NAVS_DAILY)
    m = _stats(cli, workspace, "--benchmark", "none")["metrics"]
    r = np.array(DAILY)
    assert m["n_returns"] == 4
    assert m["total_return"] == pytest.approx(np.prod(1 + r) - 1, abs=1e-12)
    assert m["ann_volatility"] == pytest.approx(r.std(ddof=1) * np.sqrt(252), rel=1e-9)
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(252), rel=1e-9)
    assert m["max_drawdown"] == pytest.approx(-0.01, abs=1e-12)
    assert m["best_day"] == pytest.approx(0.02) and m["worst_day"] == pytest.approx(-0.01)
    assert m["win_rate_days"] == pytest.approx(0.75)
    # peak 01-07, trough 01-08, not recovered by 01-09: runs to the last point
    assert m["max_drawdown_days"] == 2 and m["max_drawdown_calendar_days"] == 2
    assert m["pnl"] == pytest.approx(112749.7239 - 100000 - 10000)


def test_a_sub_period_uses_the_record_before_from_as_base(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path)
    doc = _stats(cli, workspace, "2026-01-07", "2026-01-08", "--benchmark", "none")
    assert doc["period"] == {"base_date": "2026-01-06", "start": "2026-01-07", "end": "2026-01-08"}
    assert doc["metrics"]["n_returns"] == 2
    assert doc["metrics"]["total_return"] == pytest.approx(1.02 * 0.99 - 1, abs=1e-12)


def test_sub_periods_chain_link_to_the_whole(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path)
    whole = _stats(cli, workspace, "--benchmark", "none")["metrics"]["total_return"]
    january = _stats(cli, workspace, "2026-01-01", "2026-01-31", "--benchmark", "none")["metrics"]["total_return"]
    february = _stats(cli, workspace, "2026-02-01", "--benchmark", "none")["metrics"]["total_return"]
    assert (1 + january) * (1 + february) - 1 == pytest.approx(whole, abs=1e-12)
    assert january == pytest.approx(1.01 * 1.02 * 0.99 - 1, abs=1e-12)


def test_monthly_returns_are_in_the_document(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path)
    doc = _stats(cli, workspace, "--benchmark", "none")
    months = {m["month"]: m["return"] for m in doc["monthly_returns"]}
    assert months["2026-01"] == pytest.approx(1.01 * 1.02 * 0.99 - 1) and months["2026-02"] == pytest.approx(0.005)


def test_the_table_shows_the_key_figures(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path, navs=NAVS[:2])
    result = cli("--home", workspace, "stats", "--benchmark", "none")
    assert result.code == 0, result
    out = result.out
    assert "Performance: account SIM0001" in out and "SIMULATED" not in out
    assert "+1.00%" in out and "1,100.00" in out and "Max drawdown" in out
    assert "n/a (needs at least 2 returns)" in out
    assert "Monthly returns" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("2026-13-01",), "FROM: expected a date YYYY-MM-DD or a month YYYY-MM, got '2026-13-01'"),
        (("2026-13",), "FROM '2026-13': expected a month YYYY-MM"),
        (("2026-01-01", "01/02/2026"), "TO: expected a date YYYY-MM-DD"),
        (("2026-02-01", "2026-01-01"), "FROM 2026-02-01 is after TO 2026-01-01"),
        (("2027-01-01",), "no snapshot of account SIM0001 between 2027-01-01 and the end"),
        (("--account", "U999"), "--account U999: no snapshots recorded for it; accounts with snapshots: SIM0001"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, workspace: Path, tmp_path: Path, args: tuple[str, ...], expected: str) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path)
    result = cli("--home", workspace, "stats", *args)
    assert result.code == 2, result
    assert expected in result.err and result.err.count("\n") == 1 and result.out == ""


def test_an_empty_workspace_says_what_to_do(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", workspace, "stats", "--json")
    assert result.code == 2 and result.out == ""
    assert "no snapshots recorded yet" in result.err and "import snapshots" in result.err
    assert result.err.count("\n") == 1


def test_a_flow_in_another_currency_needs_a_rate(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path, navs=NAVS[:2], flows="")
    flows = _write(tmp_path / "usd.csv", "date,amount,currency\n2026-01-06,12500,USD\n")
    refused = cli("--home", workspace, "import", "cashflows", flows)  # refused before it is recorded
    assert refused.code == 2 and "column 'currency' USD" in refused.err and "prices.fx_rates" in refused.err
    config = workspace / "trackrecord.yaml"
    config.write_text(config.read_text().replace("fx_rates: {}", "fx_rates: {USD: '0.8'}"))
    assert cli("--home", workspace, "import", "cashflows", flows).code == 0
    doc = _stats(cli, workspace, "--benchmark", "none")
    assert doc["metrics"]["total_return"] == pytest.approx(0.01, abs=1e-12)  # 12 500 USD = 10 000 GBP
    config.write_text(config.read_text().replace("fx_rates: {USD: '0.8'}", "fx_rates: {}"))  # the rate taken out
    result = cli("--home", workspace, "stats")
    assert result.code == 2 and "12500 USD" in result.err and "prices.fx_rates" in result.err
    assert result.err.count("\n") == 1


def test_an_ib_paper_account_is_labelled_paper(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path, account="DU1234567")
    doc = _stats(cli, workspace, "--benchmark", "none")
    assert doc["account"] == "DU1234567" and doc["paper"] is True
    assert "paper account" in cli("--home", workspace, "stats").out


def _append(workspace: Path, kind: str, payload: dict) -> None:  # type: ignore[type-arg]
    from trackrecord.bootstrap import connect
    from trackrecord.ledger.append import append_events
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(workspace))
    try:
        with services.ledger.writer() as writer:  # as a release before ledger/record_rules.py wrote a mixed record
            new = append_events(writer.dbapi, writer.conn.dialect.name, (writer.seq, writer.prev_hash),
                                [(kind, payload)], writer.clock())
            writer.seq, writer.prev_hash = new[-1].seq, new[-1].hash
    finally:
        services.close()


def test_a_simulated_snapshot_labels_the_record_simulated(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date, datetime, timezone
    from decimal import Decimal

    from trackrecord.ledger import events as kinds

    _imported(cli, workspace, tmp_path)
    _append(workspace, kinds.SNAPSHOT_RECORDED, {
        "account_id": "SIM0001", "session_date": date(2026, 2, 3),
        "taken_at": datetime(2026, 2, 3, 17, tzinfo=timezone.utc), "base_currency": "GBP",
        "nav": Decimal("113000"), "cash": None, "positions": [], "is_paper": False, "simulated": True,
        "source": "test",
    })
    assert _stats(cli, workspace, "--benchmark", "none")["simulated"] is True
    assert _stats(cli, workspace, "2026-01-01", "2026-01-31", "--benchmark", "none")["simulated"] is False
    table = cli("--home", workspace, "stats", "--benchmark", "none").out
    assert "SIMULATED" in table.splitlines()[0]


def _prices(workspace: Path, rows: list[tuple[str, str, float]]) -> None:
    with sqlite3.connect(workspace / "trackrecord.db") as db:
        db.executemany("INSERT INTO prices (symbol, session_date, close, adj_close, source, fetched_at) "
                       "VALUES (?, ?, ?, ?, 'test', '2026-03-01T00:00:00Z')", [(s, d, c, c) for s, d, c in rows])


def test_a_symbol_benchmark_uses_the_last_close_on_or_before_each_date(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path, navs=NAVS[:4] + [("2026-01-12", NAVS[4][1])])  # 01-09 missing: still daily
    closes = [("2026-01-02", 50.0), ("2026-01-06", 50.5), ("2026-01-07", 51.0), ("2026-01-08", 50.0),
              ("2026-01-09", 52.0)]  # no close on 01-05 (uses 01-02) nor on 01-12 (uses 01-09)
    _prices(workspace, [("SPY", d, c) for d, c in closes])
    doc = _stats(cli, workspace, "--benchmark", "spy")
    assert doc["benchmark_name"] == "SPY"
    # the return across the missing session 01-09 is left out of the per-session figures
    bench = np.array([50.5 / 50.0, 51.0 / 50.5, 50.0 / 51.0]) - 1
    p = np.array(DAILY[:3])
    assert doc["benchmark"]["total_return"] == pytest.approx(52.0 / 50.0 - 1)
    assert doc["benchmark"]["beta"] == pytest.approx(np.cov(p, bench)[0, 1] / bench.var(ddof=1), rel=1e-9)
    assert doc["benchmark"]["correlation"] == pytest.approx(np.corrcoef(p, bench)[0, 1], rel=1e-9)
    assert doc["benchmark"]["tracking_error"] == pytest.approx((p - bench).std(ddof=1) * np.sqrt(252), rel=1e-9)
    assert "Beta" in cli("--home", workspace, "stats", "--benchmark", "SPY").out


def test_the_default_benchmark_is_the_equal_weight_universe(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.config import UK_SECTORS

    _imported(cli, workspace, tmp_path, navs=NAVS[:4])  # all in January: no monthly reset after the base
    rows = []
    for i, (symbol, _sector) in enumerate(UK_SECTORS):
        for day, growth in (("2026-01-05", 1.0), ("2026-01-06", 1.0 + 0.01 * i), ("2026-01-07", 1.0 + 0.02 * i),
                            ("2026-01-08", 1.0 - 0.01 * i)):
            rows.append((symbol, day, 100.0 * growth))
    _prices(workspace, rows)
    doc = _stats(cli, workspace)
    relative_end = np.array([1.0 - 0.01 * i for i in range(len(UK_SECTORS))])
    assert doc["benchmark_name"] == "universe"
    assert doc["benchmark"]["total_return"] == pytest.approx(relative_end.mean() - 1, abs=1e-12)


def test_missing_benchmark_prices_give_a_null_section_with_a_reason(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path)
    _prices(workspace, [("SXLK", "2026-01-02", 10.0)])
    doc = _stats(cli, workspace)
    assert doc["benchmark"] is None and "SXLF" in doc["nonfinite"]["benchmark"] and "SXLK" not in doc["nonfinite"]["benchmark"]
    late = _stats(cli, workspace, "--benchmark", "SXLK")  # a close on or before the base: usable
    assert late["benchmark"] is not None


def test_no_benchmark(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported(cli, workspace, tmp_path)
    doc = _stats(cli, workspace, "--benchmark", "none")
    assert doc["benchmark"] is None and doc["benchmark_name"] is None and "benchmark" not in doc["nonfinite"]


def test_money_from_nowhere_is_named_by_its_day_and_a_recorded_deposit_mends_it(cli, workspace: Path,  # type: ignore[no-untyped-def]
                                                                              tmp_path: Path) -> None:
    """An account opened empty (NAV 0) and funded without a recorded flow: stats refused with
    "snapshot 1", which names no day the user can find, and no way out of an append-only record."""
    _imported(cli, workspace, tmp_path, navs=[("2026-01-05", 0), ("2026-01-06", 100000), ("2026-01-07", 101000)],
              flows="")
    refused = cli("--home", workspace, "stats", "--benchmark", "none")
    assert refused.code == 2 and len(refused.err.strip().splitlines()) == 1, refused
    assert "the snapshot of 2026-01-06" in refused.err
    assert "`trackrecord cashflow add --date 2026-01-06 --amount ...`" in refused.err, refused.err
    result = cli("--home", workspace, "import", "cashflows", _write(tmp_path / "f.csv", "date,amount\n2026-01-06,100000\n"))
    assert result.code == 0, result
    assert _stats(cli, workspace, "--benchmark", "none")["metrics"]["total_return"] == pytest.approx(0.01)
