"""Each pre-trade rule passes and denies; check_plan's verdict; the first deployment."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import ROUND_FLOOR, Decimal

import pytest

from trackrecord.domain import OrderRequest, OrderType, Side, TradingState
from trackrecord.risk.rules import (
    RiskContext,
    RiskLimits,
    check_account,
    check_daily_loss,
    check_kill_switch,
    check_max_order_value,
    check_max_orders,
    check_moc_cutoff,
    check_order_now,
    check_plan,
    check_position_weights,
    check_price_collar,
    check_session,
    check_stale_prices,
    check_turnover,
    format_money,
    is_reducing,
)

SESSION = date(2024, 3, 1)
DECIDED = datetime(2024, 3, 1, 14, 0, tzinfo=timezone.utc)
CUTOFF = datetime(2024, 3, 1, 16, 20, tzinfo=timezone.utc)
SYMBOLS = ("SXLK", "SXLF", "SXLE")
LIMITS = RiskLimits()


def order(symbol: str = "SXLK", side: Side = Side.BUY, quantity: str = "100", price: str = "100",
          order_type: OrderType = OrderType.MARKET_ON_CLOSE, limit: str | None = None,
          currency: str = "GBP") -> OrderRequest:
    return OrderRequest(f"plan-1:{symbol}:{side.value}", "plan-1", symbol, side, Decimal(quantity), order_type,
                        Decimal(price), currency, None if limit is None else Decimal(limit))


def context(**changes) -> RiskContext:  # type: ignore[no-untyped-def]
    base = RiskContext(
        session_date=SESSION, decided_at=DECIDED, is_session=True, trading_state=TradingState.ACTIVE,
        nav=Decimal(100_000), cash=Decimal(100_000), positions={},
        last_closes={s: Decimal(100) for s in SYMBOLS}, price_age_sessions={s: 0 for s in SYMBOLS},
        moc_cutoff=CUTOFF, previous_nav=Decimal(100_000), connected_account="SIM0001",
        configured_account="SIM0001",
    )
    return replace(base, **changes)


def test_money_is_shown_like_a_person_writes_it() -> None:
    assert format_money(Decimal(12400), "GBP") == "£12,400"
    assert format_money(Decimal("10000.5"), "USD") == "$10,000.50"
    assert format_money(Decimal(-5), "CHF") == "-5 CHF"


def test_limits_come_from_the_config_as_exact_decimals() -> None:
    from trackrecord.config import RiskConfig

    limits = RiskLimits.from_config(RiskConfig())
    assert limits == LIMITS
    assert limits.max_position_weight == Decimal("0.35") and isinstance(limits.price_collar, Decimal)


# -- kill switch --------------------------------------------------------------------------


def test_halted_refuses_every_order_even_a_sale() -> None:
    result = check_order_now(TradingState.HALTED, order(side=Side.SELL), Decimal(500))
    assert not result.passed and result.rule == "kill_switch" and "HALTED" in result.message


def test_reducing_allows_only_orders_that_shrink_a_position() -> None:
    assert check_order_now(TradingState.REDUCING, order(side=Side.SELL, quantity="100"), Decimal(300)).passed
    assert check_order_now(TradingState.REDUCING, order(side=Side.SELL, quantity="300"), Decimal(300)).passed
    assert not check_order_now(TradingState.REDUCING, order(side=Side.BUY), Decimal(300)).passed
    assert not check_order_now(TradingState.REDUCING, order(side=Side.SELL, quantity="400"), Decimal(300)).passed
    assert not check_order_now(TradingState.REDUCING, order(side=Side.SELL), Decimal(0)).passed


def test_active_allows_orders() -> None:
    assert check_kill_switch(order(), context(), LIMITS).passed


@pytest.mark.parametrize(("position", "side", "quantity", "expected"), [
    ("100", Side.SELL, "40", True), ("100", Side.SELL, "100", True), ("100", Side.SELL, "101", False),
    ("-100", Side.BUY, "50", True), ("-100", Side.SELL, "1", False), ("0", Side.BUY, "1", False),
])
def test_reducing_means_towards_zero_never_through_it(position: str, side: Side, quantity: str, expected: bool) -> None:
    assert is_reducing(order(side=side, quantity=quantity), Decimal(position)) is expected


# -- order rules --------------------------------------------------------------------------


def test_max_order_value_names_the_symbol_the_value_and_the_limit() -> None:
    limits = replace(LIMITS, max_order_value=Decimal(10_000))
    denied = check_max_order_value(order(quantity="124"), context(), limits)
    assert not denied.passed
    assert denied.message == "Order value £12,400 for SXLK exceeds risk.max_order_value £10,000"
    assert check_max_order_value(order(quantity="100"), context(), limits).passed


def test_max_order_value_converts_other_currencies() -> None:
    limits = replace(LIMITS, max_order_value=Decimal(10_000))
    usd = order(quantity="110", currency="USD")
    assert check_max_order_value(usd, context(fx_rates={"USD": Decimal("0.8")}), limits).passed  # £8,800
    assert not check_max_order_value(usd, context(), limits).passed  # no rate: refused, not guessed


def test_price_collar_refuses_a_fat_finger() -> None:
    assert check_price_collar(order(price="109"), context(), LIMITS).passed
    denied = check_price_collar(order(price="1000"), context(), LIMITS)  # pence typed as pounds
    assert not denied.passed and "risk.price_collar 10%" in denied.message
    assert not check_price_collar(order(order_type=OrderType.LIMIT, limit="80"), context(), LIMITS).passed
    assert not check_price_collar(order(symbol="SXLU"), context(), LIMITS).passed  # no close to compare


def test_stale_prices_are_refused() -> None:
    assert check_stale_prices(order(), context(price_age_sessions={"SXLK": 1}), LIMITS).passed
    denied = check_stale_prices(order(), context(price_age_sessions={"SXLK": 3}), LIMITS)
    assert not denied.passed and "3 sessions old" in denied.message
    assert not check_stale_prices(order(), context(price_age_sessions={}), LIMITS).passed


def test_moc_only_before_the_closing_auction_cutoff() -> None:
    assert check_moc_cutoff(order(), context(), LIMITS).passed
    assert not check_moc_cutoff(order(), context(decided_at=CUTOFF), LIMITS).passed
    assert not check_moc_cutoff(order(), context(moc_cutoff=None), LIMITS).passed
    assert check_moc_cutoff(order(order_type=OrderType.MARKET), context(decided_at=CUTOFF), LIMITS).passed


def test_position_weight_after_the_plan() -> None:
    assert all(r.passed for r in check_position_weights([order(quantity="350")], context(), LIMITS))
    (denied,) = check_position_weights([order(quantity="351")], context(), LIMITS)
    assert not denied.passed and "above risk.max_position_weight 35%" in denied.message


def test_trimming_an_overweight_position_is_not_denied() -> None:
    held = context(positions={"SXLK": Decimal(450)})
    (result,) = check_position_weights([order(side=Side.SELL, quantity="50")], held, LIMITS)
    assert result.passed
    (grow,) = check_position_weights([order(quantity="1")], held, LIMITS)
    assert not grow.passed


# -- plan rules ---------------------------------------------------------------------------


def test_account_must_be_the_configured_one() -> None:
    assert check_account(context()).passed
    assert check_account(context(configured_account=None)).passed
    denied = check_account(context(connected_account="U999"))
    assert not denied.passed and "U999" in denied.message and "SIM0001" in denied.message


def test_no_orders_on_a_non_session() -> None:
    assert check_session(context()).passed
    assert not check_session(context(is_session=False)).passed


def test_daily_loss_limit_halts_and_flows_are_not_losses() -> None:
    assert check_daily_loss(context(nav=Decimal(96_000)), LIMITS).passed
    denied = check_daily_loss(context(nav=Decimal(94_000)), LIMITS)
    assert not denied.passed and denied.details["halt"] is True and "6%" in denied.message
    withdrawn = context(nav=Decimal(80_000), flows_since_previous=Decimal(-20_000))
    assert check_daily_loss(withdrawn, LIMITS).passed
    assert check_daily_loss(context(previous_nav=None), LIMITS).passed


def test_max_orders_per_run() -> None:
    limits = replace(LIMITS, max_orders_per_run=2)
    assert check_max_orders([order(), order()], limits).passed
    assert not check_max_orders([order(), order(), order()], limits).passed


def test_turnover_is_one_sided_so_a_full_rotation_fits() -> None:
    held = context(positions={"SXLK": Decimal(330), "SXLF": Decimal(330), "SXLE": Decimal(330)})
    rotation = [order(s, Side.SELL, "330") for s in SYMBOLS] + [order(s, Side.BUY, "330") for s in ("SXLV", "SXLY", "SXLP")]
    closes = {s: Decimal(100) for s in SYMBOLS + ("SXLV", "SXLY", "SXLP")}
    assert check_turnover(rotation, replace(held, last_closes=closes), LIMITS).passed
    tight = replace(LIMITS, max_turnover=Decimal("0.5"))
    denied = check_turnover(rotation, replace(held, last_closes=closes), tight)
    assert not denied.passed and "exceeds risk.max_turnover 50%" in denied.message


def test_first_deployment_from_cash_is_allowed_explicitly() -> None:
    deploy = [order(s, quantity="330") for s in SYMBOLS]
    tight = replace(LIMITS, max_turnover=Decimal("0.5"))
    allowed = check_turnover(deploy, context(), tight)
    assert allowed.passed and allowed.details["initial_deployment"] is True
    assert not check_turnover(deploy, context(), replace(tight, allow_initial_deployment=False)).passed
    held = context(positions={"SXLV": Decimal(1)})
    assert not check_turnover(deploy, held, tight).passed


# -- check_plan ---------------------------------------------------------------------------


def default_first_deployment(capital: Decimal = Decimal(100_000), cash_buffer: Decimal = Decimal("0.01"),
                             prices: tuple[str, ...] = ("87.43", "41.05", "95.60")) -> tuple[list[OrderRequest], RiskContext]:
    """The default strategy's first rebalance: top 3 names at one third each of NAV less the buffer."""
    closes = {s: Decimal(p) for s, p in zip(SYMBOLS, prices)}
    per_name = capital * (1 - cash_buffer) / 3
    orders = [order(s, quantity=str((per_name / closes[s]).to_integral_value(ROUND_FLOOR)), price=str(closes[s]))
              for s in SYMBOLS]
    return orders, context(nav=capital, cash=capital, last_closes=closes, previous_nav=capital)


def test_the_default_strategys_first_deployment_passes_the_default_rules() -> None:
    from trackrecord.config import Settings

    settings = Settings()
    orders, ctx = default_first_deployment(cash_buffer=Decimal(str(settings.strategy.cash_buffer)))
    decision = check_plan(orders, ctx, RiskLimits.from_config(settings.risk))
    assert decision.approved, [d.message for d in decision.denials]
    assert decision.verdict == "approved" and not decision.halt
    assert {r.rule for r in decision.results} == {
        "account", "session", "daily_loss_limit", "max_orders_per_run", "max_turnover", "kill_switch",
        "max_order_value", "price_collar", "stale_prices", "max_position_weight"}


def test_one_denial_denies_the_whole_plan_and_names_the_order() -> None:
    orders, ctx = default_first_deployment()
    stale = replace(ctx, price_age_sessions={**ctx.price_age_sessions, "SXLF": 4})
    decision = check_plan(orders, stale, LIMITS)
    assert not decision.approved and decision.verdict == "denied"
    (denial,) = decision.denials
    assert denial.rule == "stale_prices" and denial.order_ref == "plan-1:SXLF:BUY"


def test_a_halted_kill_switch_denies_every_order_of_the_plan() -> None:
    orders, ctx = default_first_deployment()
    decision = check_plan(orders, replace(ctx, trading_state=TradingState.HALTED), LIMITS)
    assert [d.order_ref for d in decision.denials if d.rule == "kill_switch"] == [o.order_ref for o in orders]


def test_the_daily_loss_limit_asks_for_a_halt() -> None:
    orders, ctx = default_first_deployment()
    decision = check_plan(orders, replace(ctx, previous_nav=Decimal(120_000)), LIMITS)
    assert not decision.approved and decision.halt


def test_decisions_are_ledger_safe() -> None:
    from trackrecord.ledger.canonical import canonical_json

    orders, ctx = default_first_deployment()
    decision = check_plan(orders, replace(ctx, decided_at=CUTOFF), LIMITS)
    text = canonical_json(decision.document())
    assert '"verdict":"denied"' in text and "past the closing-auction cut-off" in text
