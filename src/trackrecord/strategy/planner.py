"""The rebalance planner: from a portfolio and target weights to a list of whole-share orders.

Pure: positions, cash, prices and targets come in as arguments; money is Decimal.

Rules, in order:

1. Value the account at the planning prices (``PricePoint``: price in the instrument's
   currency times ``fx_rate`` = account currency per unit): ``nav = cash + sum(qty * price)``.
2. A position's goal is ``target_weight * (1 - cash_buffer) * nav`` in whole shares (floor),
   so a filled plan leaves the buffer in cash.
3. Exits (held, no target) sell everything and entries (target, not held) buy, whatever the
   drift. A kept name trades only when ``|quantity - goal| * price / nav_after > drift_band``,
   goal and weight measured on ``nav_after``: the nav less the plan's own estimated
   commissions (found in a few passes), which is the nav the next run sees. So planning
   again right after the trades tests each band as this plan did (once, the exit of a
   name cost 1 of commission, floored a kept name's goal a share lower on the next run and
   pushed its drift over the band).
4. Sells come first. Buys spend at most ``cash + sell proceeds - commissions -
   cash_buffer * nav``. When that is not enough, kept names above their goal are trimmed to
   it first (only if a buy survives to use the proceeds: a trim never goes out alone); then
   buys are scaled down pro rata. A buy under ``min_order_value`` is dropped
   (sells never are: they bring a position back inside its band).
5. Commissions are estimated per order as ``max(minimum, rate * value)``; a sell whose
   commission would take cash below zero is not planned (a position worth less than its
   commission).

The plan id is deterministic from (account, session date) and each order's reference from
(plan id, symbol, side), so a restarted run recognises what it already sent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Mapping

from trackrecord.domain import OrderType, Side

ZERO = Decimal(0)
MAX_REF_LENGTH = 40
MAX_SIZING_PASSES = 4


@dataclass(frozen=True, slots=True)
class CommissionModel:
    """Estimated commission per order: ``max(minimum, rate * value)``, in account currency."""

    rate: Decimal = Decimal("0.0005")
    minimum: Decimal = Decimal("3")

    def estimate(self, value: Decimal) -> Decimal:
        return max(self.minimum, self.rate * abs(value)) if value else ZERO


@dataclass(frozen=True, slots=True)
class PlanParams:
    drift_band: Decimal = Decimal("0.02")
    cash_buffer: Decimal = Decimal("0.01")
    min_order_value: Decimal = Decimal("100")
    commission: CommissionModel = field(default_factory=CommissionModel)
    order_type: OrderType = OrderType.MARKET_ON_CLOSE

    def document(self) -> dict[str, object]:
        return {
            "drift_band": self.drift_band, "cash_buffer": self.cash_buffer, "min_order_value": self.min_order_value,
            "commission_rate": self.commission.rate, "commission_min": self.commission.minimum,
            "order_type": self.order_type.value,
        }


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A planning price in the instrument's currency; ``fx_rate`` converts to the account's."""

    price: Decimal
    currency: str
    fx_rate: Decimal = Decimal(1)

    @property
    def in_account_currency(self) -> Decimal:
        return self.price * self.fx_rate


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    order_ref: str
    symbol: str
    side: Side
    quantity: Decimal
    intended_price: Decimal
    currency: str
    value: Decimal
    estimated_commission: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class PlanLine:
    """Current versus target for one symbol (weights are fractions of nav)."""

    symbol: str
    quantity: Decimal
    price: Decimal
    weight: Decimal
    target_weight: Decimal
    goal_quantity: Decimal
    planned_quantity: Decimal
    action: str


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: str
    account_id: str
    session_date: date
    currency: str
    nav: Decimal
    cash: Decimal
    cash_after: Decimal
    lines: tuple[PlanLine, ...]
    orders: tuple[PlannedOrder, ...]
    notes: tuple[str, ...]
    params: PlanParams


class PlanError(ValueError):
    """The inputs cannot be planned (a position or target without a price, a bad weight)."""


def plan_id_for(account_id: str, session_date: date) -> str:
    """``tr-<account>-<YYYYMMDD>``; a long account id is replaced by a short hash of it."""
    return f"{plan_prefix_for(account_id)}{session_date:%Y%m%d}"


def plan_session(plan_id: str) -> date:
    """The session a plan id names (its last eight characters, ``YYYYMMDD``)."""
    return date(int(plan_id[-8:-4]), int(plan_id[-4:-2]), int(plan_id[-2:]))


def plan_prefix_for(account_id: str) -> str:
    """What every plan id of ``account_id`` starts with: ``tr-<account>-``."""
    account = _ref_safe(account_id) or "none"
    if len(account) > 16:
        account = hashlib.sha256(account_id.encode()).hexdigest()[:10]
    return f"tr-{account}-"


def order_ref_for(plan_id: str, symbol: str, side: Side) -> str:
    """``<plan id>-<SYMBOL>-<B|S>``, at most 40 characters of ``[A-Za-z0-9._-]`` (IB orderRef-safe)."""
    suffix = "B" if side is Side.BUY else "S"
    name = _ref_safe(symbol)
    room = MAX_REF_LENGTH - len(plan_id) - 4
    if len(name) > room:
        name = name[: max(room - 5, 1)] + hashlib.sha256(symbol.encode()).hexdigest()[:4]
    return f"{plan_id}-{name}-{suffix}"


def plan_rebalance(
    account_id: str,
    session_date: date,
    positions: Mapping[str, Decimal],
    cash: Decimal,
    prices: Mapping[str, PricePoint],
    target_weights: Mapping[str, Decimal],
    params: PlanParams,
    currency: str,
) -> Plan:
    """The trade list taking ``positions`` (symbol -> shares) and ``cash`` to ``target_weights``."""
    held = {s: Decimal(q) for s, q in positions.items() if q}
    targets = {s: Decimal(w) for s, w in target_weights.items() if w}
    _check_inputs(held, prices, targets)
    unit = {s: prices[s].in_account_currency for s in {*held, *targets}}
    nav = cash + sum((q * unit[s] for s, q in held.items()), ZERO)
    if nav <= 0:
        raise PlanError(f"the account is worth {nav} {currency}: nothing to plan")
    sized = _size(held, targets, unit, cash, nav, nav, params)
    for _ in range(MAX_SIZING_PASSES):  # the band is tested on the nav the plan leaves
        after_costs = nav - _commissions(sized.sizes, unit, params)
        if after_costs == sized.band_nav or after_costs <= 0:
            break
        sized = _size(held, targets, unit, cash, nav, after_costs, params)
    goals, actions, sizes, notes = sized.goals, sized.actions, sized.sizes, sized.notes
    plan_id = plan_id_for(account_id, session_date)
    orders, cash_after = _orders(plan_id, sizes, actions, prices, unit, cash, params, notes)
    planned = {o.symbol: o.quantity * o.side.sign for o in orders}
    lines = tuple(
        PlanLine(s, held.get(s, ZERO), prices[s].price, held.get(s, ZERO) * unit[s] / nav, targets.get(s, ZERO),
                 goals[s], planned.get(s, ZERO), actions[s] if planned.get(s) else "hold")
        for s in sorted(unit)
    )
    return Plan(plan_id, account_id, session_date, currency, nav, cash, cash_after, lines, tuple(orders),
                tuple(notes), params)


@dataclass(frozen=True, slots=True)
class _Sizing:
    band_nav: Decimal
    goals: dict[str, Decimal]
    actions: dict[str, str]
    sizes: dict[str, Decimal]
    notes: list[str]


def _size(held: Mapping[str, Decimal], targets: Mapping[str, Decimal], unit: Mapping[str, Decimal], cash: Decimal,
          nav: Decimal, band_nav: Decimal, params: PlanParams) -> _Sizing:
    """Goals (on ``nav``), actions (the drift band tested on ``band_nav``) and fitted sizes."""
    goals = _goals(targets, unit, nav, params)
    band_goals = goals if band_nav == nav else _goals(targets, unit, band_nav, params)
    actions = {s: _action(s, held, targets, band_goals, unit, band_nav, params) for s in sorted(unit)}
    sizes = {s: goals[s] - held.get(s, ZERO) if a != "hold" else ZERO for s, a in actions.items()}
    budget = _buy_budget(sizes, held, cash, unit, nav, params)
    notes: list[str] = []
    trims = {s: goals[s] - held.get(s, ZERO) for s, a in actions.items()
             if a == "hold" and held.get(s, ZERO) > goals[s]}
    if trims and budget < _buy_cost(sizes, unit, params):
        # Trims exist only to fund buys: if no buy survives the fit (cash, min_order_value), a trim
        # would go out alone, shrink nav, lower every goal and be planned again on the next run.
        trimmed = {**sizes, **trims}
        trim_notes: list[str] = []
        fitted = _fit_buys(trimmed, _buy_budget(trimmed, held, cash, unit, nav, params), unit, params, trim_notes)
        if any(size > 0 for size in fitted.values()):
            actions.update(dict.fromkeys(trims, "trim"))
            return _Sizing(band_nav, goals, actions, fitted, trim_notes)
    return _Sizing(band_nav, goals, actions, _fit_buys(sizes, budget, unit, params, notes), notes)


def _goals(targets: Mapping[str, Decimal], unit: Mapping[str, Decimal], nav: Decimal,
           params: PlanParams) -> dict[str, Decimal]:
    return {s: _whole(targets.get(s, ZERO) * (1 - params.cash_buffer) * nav / unit[s]) for s in unit}


def _commissions(sizes: Mapping[str, Decimal], unit: Mapping[str, Decimal], params: PlanParams) -> Decimal:
    return sum((params.commission.estimate(abs(size) * unit[s]) for s, size in sizes.items() if size), ZERO)


def _check_inputs(held: Mapping[str, Decimal], prices: Mapping[str, PricePoint],
                  targets: Mapping[str, Decimal]) -> None:
    for symbol in sorted({*held, *targets}):
        point = prices.get(symbol)
        if point is None or not point.in_account_currency > 0:
            raise PlanError(f"no positive planning price for {symbol}")
    for symbol, quantity in held.items():
        if quantity != quantity.to_integral_value() or quantity < 0:
            raise PlanError(f"position {symbol} {quantity}: only whole, long positions can be planned")
    if any(w < 0 for w in targets.values()) or sum(targets.values(), ZERO) > Decimal("1.000001"):
        raise PlanError("target weights must be non-negative and sum to at most 1")


def _whole(shares: Decimal) -> Decimal:
    """Floor to whole shares, forgiving the last digits of a weight such as 1/3 = 0.3333333333333333."""
    return shares.quantize(Decimal("0.000001")).to_integral_value(rounding=ROUND_FLOOR)


def _action(symbol: str, held: Mapping[str, Decimal], targets: Mapping[str, Decimal], goals: Mapping[str, Decimal],
            unit: Mapping[str, Decimal], nav: Decimal, params: PlanParams) -> str:
    quantity = held.get(symbol, ZERO)
    if symbol not in targets:
        return "exit" if quantity else "hold"
    if not quantity:
        return "entry" if goals[symbol] > 0 else "hold"
    drift = abs(quantity - goals[symbol]) * unit[symbol] / nav
    return "rebalance" if drift > params.drift_band and goals[symbol] != quantity else "hold"


def _buy_budget(sizes: Mapping[str, Decimal], held: Mapping[str, Decimal], cash: Decimal,
                unit: Mapping[str, Decimal], nav: Decimal, params: PlanParams) -> Decimal:
    proceeds = ZERO
    for symbol, size in sizes.items():
        if size < 0:
            value = -size * unit[symbol]
            proceeds += value - params.commission.estimate(value)
    return cash + proceeds - params.cash_buffer * nav


def _buy_cost(sizes: Mapping[str, Decimal], unit: Mapping[str, Decimal], params: PlanParams) -> Decimal:
    values = [size * unit[s] for s, size in sizes.items() if size > 0]
    return sum((v + params.commission.estimate(v) for v in values), ZERO)


def _fit_buys(sizes: dict[str, Decimal], budget: Decimal, unit: Mapping[str, Decimal], params: PlanParams,
              notes: list[str]) -> dict[str, Decimal]:
    buys = sorted(s for s, size in sizes.items() if size > 0)
    cost = _buy_cost(sizes, unit, params)
    if buys and cost > budget:
        desired = dict(sizes)
        scale = max(budget, ZERO) / cost
        notes.append(f"buys scaled to {scale:.4f} of their size to stay within cash after the buffer")
        for s in buys:
            sizes[s] = _whole(sizes[s] * scale)
        while _buy_cost(sizes, unit, params) > budget and any(sizes[s] > 0 for s in buys):
            largest = max((s for s in buys if sizes[s] > 0), key=lambda s: (sizes[s] * unit[s], s))
            sizes[largest] -= 1
        _top_up(sizes, desired, buys, budget, unit, params)
    for s in buys:
        if 0 < sizes[s] * unit[s] < params.min_order_value:
            notes.append(f"{s}: buy of {sizes[s]} shares under min_order_value {params.min_order_value}: not planned")
            sizes[s] = ZERO
    return sizes


def _top_up(sizes: dict[str, Decimal], desired: Mapping[str, Decimal], buys: list[str], budget: Decimal,
            unit: Mapping[str, Decimal], params: PlanParams) -> None:
    """Give back whole shares lost to flooring, largest shortfall first, while cash allows."""
    added = True
    while added:
        added = False
        for s in sorted(buys, key=lambda s: (-(desired[s] - sizes[s]) * unit[s], s)):
            if sizes[s] < desired[s]:
                sizes[s] += 1
                if _buy_cost(sizes, unit, params) <= budget:
                    added = True
                else:
                    sizes[s] -= 1


def _orders(plan_id: str, sizes: Mapping[str, Decimal], actions: Mapping[str, str],
            prices: Mapping[str, PricePoint], unit: Mapping[str, Decimal], cash: Decimal, params: PlanParams,
            notes: list[str]) -> tuple[list[PlannedOrder], Decimal]:
    orders: list[PlannedOrder] = []
    for side in (Side.SELL, Side.BUY):
        for symbol in sorted(sizes):
            size = sizes[symbol]
            if not size or (size > 0) != (side is Side.BUY):
                continue
            value = abs(size) * unit[symbol]
            commission = params.commission.estimate(value)
            after = cash - side.sign * value - commission
            # A buy may not overdraw; a sell only when its commission exceeds its proceeds
            # (cash already below zero, after a close above the planning price, is repaid by it).
            if after < 0 and (side is Side.BUY or after < cash):
                notes.append(f"{symbol}: {side.value.lower()} of {abs(size)} would take cash below zero: not planned")
                continue
            cash = after
            point = prices[symbol]
            orders.append(PlannedOrder(order_ref_for(plan_id, symbol, side), symbol, side, abs(size), point.price,
                                       point.currency, value, commission, actions[symbol]))
    return orders, cash


def _ref_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]", "_", text)
