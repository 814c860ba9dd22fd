"""The Broker contract: one abstract test class, run against every implementation.

Subclass ``BrokerContract`` as ``Test<Implementation>Contract`` and give it a ``harness``
fixture (see ``harness.BrokerHarness``). ``test_sim_broker_contract.py`` runs it against
SimulatedBroker (SQLite and PostgreSQL), ``test_ibkr_broker_contract.py`` against IbkrBroker
over the fake TWS.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from trackrecord.brokers.base import Broker, OrderRejected
from trackrecord.domain import Fill, OrderRequest, OrderStatus, OrderType, Side

from tests.contract.harness import BrokerHarness

SYMBOL = "SXLK"
OTHER = "SXLF"
CAPITAL = Decimal(100_000)


def order(symbol: str, side: Side, quantity: int, order_type: OrderType = OrderType.MARKET,
          limit: str | None = None, ref: str | None = None, price: str = "100") -> OrderRequest:
    return OrderRequest(
        order_ref=ref or f"contract-{uuid.uuid4().hex[:12]}", plan_id="contract-plan", symbol=symbol, side=side,
        quantity=Decimal(quantity), order_type=order_type, intended_price=Decimal(price), currency="GBP",
        limit_price=None if limit is None else Decimal(limit),
    )


def assert_near(price: Decimal, printed: Decimal, side: Side, max_bps: Decimal) -> None:
    """Filled at the printed price, moved at most ``max_bps`` against the order."""
    moved = (price - printed) / printed * side.sign * 10_000
    assert Decimal(0) <= moved <= max_bps + Decimal("0.01"), (price, printed, moved)


EPOCH = datetime(1990, 1, 1, tzinfo=timezone.utc)


def exec_ids(broker: Broker) -> set[str]:
    return {fill.exec_id for fill in broker.executions_since(EPOCH)}


def new_fills(broker: Broker, known: set[str]) -> list[Fill]:
    """Fills not seen before, whatever the broker's ``since`` boundary rule."""
    return [fill for fill in broker.executions_since(EPOCH) if fill.exec_id not in known]


class BrokerContract:
    """Behaviour every Broker must show. Subclasses provide the ``harness`` fixture."""

    @pytest.fixture
    def harness(self) -> BrokerHarness:  # pragma: no cover - replaced by subclasses
        raise NotImplementedError

    @pytest.fixture
    def funded(self, harness: BrokerHarness) -> BrokerHarness:
        harness.deposit(CAPITAL)
        harness.quote(SYMBOL, Decimal(100))
        harness.quote(OTHER, Decimal(50))
        return harness

    def test_identifies_its_account(self, harness: BrokerHarness) -> None:
        broker = harness.broker
        assert isinstance(broker.account_id, str) and broker.account_id
        assert broker.is_paper is harness.expects_paper

    def test_snapshot_after_deposit(self, harness: BrokerHarness) -> None:
        harness.deposit(CAPITAL)
        snap = harness.broker.snapshot(harness.now)
        assert snap.account_id == harness.broker.account_id and snap.base_currency == harness.base_currency
        assert snap.cash == CAPITAL and snap.net_liquidation == CAPITAL and snap.positions == ()

    def test_market_order_fills_at_the_next_price_with_commission(self, funded: BrokerHarness) -> None:
        broker, start = funded.broker, funded.now
        placed = broker.place_order(order(SYMBOL, Side.BUY, 100))
        assert placed.status in (OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTED)
        assert [o.order_ref for o in broker.open_orders()] == [placed.order_ref]
        funded.quote(SYMBOL, Decimal(101))
        fills = broker.executions_since(start)
        assert len(fills) == 1
        fill = fills[0]
        assert (fill.order_ref, fill.symbol, fill.side, fill.quantity) == (placed.order_ref, SYMBOL, Side.BUY, 100)
        assert_near(fill.price, Decimal(101), Side.BUY, funded.max_slippage_bps)
        assert fill.commission is not None and fill.commission >= funded.commission_minimum
        assert fill.executed_at >= start and fill.exec_id
        assert broker.open_orders() == []
        snap = broker.snapshot(funded.now)
        assert snap.quantity_of(SYMBOL) == 100
        assert snap.cash == CAPITAL - 100 * fill.price - fill.commission
        assert snap.net_liquidation == snap.cash + 100 * Decimal(101)

    def test_market_on_close_fills_at_the_close(self, funded: BrokerHarness) -> None:
        broker, start = funded.broker, funded.now
        placed = broker.place_order(order(SYMBOL, Side.BUY, 50, OrderType.MARKET_ON_CLOSE))
        funded.quote(SYMBOL, Decimal(103))
        assert broker.executions_since(start) == []
        assert [o.order_ref for o in broker.open_orders()] == [placed.order_ref]
        funded.close_session({SYMBOL: Decimal(102), OTHER: Decimal(50)})
        (fill,) = broker.executions_since(start)
        assert_near(fill.price, Decimal(102), Side.BUY, funded.max_slippage_bps)
        assert broker.wait_for_terminal([placed.order_ref], 5)[0].status is OrderStatus.FILLED

    def test_limit_order_fills_only_when_crossed(self, funded: BrokerHarness) -> None:
        broker, start = funded.broker, funded.now
        placed = broker.place_order(order(SYMBOL, Side.BUY, 10, OrderType.LIMIT, limit="99"))
        funded.quote(SYMBOL, Decimal("99.50"))
        funded.quote(SYMBOL, Decimal("100.20"))
        assert broker.executions_since(start) == []
        funded.quote(SYMBOL, Decimal("98.80"))
        (fill,) = broker.executions_since(start)
        assert fill.order_ref == placed.order_ref and fill.price <= Decimal(99)

    def test_sell_limit_fills_only_when_crossed(self, funded: BrokerHarness) -> None:
        broker = funded.broker
        broker.place_order(order(SYMBOL, Side.BUY, 10))
        funded.quote(SYMBOL, Decimal(100))
        bought = exec_ids(broker)
        broker.place_order(order(SYMBOL, Side.SELL, 10, OrderType.LIMIT, limit="105"))
        funded.quote(SYMBOL, Decimal("104.90"))
        assert new_fills(broker, bought) == []
        funded.quote(SYMBOL, Decimal("105.40"))
        (fill,) = new_fills(broker, bought)
        assert fill.side is Side.SELL and fill.price >= Decimal(105)
        assert broker.snapshot(funded.now).quantity_of(SYMBOL) == 0

    def test_a_second_order_with_the_same_ref_is_refused(self, funded: BrokerHarness) -> None:
        broker = funded.broker
        first = order(SYMBOL, Side.BUY, 10, ref="plan-1:SXLK")
        broker.place_order(first)
        with pytest.raises(OrderRejected):
            broker.place_order(first)
        funded.quote(SYMBOL, Decimal(101))
        with pytest.raises(OrderRejected):
            broker.place_order(order(SYMBOL, Side.BUY, 99, ref="plan-1:SXLK"))
        assert len(broker.executions_since(EPOCH)) == 1

    def test_state_survives_a_restart(self, funded: BrokerHarness) -> None:
        broker = funded.broker
        broker.place_order(order(SYMBOL, Side.BUY, 100, ref="r-filled"))
        funded.quote(SYMBOL, Decimal(101))
        broker.place_order(order(OTHER, Side.BUY, 20, OrderType.LIMIT, limit="40", ref="r-open"))
        before = broker.snapshot(funded.now)
        fills_before = broker.executions_since(EPOCH)
        restarted = funded.restart()
        assert restarted.snapshot(funded.now) == before
        assert restarted.executions_since(EPOCH) == fills_before
        assert [o.order_ref for o in restarted.open_orders()] == ["r-open"]
        with pytest.raises(OrderRejected):
            restarted.place_order(order(SYMBOL, Side.BUY, 100, ref="r-filled"))
        funded.quote(OTHER, Decimal("39.50"))
        known = {fill.exec_id for fill in fills_before}
        assert [f.order_ref for f in new_fills(restarted, known)] == ["r-open"]

    def test_executions_since_filters_by_time(self, funded: BrokerHarness) -> None:
        broker = funded.broker
        broker.place_order(order(SYMBOL, Side.BUY, 10, ref="early"))
        funded.quote(SYMBOL, Decimal(101))
        middle = funded.now
        funded.quote(OTHER, Decimal(50))
        after_first = funded.now
        broker.place_order(order(OTHER, Side.BUY, 10, ref="late"))
        funded.quote(OTHER, Decimal(51))
        assert [f.order_ref for f in broker.executions_since(middle)] == ["early", "late"]
        assert [f.order_ref for f in broker.executions_since(after_first)] == ["late"]
        assert broker.executions_since(funded.now.replace(year=funded.now.year + 1)) == []

    def test_cancelled_order_never_fills(self, funded: BrokerHarness) -> None:
        broker, start = funded.broker, funded.now
        placed = broker.place_order(order(SYMBOL, Side.BUY, 10, OrderType.LIMIT, limit="90"))
        assert broker.cancel(placed.order_ref).status is OrderStatus.CANCELLED
        funded.quote(SYMBOL, Decimal(80))
        assert broker.executions_since(start) == [] and broker.open_orders() == []
        with pytest.raises(OrderRejected):
            broker.place_order(order(SYMBOL, Side.BUY, 10, ref=placed.order_ref))

    def test_selling_credits_cash(self, funded: BrokerHarness) -> None:
        broker = funded.broker
        broker.place_order(order(SYMBOL, Side.BUY, 100))
        funded.quote(SYMBOL, Decimal(100))
        bought = exec_ids(broker)
        broker.place_order(order(SYMBOL, Side.SELL, 40))
        cash_before = broker.snapshot(funded.now).cash
        funded.quote(SYMBOL, Decimal(110))
        (sale,) = new_fills(broker, bought)
        assert_near(sale.price, Decimal(110), Side.SELL, funded.max_slippage_bps)
        snap = broker.snapshot(funded.now)
        assert snap.quantity_of(SYMBOL) == 60
        assert snap.cash == cash_before + 40 * sale.price - sale.commission
