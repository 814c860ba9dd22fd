"""Model-vs-live attribution: how far the record fell short of its own model, and why.

The **model** holds the recorded signals' target weights exactly: it rebalances at the close of
each signal's session, in fractional shares, with no cost, and takes the account's external
flows on the same dates. It starts as a copy of the account at the base snapshot. The gap
``TWR(model) - TWR(live)`` is split by a ladder of portfolios, each one friction closer to the
account; a bucket is the difference of the returns of two neighbours, so over any period the
buckets sum to the gap exactly (up to float rounding; Perold 1988, implementation shortfall,
with the model's close as the paper portfolio's price):

========================  ===========================================================  ==========
portfolio                 what it holds                                                bucket
========================  ===========================================================  ==========
``model``                 the signal's weights from the close of every signal session
``traded``                the signal in force, on the sessions the account traded or    selection
                          held on purpose (its approved plan had no order)
``buffered``              the same with the plan's cash buffer kept in cash             cash_drag
``planned``               the account's own whole-share holdings after its trades,      rounding
                          weighted at the decision prices (drift band, minimum order)
``held``                  the account's holdings marked at the close, no trading cost   delay
``executed``              ``held`` minus ``sum(q * (fill - close_of_fill_session))``    execution
``costed``                minus commissions, fees and taxes                             costs
``with_income``           plus cash the trades and flows do not explain (dividends)     income
``live``                  the account's TWR (what ``stats`` shows)                      residual
========================  ===========================================================  ==========

``model``, ``traded``, ``buffered`` and ``planned`` are simulated in money (fractional shares
at the stored session closes, flows added to cash); ``planned`` is reset on each traded session
to the account's shares after its fills, on its cash before them, all at the decision prices.
From ``held`` down the portfolios are the account's own NAV with the money of the later steps
put back: between snapshots ``t-1`` and ``t`` the P&L ``NAV_t - NAV_{t-1} - F_t`` is
``sum_i q_{t-1,i} (C_{i,t} - C_{i,t-1}) + sum_fills q (C_t - C_fill_session)`` (holding at the
closes) ``- sum_fills q (fill - C_fill_session)`` (execution) ``- commissions + income``
(recorded cash the trades and flows do not explain) ``+ residual``; since cash earns nothing,
``NAV + cumulated costs`` is exactly the account that made the same trades without them. Every
portfolio's TWR uses the account's flows and flow weight (``returns.twr_returns``). Positive
bucket = cost: the account fell short of the model by that much. The residual holds the
broker's marks against the stored closes, a NAV change no fill or recorded cash explains, and
NAV rounding: it must be tiny.

Instruments are in the base currency (an FX bucket would need the fills' rates). Second-order
interactions: the account without its earlier costs holds the same shares on a NAV larger by
them, a difference of order costs x return that ``delay`` holds.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date

import numpy as np

from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.returns import flows_on_dates, twr_returns

LADDER = ("model", "traded", "buffered", "planned", "held", "executed", "costed", "with_income", "live")


@dataclass(frozen=True, slots=True)
class Holdings:
    """A snapshot: NAV and cash (None when not recorded) in base currency, shares per symbol."""

    session: date
    nav: float
    cash: float | None
    shares: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ModelSignal:
    """A recorded signal the account planned on: target weights (fractions of NAV, the rest is
    cash) from the close of ``session``, and the plan's cash buffer (a fraction).
    ``held_on_purpose``: the account's approved plan had no order (every line within the drift
    band or under the minimum order): it acted on the signal by holding, which is not a
    missed trade."""

    session: date
    weights: Mapping[str, float]
    cash_buffer: float = 0.0
    held_on_purpose: bool = False


@dataclass(frozen=True, slots=True)
class ExecutedFill:
    """A fill on ``session`` (the exchange's date): ``quantity`` signed (+ buy, - sell), price
    and commission in base currency, the decision price it was planned at (None: not recorded,
    the previous close is used, the engine's convention)."""

    session: date
    symbol: str
    quantity: float
    price: float
    commission: float
    decision_price: float | None = None


class SessionCloses:
    """Closing prices per symbol; a session without its own close uses the last one before it."""

    def __init__(self, closes: Mapping[str, Mapping[date, float]]) -> None:
        self._dates: dict[str, list[date]] = {}
        self._values: dict[str, list[float]] = {}
        self._exact: dict[tuple[str, date], float] = {}  # most asks are for a session with its own close
        for symbol, by_date in closes.items():
            days = sorted(d for d, v in by_date.items() if v is not None and math.isfinite(v) and v > 0)
            self._dates[symbol] = days
            self._values[symbol] = [float(by_date[d]) for d in days]
            self._exact.update(((symbol, d), v) for d, v in zip(days, self._values[symbol]))

    def on(self, symbol: str, session: date) -> float:
        """The close of ``session`` (or the last one before it)."""
        exact = self._exact.get((symbol, session))
        if exact is not None:
            return exact
        return self._at(symbol, session, bisect_right(self._dates.get(symbol, []), session) - 1)

    def before(self, symbol: str, session: date) -> float:
        """The last close strictly before ``session`` (the engine's decision price)."""
        return self._at(symbol, session, bisect_left(self._dates.get(symbol, []), session) - 1)

    def _at(self, symbol: str, session: date, index: int) -> float:
        if index < 0:
            raise MissingClose(symbol, session)
        return self._values[symbol][index]


class MissingClose(AnalyticsInputError):
    """No raw close of ``symbol`` on or before ``session``: the caller knows what the store
    holds, and so what would fix it."""

    def __init__(self, symbol: str, session: date) -> None:
        super().__init__(f"no raw close of {symbol} on or before {session}")
        self.symbol = symbol
        self.session = session


@dataclass(frozen=True, slots=True)
class Buckets:
    """The gap's parts (fractions; positive = the account fell short of the model)."""

    selection: float
    cash_drag: float
    rounding: float
    delay: float
    execution: float
    costs: float
    income: float
    residual: float

    def total(self) -> float:
        return math.fsum(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Money:
    """The money behind the account-side buckets over a period (base currency, + = cost):
    execution ``sum(q * (fill - close))``, commissions, income received, and the delay the
    fills had against their decision price ``sum(q * (close - decision))``."""

    execution: float
    commissions: float
    income: float
    delay: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def summed(cls, parts: Sequence["Money"]) -> "Money":
        return cls(*(math.fsum(getattr(m, f.name) for m in parts) for f in fields(cls)))


@dataclass(frozen=True, slots=True)
class PeriodAttribution:
    """One month (``label`` ``YYYY-MM``) or the whole record (``"total"``)."""

    label: str
    start: date
    end: date
    returns: Mapping[str, float]
    buckets: Buckets
    money: Money

    @property
    def gap(self) -> float:
        """``TWR(model) - TWR(live)`` over the period (fraction)."""
        return self.returns["model"] - self.returns["live"]

    def to_dict(self) -> dict[str, object]:
        return {"period": self.label, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "model_return": self.returns["model"], "live_return": self.returns["live"], "gap": self.gap,
                "buckets": self.buckets.as_dict(), "buckets_sum": self.buckets.total(),
                "returns": dict(self.returns), "money": self.money.as_dict()}


@dataclass(frozen=True, slots=True)
class Attribution:
    """The record's attribution: per month, the whole period, and which model rebalances the
    account did not trade on their session (refused, missed or late)."""

    months: tuple[PeriodAttribution, ...]
    total: PeriodAttribution
    model_sessions: tuple[date, ...]
    traded_sessions: tuple[date, ...]

    @property
    def untraded_sessions(self) -> tuple[date, ...]:
        traded = set(self.traded_sessions)
        return tuple(d for d in self.model_sessions if d not in traded)

    def to_dict(self) -> dict[str, object]:
        return {"months": [m.to_dict() for m in self.months], "total": self.total.to_dict(),
                "model_sessions": [d.isoformat() for d in self.model_sessions],
                "traded_sessions": [d.isoformat() for d in self.traded_sessions],
                "untraded_model_sessions": [d.isoformat() for d in self.untraded_sessions]}


@dataclass(frozen=True, slots=True)
class AttributionInputs:
    """Snapshots (the first is the base), the signals the account planned on (those before the
    base decide what is in force on its first sessions), its fills, external flows by date,
    closes, and the flow weight ``w`` of the TWR (1 = start of day)."""

    snapshots: tuple[Holdings, ...]
    signals: tuple[ModelSignal, ...]
    fills: tuple[ExecutedFill, ...]
    flows: Mapping[date, float]
    closes: SessionCloses
    flow_weight: float = 1.0


class _Book:
    """A simulated portfolio: fractional shares and cash, marked at the stored closes."""

    def __init__(self, shares: Mapping[str, float], cash: float, closes: SessionCloses) -> None:
        self.shares = {s: q for s, q in shares.items() if q}
        self.cash = cash
        self._closes = closes

    def value(self, session: date) -> float:
        return self.cash + math.fsum(q * self._closes.on(s, session) for s, q in self.shares.items())

    def rebalance(self, weights: Mapping[str, float], session: date) -> None:
        nav = self.value(session)
        self.shares = {s: w * nav / self._closes.on(s, session) for s, w in weights.items() if w}
        self.cash = nav - math.fsum(q * self._closes.on(s, session) for s, q in self.shares.items())


def attribute(inputs: AttributionInputs) -> Attribution:
    """The ladder's returns per snapshot, grouped by month and over the whole record.

    Raises ``AnalyticsInputError`` with fewer than 2 snapshots, unordered snapshots, or a
    symbol with no stored close on a session it is needed.
    """
    snaps = inputs.snapshots
    if len(snaps) < 2:
        raise AnalyticsInputError("attribution needs at least 2 snapshots (a base and one session)")
    if any(b.session <= a.session for a, b in zip(snaps, snaps[1:])):
        raise AnalyticsInputError("snapshots must be in strictly increasing session order")
    base, last = snaps[0].session, snaps[-1].session
    fills = tuple(f for f in inputs.fills if base < f.session <= last)
    signals = tuple(sorted(inputs.signals, key=lambda s: s.session))
    dates = np.asarray([s.session for s in snaps], dtype="datetime64[D]")
    flows = flows_on_dates(dates, inputs.flows)
    parts = _interval_parts(inputs, fills, flows)
    unexplained = np.cumsum([0.0] + [p.income + p.residual for p in parts])
    simulated = _simulate(inputs, signals, fills, unexplained)
    navs = {name: np.asarray(values, dtype=np.float64) for name, values in simulated.items()}
    per_session = {name: twr_returns(values, flows, inputs.flow_weight) for name, values in navs.items()}
    per_session.update(_account_side(inputs, parts, flows))
    money = [Money(p.execution, p.commissions, p.income, p.delay) for p in parts]
    groups = _months([s.session for s in snaps[1:]])
    months = tuple(_period(label, idx, per_session, money, snaps) for label, idx in groups)
    total = _period("total", list(range(len(snaps) - 1)), per_session, money, snaps)
    model_sessions = tuple(s.session for s in signals if base < s.session <= last)
    traded = tuple(sorted({f.session for f in fills} | {s.session for s in signals
                                                        if s.held_on_purpose and base < s.session <= last}))
    return Attribution(months, total, model_sessions, traded)


def combine(label: str, periods: Sequence[PeriodAttribution]) -> PeriodAttribution:
    """Consecutive periods (months of one ``Attribution``) as one: each ladder portfolio's
    returns compounded, the buckets their neighbours' differences again (so they still sum
    to the gap), the money summed. ``AnalyticsInputError`` when ``periods`` is empty."""
    if not periods:
        raise AnalyticsInputError(f"{label}: no period to combine")
    returns = {name: math.prod(1.0 + p.returns[name] for p in periods) - 1.0 for name in LADDER}
    return _laddered(label, periods[0].start, periods[-1].end, returns, [p.money for p in periods])


def _simulate(inputs: AttributionInputs, signals: Sequence[ModelSignal], fills: Sequence[ExecutedFill],
              unexplained: np.ndarray) -> dict[str, list[float]]:
    """NAVs of the four simulated portfolios at every snapshot (base included). ``planned``
    weighs the account's shares on its cash without the income and residual received up to
    the last snapshot (``unexplained``): those have buckets of their own."""
    closes, snaps = inputs.closes, inputs.snapshots
    base = snaps[0]
    base_cash = _derived_cash(base, closes)
    books = {name: _Book(base.shares, base_cash, closes) for name in LADDER[:4]}
    navs: dict[str, list[float]] = {name: [base.nav] for name in books}
    live_shares, live_cash = dict(base.shares), base_cash
    by_session: dict[date, list[ExecutedFill]] = defaultdict(list)
    for fill in fills:
        by_session[fill.session].append(fill)
    signal_on = {s.session: s for s in signals}
    snapshot_on = {s.session: s for s in snaps[1:]}
    sessions = sorted({*snapshot_on, *by_session, *(d for d in signal_on if base.session < d <= snaps[-1].session)})
    flow_on = _flows_on_sessions(inputs.flows, base.session, sessions)
    for day in sessions:
        for book in books.values():
            book.cash += flow_on.get(day, 0.0)
        live_cash += flow_on.get(day, 0.0)
        if day in signal_on:
            books["model"].rebalance(signal_on[day].weights, day)
        todays = by_session.get(day)
        acted = day in signal_on and signal_on[day].held_on_purpose
        if todays or acted:
            in_force = _in_force(signals, day)
            if in_force is not None:
                books["traded"].rebalance(in_force.weights, day)
                books["buffered"].rebalance({s: w * (1.0 - in_force.cash_buffer)
                                             for s, w in in_force.weights.items()}, day)
        if todays:
            planned = _planned_weights(live_shares, live_cash, todays, day, closes)
            if planned is not None:
                books["planned"].rebalance(planned, day)
            for fill in todays:
                live_shares[fill.symbol] = live_shares.get(fill.symbol, 0.0) + fill.quantity
                live_cash -= fill.quantity * fill.price + fill.commission
        if day in snapshot_on:
            snap = snapshot_on[day]
            for name, book in books.items():
                navs[name].append(book.value(day))
            live_shares = dict(snap.shares)
            live_cash = _derived_cash(snap, closes) - float(unexplained[len(navs["model"]) - 1])
    return navs


def _derived_cash(snap: Holdings, closes: SessionCloses) -> float:
    """Cash such that cash + shares at the stored closes = the snapshot's NAV."""
    return snap.nav - math.fsum(q * closes.on(s, snap.session) for s, q in snap.shares.items() if q)


def _flows_on_sessions(flows: Mapping[date, float], base: date, sessions: Sequence[date]) -> dict[date, float]:
    out: dict[date, float] = defaultdict(float)
    for when, amount in flows.items():
        if when <= base:
            continue
        index = bisect_left(sessions, when)
        if index < len(sessions):
            out[sessions[index]] += float(amount)
    return out


def _in_force(signals: Sequence[ModelSignal], day: date) -> ModelSignal | None:
    index = bisect_right([s.session for s in signals], day) - 1
    return signals[index] if index >= 0 else None


def _planned_weights(shares: Mapping[str, float], cash: float, todays: Sequence[ExecutedFill], day: date,
                     closes: SessionCloses) -> dict[str, float] | None:
    """The account's holdings after the day's fills, weighted at the decision prices (the
    previous close where none was recorded) on the NAV before them: what the plan aimed at."""
    after = dict(shares)
    decided: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for fill in todays:
        after[fill.symbol] = after.get(fill.symbol, 0.0) + fill.quantity
        if fill.decision_price is not None:
            decided[fill.symbol][0] += abs(fill.quantity) * fill.decision_price
            decided[fill.symbol][1] += abs(fill.quantity)

    def price(symbol: str) -> float:
        amount, quantity = decided.get(symbol, (0.0, 0.0))
        return amount / quantity if quantity else closes.before(symbol, day)

    nav_before = cash + math.fsum(q * price(s) for s, q in shares.items() if q)
    if nav_before <= 0.0:
        return None
    return {s: q * price(s) / nav_before for s, q in after.items() if q}


def _account_side(inputs: AttributionInputs, parts: Sequence[_Interval], flows: np.ndarray) -> dict[str, np.ndarray]:
    """Per-snapshot returns of ``held`` .. ``live``: the account's NAV with the money of each
    later step put back (cash earns nothing, so that is exactly the account without it)."""
    navs = np.asarray([s.nav for s in inputs.snapshots], dtype=np.float64)

    def cumulated(values: Iterable[float]) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(np.asarray(list(values), dtype=np.float64))])

    with_income = navs - cumulated(p.residual for p in parts)
    costed = with_income - cumulated(p.income for p in parts)
    executed = costed + cumulated(p.commissions for p in parts)
    held = executed + cumulated(p.execution for p in parts)
    series = {"held": held, "executed": executed, "costed": costed, "with_income": with_income, "live": navs}
    return {name: twr_returns(values, flows, inputs.flow_weight) for name, values in series.items()}


@dataclass(frozen=True, slots=True)
class _Interval:
    """The account's money between two snapshots (+ = cost for execution and commissions)."""

    holding: float
    execution: float
    commissions: float
    income: float
    residual: float
    delay: float


def _interval_parts(inputs: AttributionInputs, fills: Sequence[ExecutedFill], flows: np.ndarray) -> list[_Interval]:
    snaps, closes = inputs.snapshots, inputs.closes
    sessions = [s.session for s in snaps]
    by_interval: dict[int, list[ExecutedFill]] = defaultdict(list)
    for fill in fills:
        by_interval[bisect_left(sessions, fill.session)].append(fill)
    out = []
    for t in range(1, len(snaps)):
        prev, now = snaps[t - 1], snaps[t]
        inside = by_interval.get(t, [])
        holding = math.fsum([q * (closes.on(s, now.session) - closes.on(s, prev.session))
                             for s, q in prev.shares.items() if q]
                            + [f.quantity * (closes.on(f.symbol, now.session) - closes.on(f.symbol, f.session))
                               for f in inside])
        execution = math.fsum(f.quantity * (f.price - closes.on(f.symbol, f.session)) for f in inside)
        commissions = math.fsum(f.commission for f in inside)
        income = 0.0
        if prev.cash is not None and now.cash is not None:
            income = math.fsum([now.cash, -prev.cash, -float(flows[t]), commissions]
                               + [f.quantity * f.price for f in inside])
        pnl = now.nav - prev.nav - float(flows[t])
        residual = math.fsum([pnl, -holding, execution, commissions, -income])
        delay = math.fsum(f.quantity * (closes.on(f.symbol, f.session) - _decision(f, closes)) for f in inside)
        out.append(_Interval(holding, execution, commissions, income, residual, delay))
    return out


def _decision(fill: ExecutedFill, closes: SessionCloses) -> float:
    return fill.decision_price if fill.decision_price is not None else closes.before(fill.symbol, fill.session)


def _months(sessions: Sequence[date]) -> list[tuple[str, list[int]]]:
    groups: dict[str, list[int]] = {}
    for i, day in enumerate(sessions):
        groups.setdefault(day.strftime("%Y-%m"), []).append(i)
    return list(groups.items())


def _period(label: str, indexes: Sequence[int], per_session: Mapping[str, np.ndarray], money: Sequence[Money],
            snaps: Sequence[Holdings]) -> PeriodAttribution:
    """Return ``i`` of ``per_session`` is the one of snapshot ``i + 1`` on the base ``snaps[i]``."""
    returns = {name: float(np.prod(1.0 + per_session[name][list(indexes)]) - 1.0) for name in LADDER}
    return _laddered(label, snaps[indexes[0]].session, snaps[indexes[-1] + 1].session, returns,
                     [money[i] for i in indexes])


def _laddered(label: str, start: date, end: date, returns: dict[str, float],
              money: Sequence[Money]) -> PeriodAttribution:
    """Each bucket is the difference of its two neighbours' returns on the ladder, so the
    buckets sum to ``returns["model"] - returns["live"]``."""
    steps = [returns[a] - returns[b] for a, b in zip(LADDER, LADDER[1:])]
    return PeriodAttribution(label, start, end, returns, Buckets(*steps), Money.summed(money))
