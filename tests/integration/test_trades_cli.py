"""`trackrecord trades` and `trackrecord slippage` as a user sees them: imported fills, hand-computed figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HEADER = "trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,commission,commission_currency\n"
FILLS = (
    # SXLK: a winning long, bought above the intended price (a cost), sold below it (a cost)
    "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,100,10.00,10.02,,3.00,GBP\n"
    "T2,2026-01-12T16:35:00Z,SXLK,ETF,SELL,100,11.00,10.89,,3.00,GBP\n"
    # SXLE: a losing long, bought below the intended price (a gain), commission pending on the sale
    "T3,2026-01-06T16:35:00Z,SXLE,ETF,BUY,50,20.00,19.98,,1.00,GBP\n"
    "T4,2026-02-03T16:35:00Z,SXLE,ETF,SELL,50,,19.00,,,\n"
    # SXLF: still open
    "T5,2026-02-04T16:35:00Z,SXLF,ETF,BUY,10,5.00,5.00,,1.00,GBP\n"
)


def _with_fills(cli, workspace: Path, tmp_path: Path, rows: str = FILLS) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "fills.csv"
    path.write_text(HEADER + rows)
    result = cli("--home", workspace, "import", "fills", path)
    assert result.code == 0, result


def _json(cli, workspace: Path, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("--home", workspace, *args, "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def test_round_trips_from_imported_fills(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _with_fills(cli, workspace, tmp_path)
    doc = _json(cli, workspace, "trades")
    trips = {t["symbol"]: t for t in doc["round_trips"]}
    assert set(trips) == {"SXLK", "SXLE"}
    # SXLK: (10.89 - 10.02) * 100 = 87 gross, 6 commission -> 81 net; SXLE: -0.98 * 50 = -49, 1 commission -> -50
    assert trips["SXLK"]["gross_pnl"] == pytest.approx(87.0) and trips["SXLK"]["net_pnl"] == pytest.approx(81.0)
    assert trips["SXLE"]["net_pnl"] == pytest.approx(-50.0)
    assert trips["SXLK"]["holding_days"] == pytest.approx(7.0) and trips["SXLK"]["direction"] == "LONG"
    summary = doc["summary"]
    assert summary["round_trips"] == 2 and summary["win_rate"] == pytest.approx(0.5)
    assert summary["profit_factor"] == pytest.approx(81.0 / 50.0)
    assert summary["expectancy"] == pytest.approx((81.0 - 50.0) / 2)
    assert summary["commissions_pending"] == 1 and summary["commissions"] == pytest.approx(8.0)
    assert [p["symbol"] for p in doc["open_positions"]] == ["SXLF"] and doc["open_positions"][0]["quantity"] == 10
    assert summary["unrealised_pnl"] is None and doc["nonfinite"]["unrealised_pnl"] == "no mark for an open position"
    assert doc["account"] == "SIM0001" and doc["simulated"] is False and doc["paper"] is False


def test_a_period_counts_round_trips_closed_in_it(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _with_fills(cli, workspace, tmp_path)
    february = _json(cli, workspace, "trades", "2026-02-01")
    assert [t["symbol"] for t in february["round_trips"]] == ["SXLE"]  # opened in January, closed in February
    january = _json(cli, workspace, "trades", "2026-01-01", "2026-01-31")
    assert [t["symbol"] for t in january["round_trips"]] == ["SXLK"]
    assert {p["symbol"] for p in january["open_positions"]} == {"SXLE"}


def test_stats_carries_the_same_trade_summary(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _with_fills(cli, workspace, tmp_path)
    snaps = tmp_path / "nav.csv"
    snaps.write_text("date,nav\n2026-01-05,10000\n2026-01-12,10081\n2026-02-04,10031\n")
    assert cli("--home", workspace, "import", "snapshots", snaps).code == 0
    trades = _json(cli, workspace, "stats", "--benchmark", "none")["trades"]
    assert trades["round_trips"] == 2 and trades["profit_factor"] == pytest.approx(81.0 / 50.0)


def test_a_superseded_fill_is_left_out(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone
    from decimal import Decimal

    from trackrecord.bootstrap import connect
    from trackrecord.ledger import events as kinds
    from trackrecord.workspace import open_workspace

    _with_fills(cli, workspace, tmp_path)
    services = connect(open_workspace(workspace))
    try:
        with services.ledger.writer() as writer:  # the broker corrected T2's price
            writer.append(kinds.FILL_RECORDED, {
                "exec_id": "T2.01", "account_id": "SIM0001", "order_ref": "", "symbol": "SXLK", "side": "SELL",
                "quantity": Decimal(100), "price": Decimal("10.92"), "currency": "GBP",
                "executed_at": datetime(2026, 1, 12, 16, 35, tzinfo=timezone.utc), "commission": Decimal(3),
                "commission_currency": "GBP", "intended_price": Decimal(11), "order_type": "MOC",
                "supersedes": "T2", "simulated": False,
            })
    finally:
        services.close()
    trips = {t["symbol"]: t for t in _json(cli, workspace, "trades")["round_trips"]}
    assert trips["SXLK"]["net_pnl"] == pytest.approx((10.92 - 10.02) * 100 - 6)
    rows = _json(cli, workspace, "slippage")["fills"]
    assert [r["fill_price"] for r in rows if r["symbol"] == "SXLK" and r["side"] == "SELL"] == [10.92]


def test_trades_table(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _with_fills(cli, workspace, tmp_path)
    result = cli("--home", workspace, "trades")
    assert result.code == 0, result
    assert "Round trips: account SIM0001" in result.out and "81.00" in result.out and "-50.00" in result.out
    assert "Open positions" in result.out and "SXLF" in result.out


def test_no_fills_is_an_empty_report(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    doc = _json(cli, workspace, "trades")
    assert doc["round_trips"] == [] and doc["summary"]["round_trips"] == 0
    assert _json(cli, workspace, "slippage")["fills"] == []


def test_trades_bad_dates_are_exit_2(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", workspace, "trades", "2026-02-30")
    assert result.code == 2 and "FROM: expected a date" in result.err and result.err.count("\n") == 1


def test_slippage_is_positive_when_it_costs(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _with_fills(cli, workspace, tmp_path)
    doc = _json(cli, workspace, "slippage")
    rows = {(r["symbol"], r["side"]): r for r in doc["fills"]}
    assert rows[("SXLK", "BUY")]["slippage_bps"] == pytest.approx(20.0)  # bought 2p above 10.00
    assert rows[("SXLK", "SELL")]["slippage_bps"] == pytest.approx(100.0)  # sold 11p below 11.00
    assert rows[("SXLE", "BUY")]["slippage_bps"] == pytest.approx(-10.0)  # bought 2p below 20.00: a gain
    assert rows[("SXLK", "SELL")]["shortfall"] == pytest.approx(11.0)
    assert rows[("SXLK", "BUY")]["commission_bps"] == pytest.approx(3.0 / 1002.0 * 1e4)
    assert doc["without_intended_price"] == 1  # T4 has no intended price
    assert doc["by_side"]["BUY"]["fills"] == 3 and doc["by_side"]["SELL"]["fills"] == 1
    weighted = (2.0 - 1.0 + 0.0) / (1000.0 + 1000.0 + 50.0) * 1e4
    assert doc["by_side"]["BUY"]["slippage_bps_weighted"] == pytest.approx(weighted)
    assert set(doc["by_month"]) == {"2026-01", "2026-02"} and set(doc["by_order_type"]) == {"UNKNOWN"}
    assert doc["total"]["fills"] == 4


def test_slippage_table(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _with_fills(cli, workspace, tmp_path)
    result = cli("--home", workspace, "slippage")
    assert result.code == 0, result
    assert "+20.0" in result.out and "+100.0" in result.out and "-10.0" in result.out
    assert "1 fill(s) left out: no intended price recorded" in result.out
