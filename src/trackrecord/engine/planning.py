"""Plan a session: portfolio → quality gates → signal → planning prices → plan.

The one planning use case. ``rebalance`` (the preview), ``execute``, ``daily`` and the replay
all call :meth:`Planner.plan`, so a preview shows exactly the orders an execution of the same
session and account would send: the same session, the same prices (the close of the session
before it, rounded as :func:`decision_price` rounds) and the same portfolio. Nothing here
records anything: the execution records what the planner returned, a preview does not.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Collection, Mapping, Protocol

from trackrecord import __version__
from trackrecord.domain import Mode, OrderRequest, OrderType, Side
from trackrecord.domain.prices import decision_price
from trackrecord.errors import RuntimeFailure, UserError
from trackrecord.ledger.queries import latest_snapshot, reading
from trackrecord.market.quality import QualityReport, check_quality
from trackrecord.market.service import month_start_of
from trackrecord.strategy.momentum import (
    Signal,
    SignalError,
    SignalParams,
    formation_months,
    month_number,
    signal_for_month,
)
from trackrecord.strategy.planner import CommissionModel, Plan, PlanError, PlanParams, PricePoint, plan_rebalance

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.brokers.base import Broker
    from trackrecord.config import Settings, StrategyConfig
    from trackrecord.engine.pricebook import PriceBook
    from trackrecord.market.calendar import ExchangeCalendar

QUALITY_LOOKBACK_DAYS = 31
MAX_CASH = Decimal(10) ** 15


# -- the portfolio a plan starts from ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Portfolio:
    account_id: str
    nav: Decimal
    cash: Decimal
    positions: Mapping[str, Decimal]
    source: str


class PortfolioSource(Protocol):
    """Where a plan's starting portfolio comes from: the broker's account, the latest
    recorded snapshot, or an empty account holding some cash."""

    def portfolio(self, at: datetime) -> Portfolio: ...


@dataclass(frozen=True)
class BrokerPortfolio:
    broker: "Broker"

    def portfolio(self, at: datetime) -> Portfolio:
        snap = self.broker.snapshot(at)
        positions = {p.symbol: p.quantity for p in snap.positions if p.quantity}
        return Portfolio(snap.account_id, snap.net_liquidation, snap.cash, positions, f"broker {snap.account_id}")


@dataclass(frozen=True)
class RecordedPortfolio:
    engine: "Engine"
    account_id: str | None

    def portfolio(self, at: datetime) -> Portfolio:
        with reading(self.engine) as conn:
            latest = latest_snapshot(conn, self.account_id)
        if latest is None:
            raise UserError("no account snapshot yet (a deposit is not one): pass --cash AMOUNT to plan for an "
                            "empty account; a paper or live workspace records one with `trackrecord snapshot`")
        if latest.cash is None:
            raise UserError(f"{latest.source} has no cash figure: pass --cash AMOUNT to plan for an empty account")
        return Portfolio(latest.account_id, latest.nav, latest.cash, latest.positions, latest.source)


@dataclass(frozen=True)
class CashPortfolio:
    account_id: str
    amount: Decimal
    currency: str

    def portfolio(self, at: datetime) -> Portfolio:
        return Portfolio(self.account_id, self.amount, self.amount, {},
                         f"empty account with {self.amount} {self.currency}")


def parse_cash(text: str, option: str = "--cash") -> Decimal:
    """A positive, finite amount of at most 10^15 with at most 2 decimals' worth of meaning."""
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise UserError(f"{option} {text!r}: expected an amount such as 100000") from None
    if not value.is_finite() or abs(value) > MAX_CASH or (value and value.adjusted() < -6):
        raise UserError(f"{option} {text!r}: expected a finite amount between 0.01 and 10^15")
    if value <= 0:
        raise UserError(f"{option} {value}: expected a positive amount")
    return value


# -- signal and plan values ----------------------------------------------------------------------


@dataclass(frozen=True)
class SignalOutcome:
    signal: Signal
    rebalance_date: date
    quality: QualityReport
    simulated: bool
    sectors: Mapping[str, str]
    seq: int | None = None

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

    def payload(self) -> dict[str, Any]:
        """The ``signal.computed`` payload: exact decimals and floats as repr strings."""
        s = self.signal
        return {
            "rebalance_date": self.rebalance_date, "month": s.month.strftime("%Y-%m"),
            "formation_start": s.formation_start, "formation_end": s.formation_end,
            "params": s.params.document(), "code_version": __version__, "inputs_sha256": s.inputs_sha256,
            "price_points": s.price_point_count(),
            "ranks": [{"rank": r.rank, "symbol": r.symbol, "momentum": repr(r.momentum), "held": r.held,
                       "start_date": r.start_date, "start_close": repr(r.start_close), "end_date": r.end_date,
                       "end_close": repr(r.end_close), "target_weight": repr(r.target_weight), "reason": r.reason}
                      for r in s.ranks],
            "weights": {sym: repr(w) for sym, w in s.target_weights.items()}, "cash_weight": repr(s.cash_weight),
            "excluded": [{"symbol": x, "reason": why} for x, why in s.excluded], "warnings": list(s.warnings),
            "quality_passed": self.quality.passed, "simulated": self.simulated,
        }


@dataclass(frozen=True)
class NoPlan:
    """Why a session has no plan (a quality gate or the signal refused), with what the gate found."""

    reason: str
    quality: QualityReport | None = None


@dataclass(frozen=True)
class SessionPlan:
    """A plan for one session and the inputs it was made from."""

    plan: Plan
    signal: SignalOutcome
    portfolio: Portfolio

    @property
    def orders(self) -> list[OrderRequest]:
        order_type = self.plan.params.order_type
        return [OrderRequest(o.order_ref, self.plan.plan_id, o.symbol, o.side, o.quantity, order_type,
                             o.intended_price, o.currency) for o in self.plan.orders]

    def payload(self, mode: Mode) -> dict[str, Any]:
        """The ``plan.created`` payload of an execution (``execution: true``: the plans
        projection keeps it as the plan the engine acts on)."""
        plan = self.plan
        return {
            "plan_id": plan.plan_id, "account_id": plan.account_id, "session_date": plan.session_date,
            "currency": plan.currency, "nav": plan.nav, "cash": plan.cash, "cash_after": plan.cash_after,
            "params": plan.params.document(), "signal_seq": self.signal.seq,
            "inputs_sha256": self.signal.signal.inputs_sha256, "rebalance_date": self.signal.rebalance_date,
            "portfolio_source": self.portfolio.source, "preview": mode is Mode.DRY_RUN, "execution": True,
            "simulated": self.signal.simulated, "notes": list(plan.notes), "mode": mode.value,
            "positions": dict(self.portfolio.positions),
            "lines": [{"symbol": x.symbol, "quantity": x.quantity, "price": x.price, "weight": _round(x.weight),
                       "target_weight": _round(x.target_weight), "goal_quantity": x.goal_quantity,
                       "planned_quantity": x.planned_quantity, "action": x.action} for x in plan.lines],
            "orders": [{"order_ref": o.order_ref, "symbol": o.symbol, "side": o.side, "quantity": o.quantity,
                        "order_type": plan.params.order_type, "intended_price": o.intended_price,
                        "currency": o.currency, "value": o.value, "estimated_commission": o.estimated_commission,
                        "reason": o.reason} for o in plan.orders],
        }


@dataclass(frozen=True)
class RecordedPlan:
    """A ``plan.created`` read back for a rerun: what the engine decided, typed."""

    seq: int
    plan_id: str
    account_id: str
    session_date: date
    nav: Decimal
    cash: Decimal
    positions: Mapping[str, Decimal]
    orders: tuple[OrderRequest, ...]

    @classmethod
    def from_payload(cls, seq: int, data: Mapping[str, Any]) -> "RecordedPlan":
        plan_id = data["plan_id"]
        orders = tuple(
            OrderRequest(o["order_ref"], plan_id, o["symbol"], Side(o["side"]), Decimal(o["quantity"]),
                         OrderType(o["order_type"]), Decimal(o["intended_price"]), o["currency"])
            for o in data["orders"])
        return cls(seq, plan_id, data["account_id"], date.fromisoformat(data["session_date"]), Decimal(data["nav"]),
                   Decimal(data["cash"]), {s: Decimal(q) for s, q in (data.get("positions") or {}).items()}, orders)

    @classmethod
    def of(cls, seq: int, planned: SessionPlan) -> "RecordedPlan":
        plan = planned.plan
        return cls(seq, plan.plan_id, plan.account_id, plan.session_date, plan.nav, plan.cash,
                   dict(planned.portfolio.positions), tuple(planned.orders))


def _round(value: Decimal) -> Decimal:
    try:
        return value.quantize(Decimal("0.000001"))
    except InvalidOperation:
        return value


# -- parameters from the settings ---------------------------------------------------------------


def signal_params(config: "StrategyConfig", top_n: int | None = None) -> SignalParams:
    """SignalParams from the strategy settings; ``top_n`` overrides (exit_rank raised to it if needed)."""
    n = config.top_n if top_n is None else top_n
    if n < 1:
        raise UserError(f"--top-n {n}: expected at least 1")
    return SignalParams(config.lookback_months, config.skip_months, n, max(config.exit_rank, n), config.min_momentum)


def plan_params(settings: "Settings") -> PlanParams:
    strategy, sim = settings.strategy, settings.broker.sim
    return PlanParams(
        drift_band=Decimal(str(strategy.drift_band)), cash_buffer=Decimal(str(strategy.cash_buffer)),
        min_order_value=strategy.min_order_value,
        commission=CommissionModel(sim.commission_rate, sim.commission_min), order_type=OrderType(strategy.order_type),
    )


def currency_and_rate(settings: "Settings", symbol: str) -> tuple[str, Decimal]:
    """The symbol's currency and its rate to the account currency (``prices.fx_rates``)."""
    base = settings.account.base_currency
    currency = next((i.currency for i in settings.universe.instruments if i.symbol == symbol), base)
    rate = Decimal(1) if currency == base else settings.prices.fx_rates.get(currency)
    if rate is None:
        raise UserError(f"{symbol} is in {currency} but the account is in {base}: "
                        f"set prices.fx_rates.{currency} (units of {base} per {currency})")
    return currency, Decimal(rate)


# -- the use case ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planner:
    """Plans sessions over the prices known to a run (the price book: no later bar leaks in)."""

    settings: "Settings"
    calendar: "ExchangeCalendar"
    book: "PriceBook"
    simulated: bool

    def _gate(self, previous: date, window_start: date) -> QualityReport:
        """The quality gates over the signal's window, ``window_start`` .. ``previous`` (the
        session before the one planned)."""
        series = self.book.series(until=previous, start=window_start - timedelta(days=QUALITY_LOOKBACK_DAYS))
        prices = self.settings.prices
        return check_quality(series, self.calendar.sessions_between(window_start, previous), window_start, previous,
                             prices.max_daily_move, prices.max_gap_sessions)

    def signal(self, session: date, held: Collection[str], top_n: int | None = None) -> SignalOutcome | NoPlan:
        """The signal of ``session``'s month, gated first. It is decided before ``session``'s
        close: the last close known is the previous session's, which ends the previous
        month when ``session`` is the month's first (so skip_months 0 can use that month)."""
        params = signal_params(self.settings.strategy, top_n)
        previous = self.calendar.previous_session(session)
        quality = self._gate(previous, month_start_of(session, 1 + params.lookback_months))
        if not quality.passed:
            return NoPlan(f"price quality gates failed, signal blocked: {quality.message()}. "
                          "Fix the data (prices update / prices import) and run again", quality)
        first, last = formation_months(month_number(session), params)
        try:
            signal = signal_for_month(self.book.month_ends(first, last, previous), session, params, set(held),
                                      closed_session=previous)
        except SignalError as exc:
            return NoPlan(str(exc), quality)
        sectors = {i.symbol: i.sector for i in self.settings.universe.instruments}
        return SignalOutcome(signal, self.calendar.rebalance_session(session), quality, self.simulated, sectors)

    def prices(self, symbols: Collection[str], session: date) -> dict[str, PricePoint]:
        """Each symbol's close of the last bar before ``session`` (raw, else adjusted): the
        price a market-on-close order can be decided at, with the FX rate to the account."""
        previous = self.calendar.previous_session(session)
        out = {}
        for symbol in sorted(symbols):
            found = self.book.last_close(symbol, previous)
            if found is None:
                raise RuntimeFailure(f"no price for {symbol} on or before {previous}: run `trackrecord prices update`")
            out[symbol] = PricePoint(decision_price(found[1]), *currency_and_rate(self.settings, symbol))
        return out

    def plan(self, session: date, portfolio: Portfolio, top_n: int | None = None) -> SessionPlan | NoPlan:
        """The plan of ``session`` from ``portfolio``, or why there is none."""
        outcome = self.signal(session, portfolio.positions, top_n)
        if isinstance(outcome, NoPlan):
            return outcome
        weights = {s: Decimal(repr(w)) for s, w in outcome.signal.target_weights.items()}
        _refuse_held_outside_universe(portfolio, {i.symbol for i in self.settings.universe.instruments})
        prices = self.prices({*portfolio.positions, *weights}, session)
        try:
            plan = plan_rebalance(portfolio.account_id, session, dict(portfolio.positions), portfolio.cash, prices,
                                  weights, plan_params(self.settings), self.settings.account.base_currency)
        except PlanError as exc:
            raise UserError(f"cannot plan the rebalance of {session}: {exc}") from None
        return SessionPlan(plan, outcome, portfolio)


def _refuse_held_outside_universe(portfolio: Portfolio, universe: Collection[str]) -> None:
    """A held instrument must stay in the universe until it is sold: the plan needs its
    price (stored only for the universe) to value the account and to sell it."""
    outside = sorted(s for s, quantity in portfolio.positions.items() if quantity and s not in universe)
    if outside:
        held = ", ".join(f"{s} ({portfolio.positions[s]:f} shares)" for s in outside)
        raise UserError(f"{portfolio.account_id} holds {held}, not in universe.instruments of trackrecord.yaml: "
                        "a held instrument stays in the universe until it is sold (the rebalance needs its "
                        "price to value and sell it); put it back")


def with_signal_seq(planned: SessionPlan, seq: int) -> SessionPlan:
    return replace(planned, signal=replace(planned.signal, seq=seq))
