"""The rebalance planner: examples and properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from trackrecord.domain import Side
from trackrecord.strategy.planner import (
    CommissionModel,
    PlanError,
    PlanParams,
    PricePoint,
    order_ref_for,
    plan_id_for,
    plan_rebalance,
)

D = Decimal
SESSION = date(2026, 3, 2)
THIRD = D(1) / D(3)
PARAMS = PlanParams(drift_band=D("0.02"), cash_buffer=D("0.01"), min_order_value=D(100),
                    commission=CommissionModel(D("0.0005"), D(3)))


def _prices(**values: str) -> dict[str, PricePoint]:
    return {s: PricePoint(D(v), "GBP") for s, v in values.items()}


def _plan(positions, cash, prices, targets, params=PARAMS):  # type: ignore[no-untyped-def]
    return plan_rebalance("U1234567", SESSION, positions, D(cash), prices, targets, params, "GBP")


def _apply(positions, cash, plan):  # type: ignore[no-untyped-def]
    positions = dict(positions)
    for order in plan.orders:
        positions[order.symbol] = positions.get(order.symbol, D(0)) + order.side.sign * order.quantity
        cash -= order.side.sign * order.value + order.estimated_commission
    return {s: q for s, q in positions.items() if q}, cash


def test_empty_account_buys_the_targets_in_whole_shares_leaving_the_buffer() -> None:
    plan = _plan({}, "100000", _prices(A="50", B="33.3", C="120"), {"A": THIRD, "B": THIRD, "C": THIRD})
    assert [(o.symbol, o.side, o.quantity) for o in plan.orders] == [
        ("A", Side.BUY, D(660)), ("B", Side.BUY, D(989)), ("C", Side.BUY, D(275))]  # 990 B would eat the buffer
    assert all(o.reason == "entry" for o in plan.orders)
    assert plan.cash_after >= PARAMS.cash_buffer * plan.nav
    assert plan.plan_id == "tr-U1234567-20260302"
    assert plan.orders[0].order_ref == "tr-U1234567-20260302-A-B"


def test_exits_are_sold_before_entries_are_bought() -> None:
    plan = _plan({"A": D(100), "B": D(100)}, "0", _prices(A="100", B="100", C="50"), {"A": D("0.5"), "C": D("0.5")})
    sides = [(o.side, o.symbol, o.reason) for o in plan.orders]
    assert sides[-1] == (Side.BUY, "C", "entry") and (Side.SELL, "B", "exit") in sides
    assert [o.side for o in plan.orders].index(Side.BUY) == len(plan.orders) - 1
    assert plan.cash_after >= 0


def test_a_kept_name_inside_the_drift_band_is_not_traded() -> None:
    plan = _plan({"A": D(130)}, "26700", _prices(A="100"), {"A": THIRD})  # 32.7% against a goal of 33%
    assert plan.orders == ()
    far = _plan({"A": D(200)}, "19700", _prices(A="100"), {"A": THIRD})  # 50.4%
    assert [(o.side, o.quantity, o.reason) for o in far.orders] == [(Side.SELL, D(69), "rebalance")]


def test_small_buys_under_the_minimum_order_value_are_not_planned() -> None:
    plan = _plan({}, "250", _prices(A="10", B="10", C="10"), {"A": THIRD, "B": THIRD, "C": THIRD})
    assert plan.orders == ()
    assert any("min_order_value" in note for note in plan.notes)


def test_overweight_kept_names_are_trimmed_when_cash_cannot_fund_an_entry() -> None:
    positions = {"A": D(350), "B": D(350)}
    plan = _plan(positions, "3000", _prices(A="100", B="100", C="100"), {"A": THIRD, "B": THIRD, "C": THIRD})
    assert {(o.symbol, o.side) for o in plan.orders} == {("A", Side.SELL), ("B", Side.SELL), ("C", Side.BUY)}
    after, cash = _apply(positions, D(3000), plan)
    assert _plan(after, cash, _prices(A="100", B="100", C="100"), {"A": THIRD, "B": THIRD, "C": THIRD}).orders == ()


def test_a_trim_is_not_planned_when_the_buys_it_would_fund_are_dropped() -> None:
    # C is inside its band (166 against a goal of 165) but the entries cannot be funded, so C would
    # be trimmed to fund them; the entries are then under min_order_value. A trim sent alone lowers
    # nav and every goal by one share, so each rerun would sell another share of C.
    params = PlanParams(D("0.01"), D(0), D(1000), CommissionModel(D(0), D(1)))
    prices = _prices(A="1", B="1", C="1")
    targets = {"A": THIRD, "B": THIRD, "C": THIRD}
    plan = _plan({"C": D(166)}, "329", prices, targets, params)
    assert plan.orders == ()
    assert any("min_order_value" in note for note in plan.notes)


def test_missing_price_and_bad_weights_are_refused() -> None:
    with pytest.raises(PlanError, match="no positive planning price for B"):
        _plan({"B": D(1)}, "100", _prices(A="1"), {"A": D(1)})
    with pytest.raises(PlanError, match="sum to at most 1"):
        _plan({}, "100", _prices(A="1", B="1"), {"A": D("0.7"), "B": D("0.7")})


def test_fx_converts_to_the_account_currency_and_orders_keep_the_instrument_price() -> None:
    prices = {"A": PricePoint(D("100"), "USD", D("0.8"))}
    plan = plan_rebalance("U1", SESSION, {}, D(10000), prices, {"A": D(1)}, PARAMS, "GBP")
    order = plan.orders[0]
    assert (order.quantity, order.intended_price, order.currency) == (D(123), D(100), "USD")
    assert order.value == D("9840.0")


def test_order_refs_are_deterministic_short_and_ib_safe() -> None:
    plan_id = plan_id_for("DU1234567", SESSION)
    ref = order_ref_for(plan_id, "SXLK", Side.SELL)
    assert ref == "tr-DU1234567-20260302-SXLK-S" and len(ref) <= 40
    long_ref = order_ref_for(plan_id_for("An account/with spaces and more", SESSION), "A VERY LONG SYMBOL NAME", Side.BUY)
    assert len(long_ref) <= 40 and all(c.isalnum() or c in "-_." for c in long_ref)
    assert long_ref == order_ref_for(plan_id_for("An account/with spaces and more", SESSION), "A VERY LONG SYMBOL NAME",
                                     Side.BUY)


SYMBOLS = ["A", "B", "C", "D", "E"]


@st.composite
def portfolios(draw):  # type: ignore[no-untyped-def]
    prices = {s: D(draw(st.integers(100, 50_000))) / 100 for s in SYMBOLS}
    positions = {s: D(draw(st.integers(0, 3000))) for s in SYMBOLS if draw(st.booleans())}
    cash = D(draw(st.integers(50, 500_000)))
    chosen = draw(st.lists(st.sampled_from(SYMBOLS), min_size=0, max_size=3, unique=True))
    targets = {s: THIRD for s in chosen}
    band = D(draw(st.sampled_from(["0", "0.01", "0.02", "0.05"])))
    buffer = D(draw(st.sampled_from(["0", "0.01", "0.02"])))
    params = PlanParams(band, buffer, D(draw(st.sampled_from([0, 100, 1000]))),
                        CommissionModel(D(draw(st.sampled_from(["0", "0.0005", "0.001"]))), D(draw(st.sampled_from([0, 1, 3])))))
    return positions, cash, {s: PricePoint(p, "GBP") for s, p in prices.items()}, targets, params


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios())
def test_plan_properties(case) -> None:  # type: ignore[no-untyped-def]
    positions, cash, prices, targets, params = case
    plan = _plan(positions, cash, prices, targets, params)
    sides = [o.side for o in plan.orders]
    assert sides == sorted(sides, key=lambda s: s is Side.BUY), "sells precede buys"
    assert all(o.quantity == o.quantity.to_integral_value() and o.quantity > 0 for o in plan.orders)
    after, cash_after = _apply(positions, cash, plan)
    assert cash_after == plan.cash_after and cash_after >= 0, "no negative cash at planning prices"
    assert all(q >= 0 for q in after.values())
    skipped = {n.split(":")[0] for n in plan.notes if "below zero" in n}
    for symbol, quantity in after.items():
        if symbol not in skipped:
            weight = quantity * prices[symbol].price / plan.nav
            assert weight <= targets.get(symbol, D(0)) + params.drift_band, (symbol, weight)


# Once a counterexample: the exit of E costs 1 of commission, which lowered the next run's nav
# just enough to floor A's goal one share lower and push A's drift over the band. Goals are
# now sized on the nav the plan leaves (nav less its own commissions).
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios())
@example(({"A": D(1845), "E": D(900)}, D(2694), _prices(A="18.09", E="57.56"), {"A": THIRD},
          PlanParams(D("0.05"), D("0.01"), D(0), CommissionModel(D(0), D(1)))))
def test_planning_again_after_the_trades_yields_no_orders(case) -> None:  # type: ignore[no-untyped-def]
    positions, cash, prices, targets, params = case
    nav = cash + sum((q * prices[s].price for s, q in positions.items()), D(0))
    fine_grained = all(p.price <= nav * max(params.drift_band, D("0.01")) / 4 for p in prices.values())
    enough_cash = cash >= params.commission.minimum * len(positions)
    # whole shares must be finer than the band, and exits able to pay their commission
    assume(fine_grained and enough_cash and params.drift_band > 0)
    plan = _plan(positions, cash, prices, targets, params)
    after, cash_after = _apply(positions, cash, plan)
    again = _plan(after, cash_after, prices, targets, params)
    assert again.orders == (), (plan.orders, again.orders, again.notes)
