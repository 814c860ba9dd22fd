"""Execution cost: slippage against the intended (decision) price, split into the
market's move and the execution, and commissions.

Per fill, positive = cost, for buys and sells alike (side = +1 buy, -1 sell):

* total: slippage_bps = side * (fill - intended) / intended * 1e4 and
  shortfall = side * (fill - intended) * quantity (implementation shortfall, in the
  instrument's currency; excludes commission)
* the reference price splits it: the session's closing price for a market-on-close order,
  the arrival price for another order when it is known. Then
  delay_bps = side * (reference - intended) / intended * 1e4 (the market moved between the
  decision and the order's own price: not the execution's fault) and
  execution_bps = side * (fill - reference) / intended * 1e4 (how far the fill was from the
  price it could get); in money delay_cost and execution_cost, ``* quantity`` instead of
  ``/ intended * 1e4``. All three share the denominator, so delay + execution = total.
  Without a reference price both are None and only the total is known.
* commission_bps = commission / (quantity * fill) * 1e4

Groups (by symbol, side, order type, month ``YYYY-MM`` of ``executed_at``) report the
simple mean of the per-fill bps and the notional-weighted bps
``sum(cost) / sum(quantity * intended) * 1e4`` (for delay and execution over the fills with
a reference price).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trackrecord.analytics.errors import AnalyticsInputError

BPS = 1e4


@dataclass(frozen=True, slots=True)
class SlippageFill:
    """A fill with the price it was meant to get. ``side`` is ``"BUY"`` or ``"SELL"``;
    ``commission`` None while pending (counted as 0 and as pending)."""

    symbol: str
    side: str
    quantity: float
    fill_price: float
    intended_price: float
    commission: float | None
    order_type: str
    executed_at: datetime
    reference_price: float | None = None
    reference: str | None = None  # "close" (the session's close) or "arrival"; None without a price

    @property
    def sign(self) -> int:
        return 1 if self.side == "BUY" else -1


@dataclass(frozen=True, slots=True)
class FillCost:
    """Cost figures of one fill (see the module docstring)."""

    fill: SlippageFill
    slippage_bps: float
    shortfall: float
    commission_bps: float | None
    intended_notional: float
    delay_bps: float | None = None
    execution_bps: float | None = None
    delay_cost: float | None = None
    execution_cost: float | None = None


def slippage_fills_from(fills: Iterable[Any], orders: Iterable[Any]) -> list[SlippageFill]:
    """Join fills (``trackrecord.domain.Fill``-like: order_ref, symbol, side, quantity,
    price, commission, executed_at) with the orders that intended them
    (``OrderRequest``-like: order_ref, intended_price, order_type) by ``order_ref``.
    A fill whose order is unknown raises ``AnalyticsInputError``."""
    by_ref = {o.order_ref: o for o in orders}
    out = []
    for f in fills:
        order = by_ref.get(f.order_ref)
        if order is None:
            raise AnalyticsInputError(f"fill {getattr(f, 'exec_id', '?')}: no order with order_ref {f.order_ref!r}")
        out.append(
            SlippageFill(
                symbol=f.symbol,
                side=_side(f.side),
                quantity=abs(float(f.quantity)),
                fill_price=float(f.price),
                intended_price=float(order.intended_price),
                commission=None if f.commission is None else abs(float(f.commission)),
                order_type=str(getattr(order.order_type, "value", order.order_type)),
                executed_at=f.executed_at,
            )
        )
    return out


def fill_cost(fill: SlippageFill) -> FillCost:
    """Slippage, shortfall and commission of one fill."""
    if not (fill.intended_price > 0.0 and fill.quantity > 0.0 and fill.fill_price > 0.0):
        raise AnalyticsInputError(
            f"{fill.symbol} fill at {fill.executed_at}: quantity, fill and intended price must be positive"
        )
    difference = fill.sign * (fill.fill_price - fill.intended_price)
    notional = fill.quantity * fill.fill_price
    split: dict[str, float] = {}
    if fill.reference_price is not None:
        if not fill.reference_price > 0.0:
            raise AnalyticsInputError(f"{fill.symbol} fill at {fill.executed_at}: reference price must be positive")
        delay = fill.sign * (fill.reference_price - fill.intended_price)
        execution = fill.sign * (fill.fill_price - fill.reference_price)
        split = {"delay_bps": delay / fill.intended_price * BPS, "execution_bps": execution / fill.intended_price * BPS,
                 "delay_cost": delay * fill.quantity, "execution_cost": execution * fill.quantity}
    return FillCost(
        fill=fill,
        slippage_bps=difference / fill.intended_price * BPS,
        shortfall=difference * fill.quantity,
        commission_bps=None if fill.commission is None else fill.commission / notional * BPS,
        intended_notional=fill.quantity * fill.intended_price,
        **split,
    )


GROUPINGS: Mapping[str, Callable[[SlippageFill], str]] = {
    "symbol": lambda f: f.symbol,
    "side": lambda f: f.side,
    "order_type": lambda f: f.order_type,
    "month": lambda f: f.executed_at.strftime("%Y-%m"),
}


def aggregate(costs: Iterable[FillCost]) -> dict[str, float | int | None]:
    """Totals of a group of fills: ``fills``, ``quantity``, ``notional`` (at fill prices),
    ``slippage_bps_mean``, ``slippage_bps_weighted``, ``shortfall``, ``commission``,
    ``commission_bps`` (total commission / notional), ``commissions_pending``; the split over
    the fills with a reference price: ``delay_bps_mean``, ``delay_bps_weighted``,
    ``delay_cost``, the same for ``execution``, and ``without_reference`` (fills without one)."""
    costs = list(costs)
    notional = sum(c.fill.quantity * c.fill.fill_price for c in costs)
    intended = sum(c.intended_notional for c in costs)
    commission = sum(c.fill.commission or 0.0 for c in costs)
    return _totals(costs, notional, intended, commission) | _split(costs)


def _totals(costs: list[FillCost], notional: float, intended: float, commission: float) -> dict[str, float | int | None]:
    return {
        "fills": len(costs),
        "quantity": sum(c.fill.quantity for c in costs),
        "notional": notional,
        "slippage_bps_mean": sum(c.slippage_bps for c in costs) / len(costs) if costs else None,
        "slippage_bps_weighted": sum(c.shortfall for c in costs) / intended * BPS if intended else None,
        "shortfall": sum(c.shortfall for c in costs),
        "commission": commission,
        "commission_bps": commission / notional * BPS if notional else None,
        "commissions_pending": sum(1 for c in costs if c.fill.commission is None),
    }


def _split(costs: list[FillCost]) -> dict[str, float | int | None]:
    known = [c for c in costs if c.delay_cost is not None]
    intended = sum(c.intended_notional for c in known)
    out: dict[str, float | int | None] = {"without_reference": len(costs) - len(known)}
    for part in ("delay", "execution"):
        bps = [getattr(c, f"{part}_bps") for c in known]
        money = sum(getattr(c, f"{part}_cost") for c in known)
        out[f"{part}_bps_mean"] = sum(bps) / len(bps) if bps else None
        out[f"{part}_bps_weighted"] = money / intended * BPS if intended else None
        out[f"{part}_cost"] = money if known else None
    return out


def slippage_report(fills: Iterable[SlippageFill]) -> dict[str, Any]:
    """JSON-able report: ``{"fills": [per-fill rows], "total": aggregate,
    "by_symbol"|"by_side"|"by_order_type"|"by_month": {key: aggregate}}``.
    Per-fill rows: symbol, side, order_type, executed_at (ISO), quantity, fill_price,
    intended_price, reference ("close", "arrival" or None), reference_price, delay_bps,
    execution_bps, slippage_bps (the total), delay_cost, execution_cost, shortfall (the total
    in money), commission, commission_bps."""
    costs = [fill_cost(f) for f in sorted(fills, key=lambda f: f.executed_at)]
    report: dict[str, Any] = {"fills": [_row(c) for c in costs], "total": aggregate(costs)}
    for name, key in GROUPINGS.items():
        groups: dict[str, list[FillCost]] = defaultdict(list)
        for c in costs:
            groups[key(c.fill)].append(c)
        report[f"by_{name}"] = {k: aggregate(v) for k, v in sorted(groups.items())}
    return report


def _row(c: FillCost) -> dict[str, Any]:
    f = c.fill
    return {
        "symbol": f.symbol,
        "side": f.side,
        "order_type": f.order_type,
        "executed_at": f.executed_at.isoformat(),
        "quantity": f.quantity,
        "fill_price": f.fill_price,
        "intended_price": f.intended_price,
        "reference": f.reference if f.reference_price is not None else None,
        "reference_price": f.reference_price,
        "delay_bps": c.delay_bps,
        "execution_bps": c.execution_bps,
        "slippage_bps": c.slippage_bps,
        "delay_cost": c.delay_cost,
        "execution_cost": c.execution_cost,
        "shortfall": c.shortfall,
        "commission": f.commission,
        "commission_bps": c.commission_bps,
    }


def _side(side: Any) -> str:
    value = str(getattr(side, "value", side)).upper()
    if value not in ("BUY", "SELL"):
        raise AnalyticsInputError(f"side {value!r} is not BUY or SELL")
    return value
