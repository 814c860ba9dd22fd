"""Model-vs-live attribution on toy accounts with one known friction each: the friction's own
bucket carries the gap, and the buckets always sum to it (issue 15 item 3)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.analytics.attribution import (
    AttributionInputs,
    ExecutedFill,
    Holdings,
    ModelSignal,
    SessionCloses,
    attribute,
)
from trackrecord.analytics.errors import AnalyticsInputError

SYMBOLS = ("AAA", "BBB", "CCC")


@dataclass(frozen=True)
class Frictions:
    cash_buffer: float = 0.0
    commission: float = 0.0  # per fill
    slippage_bps: float = 0.0
    whole_shares: bool = False
    decide_at_previous_close: bool = False
    refused: frozenset[int] = frozenset()  # indexes of the signals whose rebalance is refused
    deposit_on: int | None = None  # session index of a 20,000 deposit


@dataclass
class Toy:
    snapshots: list[Holdings] = field(default_factory=list)
    fills: list[ExecutedFill] = field(default_factory=list)
    signals: list[ModelSignal] = field(default_factory=list)
    flows: dict[date, float] = field(default_factory=dict)
    closes: dict[str, dict[date, float]] = field(default_factory=dict)

    def inputs(self) -> AttributionInputs:
        return AttributionInputs(tuple(self.snapshots), tuple(self.signals), tuple(self.fills), self.flows,
                                 SessionCloses(self.closes))


def _sessions(count: int) -> list[date]:
    day, out = date(2026, 1, 30), []
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def toy_account(frictions: Frictions, seed: int = 3, months: int = 3) -> Toy:
    """An account that trades every signal with ``frictions``, snapshotted every session."""
    rng = random.Random(seed)
    sessions = _sessions(1 + 21 * months)
    toy = Toy(closes={s: {} for s in SYMBOLS})
    price = {s: 50.0 + 25 * i for i, s in enumerate(SYMBOLS)}
    for day in sessions:
        for s in SYMBOLS:
            price[s] *= 1.0 + rng.gauss(0.0004, 0.015)
            toy.closes[s][day] = round(price[s], 4)
    shares: dict[str, float] = {}
    cash = 100_000.0
    toy.snapshots.append(Holdings(sessions[0], cash, cash, {}))
    for index, day in enumerate(sessions[1:], start=1):
        if frictions.deposit_on == index:
            toy.flows[day] = 20_000.0
            cash += 20_000.0
        if index % 21 == 1:
            chosen = rng.sample(SYMBOLS, 2)
            weights = {s: (0.6 if k == 0 else 0.4) for k, s in enumerate(chosen)}
            toy.signals.append(ModelSignal(day, weights, frictions.cash_buffer))
            if len(toy.signals) - 1 not in frictions.refused:
                cash = _trade(toy, day, sessions[index - 1], weights, shares, cash, frictions)
        nav = cash + sum(q * toy.closes[s][day] for s, q in shares.items())
        toy.snapshots.append(Holdings(day, nav, cash, dict(shares)))
    return toy


def _trade(toy: Toy, day: date, before: date, weights: dict[str, float], shares: dict[str, float], cash: float,
           f: Frictions) -> float:
    decision = {s: toy.closes[s][before if f.decide_at_previous_close else day] for s in SYMBOLS}
    nav = cash + sum(q * decision[s] for s, q in shares.items())
    for s in SYMBOLS:
        goal = weights.get(s, 0.0) * (1.0 - f.cash_buffer) * nav / decision[s]
        goal = math.floor(goal) if f.whole_shares else goal
        delta = goal - shares.get(s, 0.0)
        if abs(delta) < 1e-12:
            continue
        fill = toy.closes[s][day] * (1.0 + math.copysign(f.slippage_bps / 1e4, delta))
        toy.fills.append(ExecutedFill(day, s, delta, fill, f.commission, decision[s]))
        shares[s] = goal
        cash -= delta * fill + f.commission
    return cash


def _buckets(toy: Toy) -> tuple[float, dict[str, float]]:
    total = attribute(toy.inputs()).total
    return total.gap, total.buckets.as_dict()


def _only(bucket: str, gap: float, buckets: dict[str, float], interaction: float = 1e-12) -> None:
    assert abs(gap) > 1e-5, "the friction must open a gap"
    assert buckets[bucket] == pytest.approx(gap, abs=interaction), buckets
    others = {k: v for k, v in buckets.items() if k != bucket}
    assert sum(abs(v) for v in others.values()) <= interaction, others


def test_without_frictions_the_account_is_its_model() -> None:
    gap, buckets = _buckets(toy_account(Frictions()))
    assert abs(gap) < 1e-12 and all(abs(v) < 1e-12 for v in buckets.values()), buckets


def test_a_refused_rebalance_is_selection() -> None:
    _only("selection", *_buckets(toy_account(Frictions(refused=frozenset({1})))))


def test_the_cash_buffer_is_cash_drag() -> None:
    _only("cash_drag", *_buckets(toy_account(Frictions(cash_buffer=0.05))))


def test_whole_shares_are_rounding() -> None:
    toy = toy_account(Frictions(whole_shares=True))
    _only("rounding", *_buckets(toy))


def test_deciding_on_the_previous_close_is_delay() -> None:
    _only("delay", *_buckets(toy_account(Frictions(decide_at_previous_close=True))))


def test_commissions_are_costs_and_their_money_is_the_commission_paid() -> None:
    toy = toy_account(Frictions(commission=7.5))
    gap, buckets = _buckets(toy)
    # the same trades without their commissions, exactly; the earlier commissions' effect on
    # the later weights (second order: costs x return) is in delay
    _only("costs", gap, buckets, interaction=0.01 * gap)
    money = attribute(toy.inputs()).total.money
    assert money.commissions == pytest.approx(7.5 * len(toy.fills), abs=1e-9)
    assert buckets["costs"] == pytest.approx(money.commissions / 100_000.0, rel=1e-9)  # cash earns nothing


def test_slippage_is_execution_and_its_money_is_the_slippage_paid() -> None:
    toy = toy_account(Frictions(slippage_bps=5.0))
    gap, buckets = _buckets(toy)
    _only("execution", gap, buckets, interaction=0.01 * gap)
    paid = sum(abs(f.quantity) * f.price * 5.0 / 1e4 / (1 + 5.0 / 1e4 * math.copysign(1, f.quantity))
               for f in toy.fills)
    money = attribute(toy.inputs()).total.money
    assert money.execution == pytest.approx(paid, rel=1e-9)
    assert buckets["execution"] == pytest.approx(money.execution / 100_000.0, rel=1e-9)


def test_dividends_received_are_income() -> None:
    toy = toy_account(Frictions())
    paid_on = 30
    for i in range(paid_on, len(toy.snapshots)):
        s = toy.snapshots[i]
        toy.snapshots[i] = Holdings(s.session, s.nav + 250.0, s.cash + 250.0, s.shares)
    gap, buckets = _buckets(toy)
    assert buckets["income"] < 0 and abs(gap) > 1e-4  # the account earned what the model did not
    _only("income", gap, buckets)


def test_a_nav_the_holdings_do_not_explain_is_residual() -> None:
    toy = toy_account(Frictions())
    for i in range(40, len(toy.snapshots)):  # a fee the broker took without a record of its cash
        s = toy.snapshots[i]
        toy.snapshots[i] = Holdings(s.session, s.nav - 100.0, None, s.shares)
    gap, buckets = _buckets(toy)
    _only("residual", gap, buckets)


def test_every_month_and_the_total_sum_to_their_gap_with_all_frictions_at_once() -> None:
    toy = toy_account(Frictions(cash_buffer=0.02, commission=3.0, slippage_bps=4.0, whole_shares=True,
                                decide_at_previous_close=True, refused=frozenset({1}), deposit_on=30))
    result = attribute(toy.inputs())
    assert [m.label for m in result.months] == ["2026-02", "2026-03", "2026-04"]
    assert result.months[0].start == date(2026, 1, 30)  # January's last session is February's base
    for period in (*result.months, result.total):
        assert period.buckets.total() == pytest.approx(period.gap, abs=1e-9)
    assert result.untraded_sessions == (toy.signals[1].session,)
    assert all(result.total.buckets.as_dict()[k] > 0 for k in ("selection", "cash_drag", "costs", "execution")) \
        or result.total.buckets.selection < 0  # a refusal can help: its sign is the market's
    assert abs(result.total.buckets.residual) < 1e-12


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), buffer=st.sampled_from([0.0, 0.01, 0.1]), commission=st.sampled_from([0.0, 3.0]),
       slippage=st.sampled_from([0.0, 2.0, 25.0]), whole=st.booleans(), previous=st.booleans(),
       refused=st.sets(st.integers(0, 2), max_size=2), deposit=st.one_of(st.none(), st.integers(1, 60)))
def test_property_the_buckets_always_sum_to_the_gap(seed: int, buffer: float, commission: float, slippage: float,
                                                    whole: bool, previous: bool, refused: set[int],
                                                    deposit: int | None) -> None:
    toy = toy_account(Frictions(buffer, commission, slippage, whole, previous, frozenset(refused), deposit), seed)
    result = attribute(toy.inputs())
    for period in (*result.months, result.total):
        assert math.isclose(period.buckets.total(), period.gap, abs_tol=1e-9)
        assert math.isclose(period.returns["live"], _live_twr(toy, period.start, period.end), abs_tol=1e-12)


def _live_twr(toy: Toy, start: date, end: date) -> float:
    growth = 1.0
    for a, b in zip(toy.snapshots, toy.snapshots[1:]):
        if start < b.session <= end:
            flow = toy.flows.get(b.session, 0.0)
            growth *= 1.0 + (b.nav - a.nav - flow) / (a.nav + flow)
    return growth - 1.0


def test_one_snapshot_is_not_a_record() -> None:
    toy = toy_account(Frictions())
    toy.snapshots = toy.snapshots[:1]
    with pytest.raises(AnalyticsInputError, match="at least 2 snapshots"):
        attribute(toy.inputs())


def test_months_combined_are_the_whole_record_and_their_buckets_still_sum_to_the_gap() -> None:
    from trackrecord.analytics.attribution import combine

    toy = toy_account(Frictions(cash_buffer=0.02, commission=3.0, slippage_bps=4.0, whole_shares=True,
                                refused=frozenset({1}), deposit_on=30))
    result = attribute(toy.inputs())
    whole = combine("ytd", result.months)
    assert (whole.start, whole.end) == (result.total.start, result.total.end)
    for name, value in result.total.returns.items():
        assert whole.returns[name] == pytest.approx(value, abs=1e-13), name
    assert whole.buckets.total() == pytest.approx(whole.gap, abs=1e-12)
    assert whole.money.commissions == pytest.approx(result.total.money.commissions, abs=1e-9)
    two = combine("two", result.months[1:])
    assert two.gap == pytest.approx(math.prod(1 + m.returns["model"] for m in result.months[1:])
                                    - math.prod(1 + m.returns["live"] for m in result.months[1:]), abs=1e-13)
    with pytest.raises(AnalyticsInputError, match="no period"):
        combine("none", ())


def test_a_missing_close_names_the_symbol_and_the_session() -> None:
    from trackrecord.analytics.attribution import MissingClose

    toy = toy_account(Frictions())
    first = toy.signals[0]
    lacking = sorted(first.weights)[0]
    toy.closes[lacking] = {d: v for d, v in toy.closes[lacking].items() if d > first.session}
    with pytest.raises(MissingClose) as raised:
        attribute(toy.inputs())
    assert raised.value.symbol == lacking and raised.value.session == first.session
    assert str(raised.value) == f"no raw close of {lacking} on or before {first.session}"


def test_every_period_names_each_bucket_after_its_ladder_step_and_sums_every_money_field() -> None:
    """Months, the whole record and a combined period are built by one ladder: a bucket put
    on the wrong step or a money field left out would still let the buckets sum to the gap."""
    from dataclasses import fields

    from trackrecord.analytics.attribution import LADDER, Buckets, Money, combine

    toy = toy_account(Frictions(cash_buffer=0.02, commission=3.0, slippage_bps=4.0, whole_shares=True,
                                refused=frozenset({1}), deposit_on=30))
    result = attribute(toy.inputs())
    steps = [f.name for f in fields(Buckets)]
    assert steps == ["selection", "cash_drag", "rounding", "delay", "execution", "costs", "income", "residual"]
    for period in (*result.months, result.total, combine("ytd", result.months)):
        for name, (upper, lower) in zip(steps, zip(LADDER, LADDER[1:])):
            assert getattr(period.buckets, name) == period.returns[upper] - period.returns[lower], (period.label, name)
    whole = combine("ytd", result.months)
    for field in fields(Money):
        assert getattr(whole.money, field.name) == math.fsum(getattr(m.money, field.name) for m in result.months)
        assert getattr(result.total.money, field.name) == pytest.approx(getattr(whole.money, field.name), abs=1e-9)
    assert result.total.money.commissions > 0 and result.total.money.execution > 0
