"""``trackrecord attribution``: the account against its own model, read from the ledger.

The record's snapshots, flows and fills, the signals behind its executed plans and the
stored session closes go, as plain numbers, to ``analytics.attribution.attribute``.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from trackrecord.analytics.attribution import (
    Attribution,
    AttributionInputs,
    ExecutedFill,
    Holdings,
    MissingClose,
    ModelSignal,
    SessionCloses,
    attribute,
)
from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.returns import flow_weight_value
from trackrecord.engine.performance import PerformanceInputs, exchange_zone, load_performance_inputs, record_sessions
from trackrecord.errors import UserError
from trackrecord.ledger.backtest_mark import backtest_of
from trackrecord.ledger.parsing import parse_timestamp
from trackrecord.ledger.queries import (
    FillRecord,
    PlannedSignal,
    current_fills,
    intended_prices,
    planned_signals,
    reading,
    snapshot_cash,
)
from trackrecord.market.base import PriceSeries
from trackrecord.market.store import load_prices
from trackrecord.services import Services

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from trackrecord.config import Settings


@dataclass(frozen=True, slots=True)
class RecordAttribution:
    """One account's attribution and what the record is (for its labels)."""

    account_id: str
    base_currency: str
    simulated: bool
    paper: bool
    result: Attribution
    backtest: bool = False


@dataclass(frozen=True, slots=True)
class ModelCloses:
    """What a report freezes so that its attribution is rebuilt from the chain alone: the raw
    closes of every symbol the account or its model held, from the last one before the
    record's first snapshot to ``until`` (``symbol -> {date: close}``), and, when the store
    cannot price the model, the reason ``attribution`` would give (``unavailable``)."""

    closes: Mapping[str, Mapping[date, float]]
    unavailable: str | None


def attribution_document(services: Services, period_from: date | None = None, period_to: date | None = None,
                         *, account_id: str | None = None) -> dict[str, Any]:
    """The ``attribution`` document: ``Attribution.to_dict()`` (months, total, the model's
    and the account's rebalance sessions) plus ``account``, ``base_currency``, ``simulated``,
    ``paper``. ``UserError`` when the record has no model (no executed plan), a position is
    not in the base currency, or the price store lacks the raw closes the model is priced at."""
    done = attribute_record(services, period_from, period_to, account_id=account_id)
    return {"account": done.account_id, "base_currency": done.base_currency, "simulated": done.simulated,
            "paper": done.paper, "backtest": done.backtest, "flow_timing": services.settings.performance.flow_timing} \
        | done.result.to_dict() \
        | {"rebalances_without_a_plan": [d.isoformat() for d in _without_a_plan(services, done)]}


def _without_a_plan(services: Services, done: RecordAttribution) -> list[date]:
    """The rebalance sessions of the period (from its base on) with no plan of the account that
    the model could trade: not run, or blocked by the price gates. The model trades the recorded
    signals, so it did not rebalance on them either, and no bucket holds what their trades
    would have done."""
    start, end = done.result.total.start, done.result.total.end
    with reading(services.engine) as conn:
        planned = {signal.session_date for signal in planned_signals(conn, done.account_id)}
    firsts: dict[tuple[int, int], date] = {}
    for day in record_sessions(services.settings, start, end).tolist():
        firsts.setdefault((day.year, day.month), day)
    return [day for day in firsts.values() if start <= day <= end and day not in planned]


def attribute_record(services: Services, period_from: date | None = None, period_to: date | None = None, *,
                     account_id: str | None = None, closes: Mapping[str, Mapping[date, float]] | None = None,
                     timezone: str | None = None, record: PerformanceInputs | None = None) -> RecordAttribution:
    """The account against its model over the period (the snapshot before ``period_from`` is
    the base). ``closes`` (symbol -> date -> raw close) replaces the price store, as a report
    rebuilt from its frozen inputs gives them; ``timezone``: the exchange's, which dates the
    fills (None: read from ``universe.calendar``); ``record``: the account's record when the
    caller has read it already."""
    if period_from and period_to and period_from > period_to:
        raise UserError(f"FROM {period_from} is after TO {period_to}")
    settings = services.settings
    if record is None:
        record = load_performance_inputs(services.engine, settings, account_id)
    first, last = record.used_range(period_from, period_to)
    if last == first:
        raise UserError(f"one snapshot of account {record.account_id} in the period ({record.dates[first]}): "
                        "attribution needs a base and at least one later session")
    with reading(services.engine) as conn:
        side = _ledger_side(conn, settings, record, first, last, timezone)
        backtest = backtest_of(conn) is not None
        if closes is None:
            series = load_prices(conn, side.symbols, until=record.dates[last])
            if backtest:
                closes = _traded_closes(series)
            else:
                _refuse_adjusted_only(series, record.dates[first], record.dates[last])
                closes = _raw_closes(series)
    inputs = AttributionInputs(side.snapshots, side.signals, side.fills, record.flows, SessionCloses(closes),
                               flow_weight_value(settings.performance.flow_timing))
    try:
        result = attribute(inputs)
    except MissingClose as exc:
        raise UserError(f"{exc} in the price store: the model and the fills are priced at the raw closes of every "
                        "session a symbol is held; run `trackrecord prices update` (or `trackrecord prices import "
                        "FOLDER` with a close column)") from None
    except AnalyticsInputError as exc:
        raise UserError(str(exc)) from None
    simulated = any(record.simulated[first : last + 1]) or record.fills_simulated
    return RecordAttribution(record.account_id, record.base_currency, simulated, record.is_paper, result, backtest)


def model_closes(services: Services, account_id: str, until: date, timezone: str | None = None,
                 record: PerformanceInputs | None = None) -> ModelCloses | None:
    """The stored raw closes the account's attribution up to ``until`` reads (since its first
    snapshot), None when the record has no model by then (no executed plan with a signal).
    ``timezone``: the exchange's (None: read from ``universe.calendar``); ``record``: the
    account's record when the caller has read it already."""
    settings = services.settings
    if record is None:
        record = load_performance_inputs(services.engine, settings, account_id)
    last = bisect_right(record.dates, until) - 1
    with reading(services.engine) as conn:
        signals = planned_signals(conn, record.account_id)
        if not _planned_by(signals, until):
            return None
        try:
            side = _ledger_side(conn, settings, record, 0, max(last, 0), timezone, signals)
        except UserError as exc:  # a holding in another currency: no table, the reason shown
            return ModelCloses({}, str(exc))
        series = load_prices(conn, side.symbols, until=until)
        backtest = backtest_of(conn) is not None
    unavailable = None
    try:
        if not backtest:
            _refuse_adjusted_only(series, record.dates[0], record.dates[max(last, 0)])
    except UserError as exc:
        unavailable = str(exc)
    start = record.dates[0]
    kept = {}
    for symbol, by_date in (_traded_closes(series) if backtest else _raw_closes(series)).items():
        days = sorted(by_date)
        before = [d for d in days if d < start][-1:]
        kept[symbol] = {d: by_date[d] for d in days if d >= start or d in before}
    return ModelCloses(kept, unavailable)


def has_model(conn: "Connection", account_id: str, until: date) -> bool:
    """Whether the account planned on a recorded signal on or before ``until``."""
    return _planned_by(planned_signals(conn, account_id), until)


def _planned_by(signals: Sequence[PlannedSignal], until: date) -> bool:
    return any(p.session_date <= until for p in signals)


@dataclass(frozen=True, slots=True)
class _LedgerSide:
    signals: tuple[ModelSignal, ...]
    snapshots: tuple[Holdings, ...]
    fills: tuple[ExecutedFill, ...]
    symbols: list[str]


def _ledger_side(conn: "Connection", settings: "Settings", record: PerformanceInputs, first: int, last: int,
                 timezone: str | None, signals: Sequence[PlannedSignal] | None = None) -> _LedgerSide:
    """``signals``: the account's ``planned_signals`` when the caller has read them already."""
    account = record.account_id
    if signals is None:
        signals = planned_signals(conn, account)
    if not signals:
        raise UserError(f"account {account} has no executed plan: its record has no model to compare with "
                        "(the model is the engine's own signals: `trackrecord execute` or `trackrecord daily`)")
    cash = snapshot_cash(conn, account)
    snapshots = tuple(_holdings(record, i, cash.get(record.dates[i])) for i in range(first, last + 1))
    fills = _fills(conn, settings, current_fills(conn, account), timezone)
    symbols = sorted({s for h in snapshots for s in h.shares} | {f.symbol for f in fills}
                     | {s for p in signals for s in p.weights})
    model = tuple(ModelSignal(p.session_date, {s: float(w) for s, w in p.weights.items()}, float(p.cash_buffer),
                              held_on_purpose=bool(p.approved) and p.orders == 0) for p in signals)
    return _LedgerSide(model, snapshots, fills, symbols)


def _raw_closes(series: Mapping[str, PriceSeries]) -> dict[str, dict[date, float]]:
    return {s: {d: float(c) for d, c in zip(b.dates.astype("O").tolist(), b.close.tolist())
                if c is not None and math.isfinite(c)} for s, b in series.items()}


def _traded_closes(series: Mapping[str, PriceSeries]) -> dict[str, dict[date, float]]:
    """A backtest's closes as its simulated broker filled at them: the raw close where the
    history has one, else the adjusted close (an adjusted-only history is traded adjusted)."""
    return {s: {d: float(c) for d, c in zip(b.dates.astype("O").tolist(),
                                            np.where(np.isfinite(b.close), b.close, b.adj_close).tolist())
                if math.isfinite(c)} for s, b in series.items()}


def _refuse_adjusted_only(series: Mapping[str, PriceSeries], start: date, end: date) -> None:
    """``UserError`` naming the first symbol whose stored bars between ``start`` and ``end``
    lack a raw close (an adjusted-only source): ``prices update`` from that source cannot add
    one, the fix is another source."""
    low, high = np.datetime64(start, "D"), np.datetime64(end, "D")
    for symbol, bars in sorted(series.items()):
        inside = (bars.dates >= low) & (bars.dates <= high)
        lacking = bars.dates[inside & ~np.isfinite(bars.close)]
        if lacking.size:
            first, last = lacking[0].item(), lacking[-1].item()
            span = f"on {first}" if first == last else f"on {first} .. {last} ({lacking.size} sessions)"
            raise UserError(
                f"no raw close for {symbol} {span}: its price source gave adjusted closes only, and attribution "
                "prices the model and the fills at raw closes, which `prices update` from that source cannot add; "
                "use a source with raw closes: CSVs with a close column (`trackrecord prices import FOLDER "
                "--replace`) or prices.source: yahoo")


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


def _fills(conn: "Connection", settings: "Settings", rows: list[FillRecord],
           timezone: str | None) -> tuple[ExecutedFill, ...]:
    """The fills on their exchange session (the date at ``timezone``, else at
    ``universe.calendar``'s zone), signed, with the decision price of their order (None when
    none was recorded)."""
    if not rows:
        return ()
    moments = [parse_timestamp(r.executed_at, f"fill {r.exec_id}") for r in rows]
    zone = exchange_zone(settings, timezone, min(moments).date(), max(moments).date())
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
