"""SimulatedBroker beyond the contract: costs, seed determinism, DAY expiry, FX, clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from trackrecord.brokers.base import BrokerError, OrderRejected
from trackrecord.brokers.sim import CommissionModel, PriceTape, SimulatedBroker, SlippageModel
from trackrecord.domain import IbContract, Instrument, OrderRequest, OrderStatus, OrderType, Side

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)
CLOSE = datetime(2024, 3, 4, 16, 35, tzinfo=timezone.utc)
DAY = date(2024, 3, 4)


def _engine(path: Path):  # type: ignore[no-untyped-def]
    from trackrecord.ledger.db import create_db_engine, migrate

    engine = create_db_engine(f"sqlite:///{path}", durable=False)  # a throw-away book: no fsync per commit
    migrate(engine)
    return engine


def _order(ref: str, symbol: str = "SXLK", side: Side = Side.BUY, quantity: str = "100",
           order_type: OrderType = OrderType.MARKET_ON_CLOSE, limit: str | None = None,
           currency: str = "GBP") -> OrderRequest:
    return OrderRequest(ref, "plan", symbol, side, Decimal(quantity), order_type, Decimal(100), currency,
                        None if limit is None else Decimal(limit))


def _broker(engine, tape: PriceTape, seed: int = 1, bps: str = "2", **kw) -> SimulatedBroker:  # type: ignore[no-untyped-def]
    broker = SimulatedBroker(engine, tape, slippage=SlippageModel(Decimal(bps), seed), **kw)
    if broker.now is None:
        broker.advance_to(T0)
    return broker


def _tape() -> PriceTape:
    tape = PriceTape()
    tape.record("SXLK", T0 - timedelta(hours=1), Decimal(100))
    tape.record_close("SXLK", DAY, CLOSE, Decimal("101.37"))
    return tape


def test_commission_is_the_rate_with_a_minimum_per_order() -> None:
    model = CommissionModel(Decimal("0.0005"), Decimal(3))
    assert model.commission(Decimal(1000)) == Decimal("3.00")
    assert model.commission(Decimal(33_000)) == Decimal("16.50")
    assert model.commission(Decimal(-33_000)) == Decimal("16.50")
    assert model.commission(Decimal("6000.01")) == Decimal("3.00")


def test_slippage_is_adverse_bounded_and_a_pure_function_of_seed_and_key() -> None:
    model = SlippageModel(Decimal(2), seed=7)
    for n in range(200):
        buy = model.fill_price(Decimal(100), Side.BUY, f"k{n}")
        sell = model.fill_price(Decimal(100), Side.SELL, f"k{n}")
        assert Decimal(100) <= buy <= Decimal("100.04") and Decimal("99.96") <= sell <= Decimal(100)
    assert model.fill_price(Decimal(100), Side.BUY, "x") == SlippageModel(Decimal(2), seed=7).fill_price(
        Decimal(100), Side.BUY, "x")
    assert SlippageModel(Decimal(0)).fill_price(Decimal("101.37"), Side.BUY, "x") == Decimal("101.37")


def _run(tmp_path: Path, name: str, seed: int) -> list[tuple[str, Decimal, Decimal]]:
    engine = _engine(tmp_path / f"{name}.db")
    broker = _broker(engine, _tape(), seed=seed)
    broker.deposit(Decimal(100_000), T0)
    for n, symbol in enumerate(("SXLK", "SXLK", "SXLK")):
        broker.place_order(_order(f"r{n}", symbol, quantity=str(10 * (n + 1))))
    fills = broker.on_session_close(DAY, CLOSE)
    engine.dispose()
    return [(f.exec_id, f.price, f.commission) for f in fills]  # type: ignore[misc]


def test_the_same_seed_gives_the_same_fills_and_another_seed_other_prices(tmp_path: Path) -> None:
    first, again, other = _run(tmp_path, "a", 1), _run(tmp_path, "b", 1), _run(tmp_path, "c", 2)
    assert first == again
    assert [exec_id for exec_id, _, _ in first] == ["SIM-1-1", "SIM-2-1", "SIM-3-1"]
    assert [price for _, price, _ in first] != [price for _, price, _ in other]


def test_unfilled_day_orders_expire_at_the_close(tmp_path: Path) -> None:
    broker = _broker(_engine(tmp_path / "x.db"), _tape())
    broker.place_order(_order("lmt", order_type=OrderType.LIMIT, limit="90"))
    broker.place_order(_order("moc-no-close", symbol="SXLF"))
    assert broker.on_session_close(DAY, CLOSE) == []
    statuses = {ref: broker.order(ref).status for ref in ("lmt", "moc-no-close")}  # type: ignore[union-attr]
    assert statuses == {"lmt": OrderStatus.CANCELLED, "moc-no-close": OrderStatus.CANCELLED}
    assert "no closing price" in broker.order("moc-no-close").message  # type: ignore[union-attr]
    assert broker.open_orders() == []


def test_market_order_waits_for_a_price_after_it_was_placed(tmp_path: Path) -> None:
    tape = _tape()
    broker = _broker(_engine(tmp_path / "x.db"), tape, bps="0")
    broker.place_order(_order("m", order_type=OrderType.MARKET))
    assert broker.advance_to(T0) == []  # same instant: not the next price
    (fill,) = broker.advance_to(T0 + timedelta(seconds=1))
    assert fill.price == Decimal(100) and fill.commission == Decimal("5.00")  # 0.05% of £10,000


def test_buy_limit_never_fills_above_its_limit(tmp_path: Path) -> None:
    tape = _tape()
    broker = _broker(_engine(tmp_path / "x.db"), tape, bps="50")
    broker.place_order(_order("l", order_type=OrderType.LIMIT, limit="99.99"))
    tape.record("SXLK", T0 + timedelta(minutes=1), Decimal("99.99"))
    (fill,) = broker.advance_to(T0 + timedelta(minutes=1))
    assert fill.price == Decimal("99.99")


def test_invalid_orders_are_rejected_and_nothing_is_booked(tmp_path: Path) -> None:
    broker = _broker(_engine(tmp_path / "x.db"), _tape())
    for bad in (_order("q", quantity="0"), _order("l", order_type=OrderType.LIMIT),
                _order("fx", currency="USD")):
        with pytest.raises(OrderRejected):
            broker.place_order(bad)
    assert broker.open_orders() == []
    broker.place_order(_order("q", quantity="1"))  # a rejected ref was never booked


def test_clock_must_start_and_never_goes_back(tmp_path: Path) -> None:
    broker = SimulatedBroker(_engine(tmp_path / "x.db"), _tape())
    with pytest.raises(BrokerError, match="clock has not started"):
        broker.place_order(_order("early"))
    broker.advance_to(T0)
    with pytest.raises(ValueError, match="cannot go back"):
        broker.advance_to(T0 - timedelta(seconds=1))
    with pytest.raises(ValueError, match="naive"):
        broker.advance_to(datetime(2024, 3, 5))


def test_the_clock_resumes_where_the_book_left_it(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "x.db")
    broker = _broker(engine, _tape())
    broker.deposit(Decimal(1000), T0 + timedelta(hours=2))
    assert SimulatedBroker(engine, _tape()).now == T0 + timedelta(hours=2)


def test_withdrawals_beyond_cash_are_refused(tmp_path: Path) -> None:
    broker = _broker(_engine(tmp_path / "x.db"), _tape())
    broker.deposit(Decimal(1000), T0)
    assert broker.withdraw(Decimal(400), T0) == Decimal(600)
    with pytest.raises(BrokerError, match="exceeds the cash"):
        broker.withdraw(Decimal(601), T0)


def test_positions_in_another_currency_are_valued_at_the_fx_rate(tmp_path: Path) -> None:
    tape = PriceTape()
    tape.record_close("XLK", DAY, CLOSE, Decimal(200))
    broker = _broker(_engine(tmp_path / "x.db"), tape, bps="0", fx_rates={"USD": Decimal("0.8")})
    broker.deposit(Decimal(10_000), T0)
    broker.place_order(_order("usd", symbol="XLK", quantity="10", currency="USD"))
    (fill,) = broker.on_session_close(DAY, CLOSE)
    assert fill.commission == Decimal("3.00") and fill.currency == "USD" and fill.commission_currency == "GBP"
    snap = broker.snapshot(CLOSE)
    (position,) = snap.positions
    assert position.market_price == Decimal(200) and position.market_value == Decimal(1600)
    assert snap.cash == Decimal(10_000) - Decimal(1600) - Decimal(3)
    assert snap.net_liquidation == Decimal(10_000) - Decimal(3)


def test_snapshot_uses_the_latest_price_at_or_before_as_of(tmp_path: Path) -> None:
    tape = _tape()
    broker = _broker(_engine(tmp_path / "x.db"), tape, bps="0")
    broker.deposit(Decimal(100_000), T0)
    broker.place_order(_order("b", quantity="10"))
    broker.on_session_close(DAY, CLOSE)
    tape.record("SXLK", CLOSE + timedelta(days=1), Decimal(110))
    assert broker.snapshot(CLOSE).positions[0].market_price == Decimal("101.37")
    assert broker.snapshot(CLOSE + timedelta(days=1)).positions[0].market_value == Decimal(1100)
    assert broker.snapshot(CLOSE).session_date == DAY


def test_average_cost_follows_buys_and_survives_partial_sales(tmp_path: Path) -> None:
    tape = _tape()
    broker = _broker(_engine(tmp_path / "x.db"), tape, bps="0")
    broker.deposit(Decimal(100_000), T0)
    broker.place_order(_order("b1", order_type=OrderType.MARKET, quantity="10"))
    tape.record("SXLK", T0 + timedelta(minutes=1), Decimal(100))
    broker.advance_to(T0 + timedelta(minutes=1))
    broker.place_order(_order("b2", order_type=OrderType.MARKET, quantity="10"))
    tape.record("SXLK", T0 + timedelta(minutes=2), Decimal(110))
    broker.advance_to(T0 + timedelta(minutes=2))
    broker.place_order(_order("s1", side=Side.SELL, order_type=OrderType.MARKET, quantity="5"))
    tape.record("SXLK", T0 + timedelta(minutes=3), Decimal(120))
    broker.advance_to(T0 + timedelta(minutes=3))
    (position,) = broker.snapshot(T0 + timedelta(minutes=3)).positions
    assert position.quantity == 15 and position.avg_cost == Decimal(105)


def test_qualify_pins_a_stable_contract_id() -> None:
    instrument = Instrument("SXLK", "SXLK.L", "Technology", "GBP", "GBX", "XLON", IbContract("SXLK", "SMART", "GBP"))
    broker = object.__new__(SimulatedBroker)
    first = SimulatedBroker.qualify(broker, [instrument])["SXLK"]
    assert first.ib.con_id and first.ib.con_id == SimulatedBroker.qualify(broker, [instrument])["SXLK"].ib.con_id
    pinned = replace(instrument, ib=replace(instrument.ib, con_id=42))
    assert SimulatedBroker.qualify(broker, [pinned])["SXLK"].ib.con_id == 42


def test_two_accounts_share_a_database_without_mixing(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "x.db")
    one = _broker(engine, _tape(), account_id="SIM0001")
    two = _broker(engine, _tape(), account_id="SIM0002")
    one.deposit(Decimal(500), T0)
    one.place_order(_order("same-ref"))
    two.place_order(_order("same-ref"))  # refs are unique per account
    assert SimulatedBroker(engine, _tape(), account_id="SIM0002").cash == 0
    fills = one.on_session_close(DAY, CLOSE) + two.on_session_close(DAY, CLOSE)
    assert len({fill.exec_id for fill in fills}) == 2


def test_a_decade_of_daily_sessions_is_cheap(tmp_path: Path) -> None:
    """Per-session work stays in memory: 2,520 sessions with monthly trades well under a second."""
    import time

    closes = {}
    days = [date(2010, 1, 4) + timedelta(days=n) for n in range(3650)]
    days = [d for d in days if d.weekday() < 5][:2520]
    for symbol, drift in (("A", "1.0003"), ("B", "1.0001"), ("C", "0.9999")):
        price, series = Decimal(100), []
        for d in days:
            price = (price * Decimal(drift)).quantize(Decimal("0.0001"))
            series.append((d, price))
        closes[symbol] = series
    close_at = lambda d: datetime(d.year, d.month, d.day, 16, 35, tzinfo=timezone.utc)  # noqa: E731
    tape = PriceTape.from_daily_closes(closes, close_at)
    broker = SimulatedBroker(_engine(tmp_path / "x.db"), tape)
    broker.deposit(Decimal(100_000), close_at(days[0]))
    started, n, month = time.perf_counter(), 0, None
    for d in days[1:]:
        morning = close_at(d) - timedelta(hours=7)
        broker.advance_to(morning)
        snap = broker.snapshot(morning)
        if d.month != month:
            month = d.month
            for position in snap.positions:
                n += 1
                broker.place_order(_order(f"r{n}", position.symbol, Side.SELL, str(position.quantity)))
            for symbol in ("A", "B", "C"):
                n += 1
                quantity = (snap.net_liquidation * Decimal("0.3") / tape.last_price(symbol, morning)).quantize(Decimal(1))
                broker.place_order(_order(f"r{n}", symbol, quantity=str(quantity)))
        broker.on_session_close(d, close_at(d))
    assert time.perf_counter() - started < 1.0
    assert len(broker.executions_since(close_at(days[0]))) == n


def test_a_stored_close_on_the_tape_is_priced_as_decision_price_prices_it_when_asked() -> None:
    from trackrecord.domain.prices import decision_price

    closes = [("SXLK", 101.37000000000002), ("SXLF", 41.229999999999997), ("SXLE", 7.00005), ("SXLU", 7)]
    stored, exact = PriceTape(), PriceTape()
    stored.record_stored_closes(DAY, CLOSE, closes)
    for symbol, price in closes:
        exact.record_close(symbol, DAY, CLOSE, decision_price(price))
    for tape in (stored, stored, exact):  # asked twice: the priced value is kept
        for symbol, price in closes:
            assert tape.session_close(symbol, DAY) == decision_price(price)
            assert type(tape.session_close(symbol, DAY)) is Decimal
            assert tape.last_price(symbol, CLOSE) == decision_price(price)
            assert tape.last_mark(symbol, CLOSE + timedelta(minutes=30)) == (CLOSE, decision_price(price))
            assert tape.last_price(symbol, CLOSE - timedelta(seconds=1)) is None
    assert stored.session_close("SXLK", date(2024, 3, 5)) is None and stored.session_close("NONE", DAY) is None
