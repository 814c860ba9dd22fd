"""Pre-trade risk rules: pure functions over plain data, each returning a decision value.

Nothing here reads a clock, a file or the environment: the session flag, the closing-auction
cut-off, price ages (in sessions) and the kill-switch state come in as data. A refusal is a
value (``RuleResult`` with ``passed=False``) that the engine records in the ledger
(``risk.decided`` / ``order.denied``); nothing here raises for a denial.

Rule names are stable strings (they are written to the ledger):

``account``, ``daily_loss_limit``, ``session``, ``max_orders_per_run``, ``max_turnover``,
``kill_switch``, ``max_order_value``, ``price_collar``, ``stale_prices``, ``max_position_weight``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from trackrecord.domain import OrderRequest, OrderType, Side, TradingState

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's decision. ``order_ref`` is set for rules decided order by order.

    ``details`` holds ledger-safe values only (Decimal, str, int, bool, None).
    """

    rule: str
    passed: bool
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    order_ref: str | None = None

    def document(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "message": self.message,
                "details": dict(self.details), "order_ref": self.order_ref}


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits of ``risk:`` in trackrecord.yaml, as exact decimals."""

    max_position_weight: Decimal = Decimal("0.35")
    max_turnover: Decimal = Decimal("1.0")
    allow_initial_deployment: bool = True
    max_order_value: Decimal = Decimal(250000)
    max_orders_per_run: int = 20
    price_collar: Decimal = Decimal("0.10")
    max_price_age_sessions: int = 1
    daily_loss_limit: Decimal = Decimal("0.05")

    @classmethod
    def from_config(cls, risk: Any) -> "RiskLimits":
        """From a ``RiskConfig`` (read by attribute name; floats become exact via ``str``)."""
        return cls(
            max_position_weight=_decimal(risk.max_position_weight),
            max_turnover=_decimal(risk.max_turnover),
            allow_initial_deployment=bool(risk.allow_initial_deployment),
            max_order_value=_decimal(risk.max_order_value),
            max_orders_per_run=int(risk.max_orders_per_run),
            price_collar=_decimal(risk.price_collar),
            max_price_age_sessions=int(risk.max_price_age_sessions),
            daily_loss_limit=_decimal(risk.daily_loss_limit),
        )


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the rules need to know about the account and the market at decision time.

    Money is in the account's base currency unless stated; ``last_closes`` are in each
    instrument's own currency and ``fx_rates`` give units of base per unit of a currency.
    ``price_age_sessions`` counts sessions between a symbol's last close and ``session_date``
    (0 = today's close). ``moc_cutoff`` is the moment the closing auction stops taking
    orders on ``session_date`` (None: no MOC possible). ``previous_nav`` is the NAV of the
    last snapshot before the session, taken ``sessions_since_previous`` sessions earlier
    (1: the previous session), and ``flows_since_previous`` the external flows booked since
    (deposit > 0).
    """

    session_date: date
    decided_at: datetime
    is_session: bool
    trading_state: TradingState
    nav: Decimal
    cash: Decimal
    positions: Mapping[str, Decimal]
    last_closes: Mapping[str, Decimal]
    price_age_sessions: Mapping[str, int]
    base_currency: str = "GBP"
    fx_rates: Mapping[str, Decimal] = field(default_factory=dict)
    moc_cutoff: datetime | None = None
    previous_nav: Decimal | None = None
    flows_since_previous: Decimal = ZERO
    connected_account: str | None = None
    configured_account: str | None = None
    previous_session: date | None = None
    sessions_since_previous: int | None = None

    @property
    def is_initial_deployment(self) -> bool:
        """No position held yet: the first deployment from cash."""
        return all(quantity == 0 for quantity in self.positions.values())

    def position(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, ZERO)

    def to_base(self, amount: Decimal, currency: str) -> Decimal | None:
        if currency == self.base_currency:
            return amount
        rate = self.fx_rates.get(currency)
        return None if rate is None else amount * rate

    def reference_price(self, order: OrderRequest) -> Decimal:
        return self.last_closes.get(order.symbol) or order.intended_price


@dataclass(frozen=True, slots=True)
class PlanDecision:
    """All results of ``check_plan``. A plan is approved only when every rule passed:
    a rotation half-sent (sold but not bought) is worse than one not sent at all.
    ``halt`` asks the caller to switch the kill switch to HALTED (daily loss limit)."""

    results: tuple[RuleResult, ...]
    approved: bool
    halt: bool = False

    @property
    def denials(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    @property
    def verdict(self) -> str:
        return "approved" if self.approved else "denied"

    def document(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "approved": self.approved, "halt": self.halt,
                "results": [result.document() for result in self.results]}


# ---------------------------------------------------------------------------------------
# Formatting: "Order value £12,400 for SXLK exceeds risk.max_order_value £10,000"

_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥"}



def format_money(amount: Decimal, currency: str) -> str:
    rounded = amount.quantize(ONE) if amount == amount.to_integral_value() else amount.quantize(CENT)
    text = f"{abs(rounded):,}"
    sign = "-" if rounded < 0 else ""
    symbol = _SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency.upper()}"


def format_percent(fraction: Decimal) -> str:
    return f"{(fraction * HUNDRED).quantize(CENT).normalize():f}%"


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _signed(order: OrderRequest) -> Decimal:
    return order.quantity if order.side is Side.BUY else -order.quantity


def _pass(rule: str, message: str, order_ref: str | None = None, **details: Any) -> RuleResult:
    return RuleResult(rule, True, message, details, order_ref)


def _deny(rule: str, message: str, order_ref: str | None = None, **details: Any) -> RuleResult:
    return RuleResult(rule, False, message, details, order_ref)


# ---------------------------------------------------------------------------------------
# Order-by-order rules


def is_reducing(order: OrderRequest, position_quantity: Decimal) -> bool:
    """Whether the order only shrinks the position towards zero (never through it)."""
    after = position_quantity + _signed(order)
    return abs(after) < abs(position_quantity) and (after == 0 or (after > 0) == (position_quantity > 0))


def check_order_now(state: TradingState, order: OrderRequest, position_quantity: Decimal) -> RuleResult:
    """The kill-switch check made immediately before an order is sent.

    HALTED refuses every order; REDUCING allows only orders that shrink the position.
    """
    if state is TradingState.HALTED:
        return _deny("kill_switch", f"Kill switch is HALTED: order {order.order_ref} "
                     f"({order.side.value} {order.quantity} {order.symbol}) is refused",
                     order.order_ref, state=state.value)
    if state is TradingState.REDUCING and not is_reducing(order, position_quantity):
        return _deny("kill_switch", f"Kill switch is REDUCING (reduce-only): {order.side.value} {order.quantity} "
                     f"{order.symbol} would not shrink the position of {position_quantity}",
                     order.order_ref, state=state.value, position=position_quantity)
    return _pass("kill_switch", f"Kill switch is {state.value}", order.order_ref, state=state.value)


def check_kill_switch(order: OrderRequest, context: RiskContext, limits: RiskLimits) -> RuleResult:
    return check_order_now(context.trading_state, order, context.position(order.symbol))


def check_max_order_value(order: OrderRequest, context: RiskContext, limits: RiskLimits) -> RuleResult:
    value = context.to_base(order.quantity * context.reference_price(order), order.currency)
    if value is None:
        return _deny("max_order_value", f"No FX rate for {order.currency} to value the order for {order.symbol}",
                     order.order_ref, currency=order.currency)
    limit = format_money(limits.max_order_value, context.base_currency)
    shown = format_money(value, context.base_currency)
    if value > limits.max_order_value:
        return _deny("max_order_value", f"Order value {shown} for {order.symbol} exceeds risk.max_order_value {limit}",
                     order.order_ref, value=value, limit=limits.max_order_value)
    return _pass("max_order_value", f"Order value {shown} for {order.symbol} is within {limit}",
                 order.order_ref, value=value, limit=limits.max_order_value)


def check_price_collar(order: OrderRequest, context: RiskContext, limits: RiskLimits) -> RuleResult:
    close = context.last_closes.get(order.symbol)
    if close is None or close <= 0:
        return _deny("price_collar", f"No last close for {order.symbol} to check the price of order {order.order_ref} "
                     "against", order.order_ref)
    worst = max((p for p in (order.intended_price, order.limit_price) if p is not None),
                key=lambda price: abs(price / close - ONE))
    deviation = abs(worst / close - ONE)
    details = {"reference_price": worst, "last_close": close, "deviation": deviation, "limit": limits.price_collar}
    if deviation > limits.price_collar:
        return _deny("price_collar", f"Price {worst} for {order.symbol} is {format_percent(deviation)} from the last "
                     f"close {close}, beyond risk.price_collar {format_percent(limits.price_collar)}",
                     order.order_ref, **details)
    return _pass("price_collar", f"Price {worst} for {order.symbol} is {format_percent(deviation)} from the last close",
                 order.order_ref, **details)


def check_stale_prices(order: OrderRequest, context: RiskContext, limits: RiskLimits) -> RuleResult:
    age = context.price_age_sessions.get(order.symbol)
    if age is None:
        return _deny("stale_prices", f"No price for {order.symbol}: order {order.order_ref} cannot be checked",
                     order.order_ref)
    if age > limits.max_price_age_sessions:
        return _deny("stale_prices", f"Last price for {order.symbol} is {age} sessions old, older than "
                     f"risk.max_price_age_sessions {limits.max_price_age_sessions}; update prices first",
                     order.order_ref, age_sessions=age, limit=limits.max_price_age_sessions)
    return _pass("stale_prices", f"Last price for {order.symbol} is {age} sessions old", order.order_ref,
                 age_sessions=age, limit=limits.max_price_age_sessions)


def check_moc_cutoff(order: OrderRequest, context: RiskContext, limits: RiskLimits) -> RuleResult:
    if order.order_type is not OrderType.MARKET_ON_CLOSE:
        return _pass("session", f"{order.order_type.value} order needs no closing-auction cut-off", order.order_ref)
    if context.moc_cutoff is None:
        return _deny("session", f"No closing auction on {context.session_date}: MOC order for {order.symbol} refused",
                     order.order_ref)
    if context.decided_at >= context.moc_cutoff:
        return _deny("session", f"MOC order for {order.symbol} at {context.decided_at.isoformat()} is past the "
                     f"closing-auction cut-off {context.moc_cutoff.isoformat()}", order.order_ref,
                     cutoff=context.moc_cutoff, decided_at=context.decided_at)
    return _pass("session", f"MOC order for {order.symbol} is before the cut-off {context.moc_cutoff.isoformat()}",
                 order.order_ref, cutoff=context.moc_cutoff)


OrderRule = Callable[[OrderRequest, RiskContext, RiskLimits], RuleResult]
ORDER_RULES: tuple[OrderRule, ...] = (
    check_kill_switch, check_max_order_value, check_price_collar, check_stale_prices, check_moc_cutoff,
)


# ---------------------------------------------------------------------------------------
# Plan-level rules


def check_account(context: RiskContext) -> RuleResult:
    configured, connected = context.configured_account, context.connected_account
    if configured is None:
        return _pass("account", f"No account configured (account.account_id): connected to {connected}",
                     connected=connected)
    if connected != configured:
        return _deny("account", f"Connected account {connected} is not the configured account.account_id "
                     f"{configured}: nothing is sent", connected=connected, configured=configured)
    return _pass("account", f"Connected account {connected} is the configured one", connected=connected)


def check_session(context: RiskContext) -> RuleResult:
    if not context.is_session:
        return _deny("session", f"{context.session_date} is not a trading session: no orders",
                     session_date=context.session_date)
    return _pass("session", f"{context.session_date} is a trading session", session_date=context.session_date)


def loss_limit_over(sessions: int, daily_limit: Decimal) -> Decimal:
    """The loss limit over a gap of ``sessions`` sessions: the daily limit scaled with the
    square root of time (``limit × √k``, as volatility scales), so a month between two
    snapshots is not held to one day's limit."""
    return daily_limit if sessions <= 1 else daily_limit * Decimal(sessions).sqrt()


def check_daily_loss(context: RiskContext, limits: RiskLimits) -> RuleResult:
    """NAV change since the last snapshot, net of external flows:
    ``(nav − flows − previous_nav) / previous_nav``; a loss beyond the limit halts trading.

    The limit is a one-session limit. When the last snapshot is older than the previous
    session, the decision says so and uses the limit scaled to the gap
    (:func:`loss_limit_over`)."""
    previous = context.previous_nav
    if previous is None or previous <= 0:
        return _pass("daily_loss_limit", "No previous snapshot to compare NAV with")
    change = (context.nav - context.flows_since_previous - previous) / previous
    gap = context.sessions_since_previous or 1
    limit = loss_limit_over(gap, limits.daily_loss_limit)
    since = "the last snapshot" if context.previous_session is None else f"the last snapshot ({context.previous_session})"
    scaled = "" if gap <= 1 else (f"; the last snapshot is {gap} sessions old, so the limit is scaled to the gap: "
                                  f"{format_percent(limit)} (risk.daily_loss_limit × √{gap})")
    details = {"nav": context.nav, "previous_nav": previous, "change": change, "limit": limit,
               "daily_limit": limits.daily_loss_limit, "gap_sessions": gap}
    if -change > limit:
        return _deny("daily_loss_limit", f"NAV {format_money(context.nav, context.base_currency)} is down "
                     f"{format_percent(-change)} since {since} "
                     f"({format_money(previous, context.base_currency)}), beyond "
                     f"{'risk.daily_loss_limit ' if gap <= 1 else ''}{format_percent(limit)}{scaled}: trading halts",
                     halt=True, **details)
    return _pass("daily_loss_limit", f"NAV change since {since} is {format_percent(change)}{scaled}", **details)


def check_max_orders(orders: Sequence[OrderRequest], limits: RiskLimits) -> RuleResult:
    if len(orders) > limits.max_orders_per_run:
        return _deny("max_orders_per_run", f"Plan has {len(orders)} orders, more than risk.max_orders_per_run "
                     f"{limits.max_orders_per_run}", orders=len(orders), limit=limits.max_orders_per_run)
    return _pass("max_orders_per_run", f"Plan has {len(orders)} orders", orders=len(orders),
                 limit=limits.max_orders_per_run)


def turnover(orders: Sequence[OrderRequest], context: RiskContext) -> Decimal | None:
    """One-sided turnover: the larger of bought and sold value over NAV (a complete
    rotation of the book is 1.0). None when an order cannot be valued in base currency."""
    bought = sold = ZERO
    for order in orders:
        value = context.to_base(order.quantity * context.reference_price(order), order.currency)
        if value is None:
            return None
        if order.side is Side.BUY:
            bought += value
        else:
            sold += value
    return max(bought, sold) / context.nav if context.nav > 0 else None


def check_turnover(orders: Sequence[OrderRequest], context: RiskContext, limits: RiskLimits) -> RuleResult:
    if not orders:
        return _pass("max_turnover", "No orders: no turnover", turnover=ZERO, limit=limits.max_turnover)
    value = turnover(orders, context)
    if value is None:
        return _deny("max_turnover", "Turnover cannot be computed (NAV is not positive or an FX rate is missing)")
    details = {"turnover": value, "limit": limits.max_turnover}
    if value <= limits.max_turnover:
        return _pass("max_turnover", f"Turnover {format_percent(value)} of NAV is within risk.max_turnover "
                     f"{format_percent(limits.max_turnover)}", **details)
    if context.is_initial_deployment and limits.allow_initial_deployment:
        return _pass("max_turnover", f"Turnover {format_percent(value)} of NAV is the first deployment from cash, "
                     "allowed by risk.allow_initial_deployment", initial_deployment=True, **details)
    return _deny("max_turnover", f"Turnover {format_percent(value)} of NAV exceeds risk.max_turnover "
                 f"{format_percent(limits.max_turnover)}", **details)


def check_position_weights(orders: Sequence[OrderRequest], context: RiskContext, limits: RiskLimits) -> list[RuleResult]:
    """Weight of each traded symbol after the plan, valued at its last close over NAV.
    Only an order that grows a position above the cap is denied; trimming one is not."""
    after: dict[str, Decimal] = {}
    for order in orders:
        after[order.symbol] = after.get(order.symbol, context.position(order.symbol)) + _signed(order)
    results: list[RuleResult] = []
    limit = format_percent(limits.max_position_weight)
    for order in orders:
        quantity = after[order.symbol]
        value = context.to_base(abs(quantity) * context.reference_price(order), order.currency)
        if value is None or context.nav <= 0:
            results.append(_deny("max_position_weight", f"Cannot weigh {order.symbol}: NAV is not positive or "
                                 f"no FX rate for {order.currency}", order.order_ref))
            continue
        weight = value / context.nav
        grows = abs(quantity) > abs(context.position(order.symbol))
        details = {"weight_after": weight, "limit": limits.max_position_weight, "quantity_after": quantity}
        if weight > limits.max_position_weight and grows:
            results.append(_deny("max_position_weight", f"{order.symbol} would weigh {format_percent(weight)} of NAV "
                                 f"after the plan, above risk.max_position_weight {limit}", order.order_ref, **details))
        else:
            results.append(_pass("max_position_weight", f"{order.symbol} weighs {format_percent(weight)} of NAV "
                                 f"after the plan (cap {limit})", order.order_ref, **details))
    return results


def check_plan(orders: Sequence[OrderRequest], context: RiskContext, limits: RiskLimits) -> PlanDecision:
    """Run every rule over a planned order list; approved only if all pass.

    Plan-level rules come first (account, session, daily loss, order count, turnover),
    then each order through the order rules and the position-weight rule.
    """
    results: list[RuleResult] = [
        check_account(context),
        check_session(context),
        check_daily_loss(context, limits),
        check_max_orders(orders, limits),
        check_turnover(orders, context, limits),
    ]
    for order in orders:
        results.extend(rule(order, context, limits) for rule in ORDER_RULES)
    results.extend(check_position_weights(orders, context, limits))
    halt = any(not r.passed and r.details.get("halt") for r in results)
    return PlanDecision(tuple(results), all(r.passed for r in results), halt)
