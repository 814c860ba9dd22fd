"""Signal and plan use cases over the stored prices: gate, compute, record.

These are the entry points the CLI uses and the engine can reuse:
:func:`signal_for_date` (``signal.computed``) and :func:`plan_for_date` (``plan.created``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Collection

from trackrecord import __version__
from trackrecord.domain import OrderType
from trackrecord.errors import RuntimeFailure, UserError
from trackrecord.ledger import events as kinds
from trackrecord.market.calendar import ExchangeCalendar
from trackrecord.market.quality import QualityReport
from trackrecord.market.service import month_start_of, require_quality, run_quality_gates
from trackrecord.market.store import load_prices
from trackrecord.strategy.momentum import Signal, SignalError, SignalParams, compute_signal
from trackrecord.strategy.planner import CommissionModel, Plan, PlanError, PlanParams, PricePoint, plan_rebalance

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.config import Settings, StrategyConfig
    from trackrecord.ledger.store import SqlLedger


@dataclass(frozen=True)
class SignalOutcome:
    signal: Signal
    rebalance_date: date
    quality: QualityReport
    simulated: bool
    sectors: dict[str, str]
    seq: int | None

    def document(self) -> dict[str, Any]:
        """The ``signal --json`` document (floats as JSON numbers)."""
        s = self.signal
        return {
            "rebalance_date": self.rebalance_date.isoformat(), "formation_start": s.formation_start.isoformat(),
            "formation_end": s.formation_end.isoformat(),
            "ranks": [{"rank": r.rank, "symbol": r.symbol, "sector": self.sectors.get(r.symbol, ""),
                       "momentum": r.momentum, "target_weight": r.target_weight, "held": r.held,
                       "start_date": r.start_date.isoformat(), "start_close": r.start_close,
                       "end_date": r.end_date.isoformat(), "end_close": r.end_close, "reason": r.reason}
                      for r in s.ranks],
            "cash_weight": s.cash_weight, "excluded": [{"symbol": x, "reason": why} for x, why in s.excluded],
            "warnings": list(s.warnings), "params": s.params.document(), "inputs_sha256": s.inputs_sha256,
            "code_version": __version__, "seq": self.seq, "simulated": self.simulated,
        }


def signal_params(config: "StrategyConfig", top_n: int | None = None) -> SignalParams:
    """SignalParams from the strategy settings; ``top_n`` overrides (exit_rank raised to it if needed)."""
    n = config.top_n if top_n is None else top_n
    if n < 1:
        raise UserError(f"--top-n {n}: expected at least 1")
    return SignalParams(config.lookback_months, config.skip_months, n, max(config.exit_rank, n), config.min_momentum)


def signal_payload(outcome: SignalOutcome) -> dict[str, Any]:
    """The ``signal.computed`` payload: exact decimals and floats as repr strings."""
    s = outcome.signal
    return {
        "rebalance_date": outcome.rebalance_date, "month": s.month.strftime("%Y-%m"),
        "formation_start": s.formation_start, "formation_end": s.formation_end,
        "params": s.params.document(), "code_version": __version__, "inputs_sha256": s.inputs_sha256,
        "price_points": len(s.price_points()),
        "ranks": [{"rank": r.rank, "symbol": r.symbol, "momentum": repr(r.momentum), "held": r.held,
                   "start_date": r.start_date, "start_close": repr(r.start_close), "end_date": r.end_date,
                   "end_close": repr(r.end_close), "target_weight": repr(r.target_weight), "reason": r.reason}
                  for r in s.ranks],
        "weights": {sym: repr(w) for sym, w in s.target_weights.items()}, "cash_weight": repr(s.cash_weight),
        "excluded": [{"symbol": x, "reason": why} for x, why in s.excluded], "warnings": list(s.warnings),
        "quality_passed": outcome.quality.passed, "simulated": outcome.simulated,
    }


def signal_for_date(
    ledger: "SqlLedger", settings: "Settings", calendar: ExchangeCalendar, as_of: date,
    held: Collection[str] | None = None, top_n: int | None = None, record: bool = True,
) -> SignalOutcome:
    """Gate the prices known on ``as_of`` and compute the signal of the rebalance of its month.

    ``held`` defaults to the symbols of the latest snapshot. Raises RuntimeFailure (exit 1)
    when a quality gate fails or no symbol can be ranked; both are recorded first.
    """
    params = signal_params(settings.strategy, top_n)
    rebalance = calendar.rebalance_session(as_of)
    window_start = month_start_of(as_of, 1 + params.lookback_months)
    quality = run_quality_gates(ledger, settings, calendar, window_start, calendar.previous_session(as_of),
                                "signal", as_of, record)
    require_quality(quality)
    symbols = [i.symbol for i in settings.universe.instruments]
    series = load_prices(ledger.engine, symbols, until=as_of)
    if held is None:
        held = set(latest_positions(ledger.engine, settings)[1])
    try:
        signal = compute_signal({s: series[s].history for s in symbols}, as_of, params, held)
    except SignalError as exc:
        raise RuntimeFailure(str(exc)) from None
    outcome = SignalOutcome(signal, rebalance, quality, prices_simulated(ledger.engine, settings, symbols),
                            {i.symbol: i.sector for i in settings.universe.instruments}, None)
    if not record:
        return outcome
    event = ledger.append(kinds.SIGNAL_COMPUTED, signal_payload(outcome))
    return SignalOutcome(signal, rebalance, quality, outcome.simulated, outcome.sectors, event.seq)


def prices_simulated(engine: "Engine", settings: "Settings", symbols: list[str]) -> bool:
    """True when the configured source or any stored bar of the symbols is synthetic."""
    from sqlalchemy import select

    from trackrecord.ledger.schema import prices

    if settings.prices.source == "synthetic":
        return True
    with engine.connect() as conn:
        row = conn.execute(select(prices.c.symbol).where(
            prices.c.symbol.in_(symbols), prices.c.source == "synthetic").limit(1)).first()
    return row is not None


@dataclass(frozen=True)
class Snapshot:
    account_id: str
    session_date: str
    cash: Decimal | None
    nav: Decimal


def latest_positions(engine: "Engine", settings: "Settings") -> tuple[Snapshot | None, dict[str, Decimal]]:
    """The latest snapshot (of ``account.account_id`` when set) and its positions (symbol -> shares)."""
    from sqlalchemy import select

    from trackrecord.ledger.schema import snapshots

    query = select(snapshots).order_by(snapshots.c.session_date.desc(), snapshots.c.seq.desc()).limit(1)
    if settings.account.account_id:
        query = query.where(snapshots.c.account_id == settings.account.account_id)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None, {}
    data = row._mapping
    positions = _positions(json.loads(data["positions"] or "[]"))
    cash = Decimal(data["cash"]) if data["cash"] is not None else None
    return Snapshot(data["account_id"], data["session_date"], cash, Decimal(data["nav"])), positions


def _positions(raw: Any) -> dict[str, Decimal]:
    items = raw.items() if isinstance(raw, dict) else (
        (p.get("symbol"), p.get("quantity")) for p in raw if isinstance(p, dict))
    out = {}
    for symbol, quantity in items:
        if isinstance(quantity, dict):
            quantity = quantity.get("quantity")
        if symbol and quantity not in (None, "", "0") and Decimal(str(quantity)):
            out[str(symbol)] = Decimal(str(quantity))
    return out


@dataclass(frozen=True)
class PlanOutcome:
    plan: Plan
    signal: SignalOutcome
    source: str
    seq: int | None


def plan_params(settings: "Settings") -> PlanParams:
    strategy, sim = settings.strategy, settings.broker.sim
    return PlanParams(
        drift_band=Decimal(str(strategy.drift_band)), cash_buffer=Decimal(str(strategy.cash_buffer)),
        min_order_value=strategy.min_order_value,
        commission=CommissionModel(sim.commission_rate, sim.commission_min), order_type=OrderType(strategy.order_type),
    )


def planning_prices(engine: "Engine", settings: "Settings", symbols: Collection[str], as_of: date) -> dict[str, PricePoint]:
    """The raw close (else the adjusted one) of the last bar on or before ``as_of``, with the FX
    rate to the account currency from ``prices.fx_rates``."""
    series = load_prices(engine, sorted(symbols), until=as_of)
    out = {}
    for symbol in sorted(symbols):
        found = series[symbol].valuation_price(as_of)
        if found is None:
            raise RuntimeFailure(f"no stored price for {symbol} on or before {as_of}: run `trackrecord prices update`")
        out[symbol] = PricePoint(Decimal(repr(found[1])), *currency_and_rate(settings, symbol))
    return out


def currency_and_rate(settings: "Settings", symbol: str) -> tuple[str, Decimal]:
    """The symbol's currency and its rate to the account currency (``prices.fx_rates``)."""
    base = settings.account.base_currency
    currency = next((i.currency for i in settings.universe.instruments if i.symbol == symbol), base)
    rate = Decimal(1) if currency == base else settings.prices.fx_rates.get(currency)
    if rate is None:
        raise UserError(f"{symbol} is in {currency} but the account is in {base}: "
                        f"set prices.fx_rates.{currency} (units of {base} per {currency})")
    return currency, Decimal(rate)


def plan_for_date(
    ledger: "SqlLedger", settings: "Settings", calendar: ExchangeCalendar, as_of: date,
    cash: Decimal | None = None, record: bool = True, preview: bool = True,
) -> PlanOutcome:
    """Plan the rebalance: the latest snapshot (or an empty account holding ``cash``) to the
    signal of ``as_of``'s month, at the last prices on or before ``as_of``."""
    snapshot, positions = latest_positions(ledger.engine, settings)
    if cash is not None:
        if cash <= 0:
            raise UserError(f"--cash {cash}: expected a positive amount")
        snapshot, positions, source = None, {}, f"empty account with {cash} {settings.account.base_currency}"
    elif snapshot is None:
        raise UserError("no account snapshot yet: pass --cash AMOUNT to plan for an empty account")
    elif snapshot.cash is None:
        raise UserError(f"snapshot {snapshot.account_id} {snapshot.session_date} has no cash figure: "
                        "pass --cash AMOUNT to plan for an empty account")
    else:
        cash, source = snapshot.cash, f"snapshot {snapshot.account_id} {snapshot.session_date}"
    signal = signal_for_date(ledger, settings, calendar, as_of, held=set(positions), record=record)
    weights = {s: Decimal(repr(w)) for s, w in signal.signal.target_weights.items()}
    account = snapshot.account_id if snapshot else (settings.account.account_id or settings.broker.sim.account_id)
    session = calendar.next_sessions(as_of, 1)[0]
    prices = planning_prices(ledger.engine, settings, {*positions, *weights}, as_of)
    try:
        plan = plan_rebalance(account, session, positions, cash, prices, weights, plan_params(settings),
                              settings.account.base_currency)
    except PlanError as exc:
        raise UserError(f"cannot plan: {exc}") from None
    seq = ledger.append(kinds.PLAN_CREATED, plan_payload(plan, signal, source, preview)).seq if record else None
    return PlanOutcome(plan, signal, source, seq)


def plan_payload(plan: Plan, signal: SignalOutcome, source: str, preview: bool) -> dict[str, Any]:
    """The ``plan.created`` payload."""
    return {
        "plan_id": plan.plan_id, "account_id": plan.account_id, "session_date": plan.session_date,
        "currency": plan.currency, "nav": plan.nav, "cash": plan.cash, "cash_after": plan.cash_after,
        "params": plan.params.document(), "signal_seq": signal.seq, "inputs_sha256": signal.signal.inputs_sha256,
        "rebalance_date": signal.rebalance_date, "portfolio_source": source, "preview": preview,
        "simulated": signal.simulated, "notes": list(plan.notes),
        "lines": [{"symbol": x.symbol, "quantity": x.quantity, "price": x.price, "weight": _round(x.weight),
                   "target_weight": _round(x.target_weight), "goal_quantity": x.goal_quantity,
                   "planned_quantity": x.planned_quantity, "action": x.action} for x in plan.lines],
        "orders": [{"order_ref": o.order_ref, "symbol": o.symbol, "side": o.side, "quantity": o.quantity,
                    "order_type": plan.params.order_type, "intended_price": o.intended_price, "currency": o.currency,
                    "value": o.value, "estimated_commission": o.estimated_commission, "reason": o.reason}
                   for o in plan.orders],
    }


def _round(value: Decimal) -> Decimal:
    try:
        return value.quantize(Decimal("0.000001"))
    except InvalidOperation:
        return value


def parse_amount(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise UserError(f"--cash {text!r}: expected an amount such as 100000") from None
    if not value.is_finite():
        raise UserError(f"--cash {text!r}: expected a finite amount")
    return value

