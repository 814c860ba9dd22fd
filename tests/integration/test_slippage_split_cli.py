"""`slippage` separates the market's move from the execution (issue 8, item 15): a
market-on-close order decided at the previous close is measured against the session's
stored close, then the fill against that close."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

DECIDED, CLOSE, FILLED = 154.6853, 157.5380, 157.5472  # the MOC buy: +185 bps "slippage", 0.6 from the close


def _append_fill(workspace: Path, exec_id: str, side: str, price: str, intended: str, order_type: str | None,
                 executed_at: datetime) -> None:
    from trackrecord.bootstrap import connect
    from trackrecord.ledger import events as kinds
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(workspace))
    try:
        with services.ledger.writer() as writer:
            writer.append(kinds.FILL_RECORDED, {
                "exec_id": exec_id, "account_id": "default", "order_ref": "", "symbol": "SXLK", "side": side,
                "quantity": Decimal(100), "price": Decimal(price), "currency": "GBP", "executed_at": executed_at,
                "commission": Decimal(3), "commission_currency": "GBP", "intended_price": Decimal(intended),
                "order_type": order_type, "supersedes": None, "simulated": False,
            })
    finally:
        services.close()


def _prices(workspace: Path, rows: list[tuple[str, float]]) -> None:
    with sqlite3.connect(workspace / "trackrecord.db") as db:
        db.executemany("INSERT INTO prices (symbol, session_date, close, adj_close, source, fetched_at) "
                       "VALUES ('SXLK', ?, ?, ?, 'test', '2026-03-01T00:00:00Z')", [(d, c, c * 0.9) for d, c in rows])


def _slippage(cli, workspace: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("--home", workspace, "slippage", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def test_a_moc_fill_splits_into_the_days_move_and_the_execution(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    _prices(workspace, [("2026-02-02", DECIDED), ("2026-02-03", CLOSE)])
    _append_fill(workspace, "M1", "BUY", str(FILLED), str(DECIDED), "MOC", datetime(2026, 2, 3, 16, 35, tzinfo=timezone.utc))
    doc = _slippage(cli, workspace)
    (row,) = doc["fills"]
    assert row["reference"] == "close" and row["reference_price"] == CLOSE  # the raw close, not the adjusted one
    assert row["delay_bps"] == pytest.approx((CLOSE - DECIDED) / DECIDED * 1e4)  # ~ +184.4: the market
    assert row["execution_bps"] == pytest.approx((FILLED - CLOSE) / DECIDED * 1e4)  # ~ +0.6: the execution
    assert row["execution_bps"] < 1.0
    assert row["delay_bps"] + row["execution_bps"] == pytest.approx(row["slippage_bps"])
    assert row["delay_cost"] == pytest.approx((CLOSE - DECIDED) * 100)
    assert row["execution_cost"] == pytest.approx((FILLED - CLOSE) * 100)
    assert row["delay_cost"] + row["execution_cost"] == pytest.approx(row["shortfall"])
    for group in (doc["total"], doc["by_symbol"]["SXLK"], doc["by_side"]["BUY"], doc["by_order_type"]["MOC"],
                  doc["by_month"]["2026-02"]):
        assert group["delay_bps_weighted"] == pytest.approx(row["delay_bps"])
        assert group["execution_bps_weighted"] == pytest.approx(row["execution_bps"])
        assert group["execution_cost"] == pytest.approx(row["execution_cost"]) and group["without_reference"] == 0
    table = cli("--home", workspace, "slippage").out
    assert "+184.4" in table and "+0.6" in table


def test_a_sell_below_the_close_is_an_execution_cost(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    _prices(workspace, [("2026-02-03", 100.0)])
    _append_fill(workspace, "S1", "SELL", "99.90", "101.00", "MOC", datetime(2026, 2, 3, 16, 35, tzinfo=timezone.utc))
    (row,) = _slippage(cli, workspace)["fills"]
    assert row["delay_bps"] == pytest.approx(1.0 / 101.0 * 1e4)  # the price fell 1.00 before the close: cost
    assert row["execution_bps"] == pytest.approx(0.1 / 101.0 * 1e4)  # sold 0.10 below the close: cost


def test_without_a_session_close_only_the_total_is_known(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    _append_fill(workspace, "M2", "BUY", "10.10", "10.00", "MOC", datetime(2026, 2, 4, 16, 35, tzinfo=timezone.utc))
    _append_fill(workspace, "K1", "BUY", "10.10", "10.00", "MKT", datetime(2026, 2, 4, 10, 0, tzinfo=timezone.utc))
    doc = _slippage(cli, workspace)
    assert all(r["delay_bps"] is None and r["execution_bps"] is None for r in doc["fills"])
    assert [r["slippage_bps"] for r in doc["fills"]] == pytest.approx([100.0, 100.0])
    assert doc["total"]["without_reference"] == 2 and doc["total"]["delay_bps_weighted"] is None
    assert "2 fill(s) not split into delay and execution" in cli("--home", workspace, "slippage").out
