"""Slippage sign conventions: positive is a cost for buys and sells."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from trackrecord.analytics.slippage import SlippageFill, fill_cost, slippage_fills_from, slippage_report
from trackrecord.domain import Fill, OrderRequest, OrderType, Side


def sf(side: str, fill: float, intended: float, qty: float = 10, month: int = 1, commission: float | None = 1.0) -> SlippageFill:
    return SlippageFill("SXLK", side, qty, fill, intended, commission, "MOC", datetime(2024, month, 2, 16, tzinfo=timezone.utc))


def test_paying_up_on_a_buy_and_selling_low_are_both_costs() -> None:
    buy = fill_cost(sf("BUY", 101.0, 100.0))
    sell = fill_cost(sf("SELL", 99.0, 100.0))
    assert buy.slippage_bps == pytest.approx(100.0) and buy.shortfall == pytest.approx(10.0)
    assert sell.slippage_bps == pytest.approx(100.0) and sell.shortfall == pytest.approx(10.0)


def test_price_improvement_is_negative() -> None:
    assert fill_cost(sf("BUY", 99.5, 100.0)).slippage_bps == pytest.approx(-50.0)
    assert fill_cost(sf("SELL", 100.5, 100.0)).shortfall == pytest.approx(-5.0)


def test_commission_bps_is_on_the_fill_notional() -> None:
    assert fill_cost(sf("BUY", 101.0, 100.0)).commission_bps == pytest.approx(1.0 / 1010.0 * 1e4)
    assert fill_cost(sf("BUY", 101.0, 100.0, commission=None)).commission_bps is None


def test_report_groups() -> None:
    report = slippage_report([sf("BUY", 101.0, 100.0, qty=30), sf("SELL", 100.0, 100.0, qty=10, month=2, commission=None)])
    total = report["total"]
    assert total["fills"] == 2 and total["commissions_pending"] == 1
    assert total["slippage_bps_mean"] == pytest.approx(50.0)
    assert total["slippage_bps_weighted"] == pytest.approx(30.0 / 4000.0 * 1e4)  # 75 bps
    assert set(report["by_month"]) == {"2024-01", "2024-02"}
    assert report["by_side"]["SELL"]["shortfall"] == 0.0
    assert set(report["by_order_type"]) == {"MOC"}


def test_domain_fills_are_joined_with_their_orders() -> None:
    order = OrderRequest("r1", "p1", "SXLK", Side.SELL, Decimal(5), OrderType.MARKET_ON_CLOSE, Decimal("20"), "GBP")
    fill = Fill("e1", "r1", "SXLK", Side.SELL, Decimal(5), Decimal("19.9"), "GBP", datetime(2024, 1, 2, tzinfo=timezone.utc), Decimal("1"))
    (joined,) = slippage_fills_from([fill], [order])
    assert (joined.side, joined.order_type, joined.intended_price) == ("SELL", "MOC", 20.0)
    assert fill_cost(joined).slippage_bps == pytest.approx(50.0)
