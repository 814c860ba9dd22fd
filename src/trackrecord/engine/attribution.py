"""``trackrecord attribution``: the account against its own model, read from the ledger.

The record's snapshots, flows and fills, the signals behind its executed plans and the
stored session closes go, as plain numbers, to ``analytics.attribution.attribute``.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from trackrecord.analytics.attribution import (
    AttributionInputs,
    ExecutedFill,
    Holdings,
    ModelSignal,
    SessionCloses,
    attribute,
)
from trackrecord.analytics.returns import flow_weight_value
from trackrecord.engine.performance import PerformanceInputs, _as_user_error, load_performance_inputs
from trackrecord.errors import UserError
from trackrecord.ledger.parsing import parse_timestamp
from trackrecord.ledger.queries import (
    FillRecord,
    current_fills,
    intended_prices,
    planned_signals,
    reading,
    snapshot_cash,
)
from trackrecord.market.calendar import open_calendar
from trackrecord.market.store import load_prices
from trackrecord.services import Services

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from trackrecord.config import Settings


def attribution_document(services: Services, period_from: date | None = None, period_to: date | None = None,
                         *, account_id: str | None = None) -> dict[str, Any]:
    """The ``attribution`` document: ``Attribution.to_dict()`` (months, total, the model's
    and the account's rebalance sessions) plus ``account``, ``base_currency``, ``simulated``,
    ``paper``. ``UserError`` when the record has no model (no executed plan) or a position is
    not in the base currency."""
    if period_from and period_to and period_from > period_to:
        raise UserError(f"FROM {period_from} is after TO {period_to}")
    settings = services.settings
    record = load_performance_inputs(services.engine, settings, account_id)
    first, last = record.used_range(period_from, period_to)
    if last == first:
        raise UserError(f"one snapshot of account {record.account_id} in the period ({record.dates[first]}): "
                        "attribution needs a base and at least one later session")
    with reading(services.engine) as conn:
        inputs = _inputs(conn, settings, record, first, last)
    with _as_user_error():
        result = attribute(inputs)
    simulated = any(record.simulated[first : last + 1]) or record.fills_simulated
    return {"account": record.account_id, "base_currency": record.base_currency, "simulated": simulated,
            "paper": record.is_paper, "flow_timing": settings.performance.flow_timing} | result.to_dict()


def _inputs(conn: "Connection", settings: "Settings", record: PerformanceInputs, first: int,
            last: int) -> AttributionInputs:
    account = record.account_id
    signals = planned_signals(conn, account)
    if not signals:
        raise UserError(f"account {account} has no executed plan: its record has no model to compare with "
                        "(the model is the engine's own signals: `trackrecord execute` or `trackrecord daily`)")
    cash = snapshot_cash(conn, account)
    snapshots = tuple(_holdings(record, i, cash.get(record.dates[i])) for i in range(first, last + 1))
    fills = _fills(conn, settings, current_fills(conn, account))
    symbols = sorted({s for h in snapshots for s in h.shares} | {f.symbol for f in fills}
                     | {s for p in signals for s in p.weights})
    series = load_prices(conn, symbols, until=record.dates[last])
    closes = {s: {d: float(c) for d, c in zip(b.dates.astype("O").tolist(), b.close.tolist())
                  if c is not None and math.isfinite(c)} for s, b in series.items()}
    model = tuple(ModelSignal(p.session_date, {s: float(w) for s, w in p.weights.items()}, float(p.cash_buffer),
                              held_on_purpose=bool(p.approved) and p.orders == 0) for p in signals)
    return AttributionInputs(snapshots, model, fills, record.flows, SessionCloses(closes),
                             flow_weight_value(settings.performance.flow_timing))


def _holdings(record: PerformanceInputs, index: int, cash: str | None) -> Holdings:
    shares: dict[str, float] = {}
    for position in json.loads(record.positions[index] or "[]"):
        currency = position.get("currency")
        if currency not in (None, record.base_currency):
            raise UserError(f"snapshot of {record.dates[index]} holds {position['symbol']} in {currency}, not the "
                            f"base currency {record.base_currency}: attribution has no FX bucket yet")
        quantity = float(Decimal(str(position["quantity"])))
        if quantity:
            shares[str(position["symbol"])] = quantity
    return Holdings(record.dates[index], record.navs[index], None if cash is None else float(cash), shares)


def _fills(conn: "Connection", settings: "Settings", rows: list[FillRecord]) -> tuple[ExecutedFill, ...]:
    """The fills on their exchange session (the date at ``universe.calendar``'s zone), signed,
    with the decision price of their order (None when none was recorded)."""
    if not rows:
        return ()
    moments = [parse_timestamp(r.executed_at, f"fill {r.exec_id}") for r in rows]
    calendar = open_calendar(settings.universe.calendar, start=min(moments).date() - timedelta(days=7),
                             end=max(moments).date() + timedelta(days=7))
    zone = ZoneInfo(calendar.timezone)
    orders = intended_prices(conn, {r.order_ref for r in rows if r.order_ref})
    out = []
    for row, moment in zip(rows, moments):
        sign = 1.0 if row.side.upper() in ("BUY", "BOT") else -1.0
        decided = row.intended_price or (orders[row.order_ref][0] if row.order_ref in orders else None)
        out.append(ExecutedFill(
            session=moment.astimezone(zone).date(), symbol=row.symbol, quantity=sign * abs(float(row.quantity)),
            price=float(row.price), commission=0.0 if row.commission is None else abs(float(row.commission)),
            decision_price=None if decided is None else float(decided),
        ))
    return tuple(out)
