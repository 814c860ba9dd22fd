"""The simulated account's valuation as a replay asks for it (issue 15 item 5): the held
positions, their average costs and the tape's marks are kept between snapshots, and every
snapshot still states the account as it stands after each trade; ``last_mark`` answers as
a search of the whole tape would at any moment."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.brokers.sim import CommissionModel, PriceTape, SimulatedBroker, SlippageModel
from trackrecord.domain import OrderRequest, OrderType, Side
from trackrecord.ledger.db import create_db_engine, migrate

NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2024, 3, 4)


def close_at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 16, tzinfo=NEW_YORK).astimezone(timezone.utc)


def _order(ref: str, symbol: str, side: Side, quantity: int) -> OrderRequest:
    return OrderRequest(ref, "plan", symbol, side, Decimal(quantity), OrderType.MARKET_ON_CLOSE, Decimal(100), "USD")


def test_each_snapshot_of_a_replay_values_the_holdings_after_the_latest_trades(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'book.db'}", durable=False)
    migrate(engine)
    tape = PriceTape()
    broker = SimulatedBroker(engine, tape, account_id="SIM1", base_currency="USD", slippage=SlippageModel(Decimal(0)),
                             commission=CommissionModel(Decimal(0), Decimal(0)),
                             exchange_tz=NEW_YORK)
    broker.advance_to(close_at(DAY) - timedelta(hours=7))
    broker.deposit(Decimal(100_000), close_at(DAY) - timedelta(hours=7))
    days = [DAY + timedelta(days=n) for n in range(4)]
    prices = {"XLB": ["50", "51", "52", "53"], "XLK": ["200", "210", "190", "195"], "XLU": ["70", "71", "72", "73"]}
    trades = {0: [("XLK", Side.BUY, 100), ("XLB", Side.BUY, 300)], 2: [("XLK", Side.SELL, 100), ("XLU", Side.BUY, 50),
                                                                       ("XLB", Side.BUY, 100)]}
    seen = []
    for index, day in enumerate(days):
        broker.advance_to(close_at(day) - timedelta(minutes=10))
        for n, (symbol, side, quantity) in enumerate(trades.get(index, [])):
            broker.place_order(_order(f"r{index}-{n}", symbol, side, quantity))
        tape.record_stored_closes(day, close_at(day), [(s, float(p[index])) for s, p in prices.items()])
        broker.on_session_close(day, close_at(day))
        seen.append(broker.snapshot(close_at(day) + timedelta(minutes=5)))
    holdings = [[(p.symbol, p.quantity, p.avg_cost, p.market_price, p.price_date) for p in s.positions] for s in seen]
    assert holdings[0] == [("XLB", 300, 50, 50, days[0]), ("XLK", 100, 200, 200, days[0])]
    assert holdings[1] == [("XLB", 300, 50, 51, days[1]), ("XLK", 100, 200, 210, days[1])]
    assert holdings[2] == [("XLB", 400, Decimal("50.5"), 52, days[2]), ("XLU", 50, 72, 72, days[2])]  # XLK sold
    assert holdings[3] == [("XLB", 400, Decimal("50.5"), 53, days[3]), ("XLU", 50, 72, 73, days[3])]
    for snapshot in seen:
        assert snapshot.net_liquidation == snapshot.cash + sum(p.market_value for p in snapshot.positions)
        assert snapshot.session_date == days[seen.index(snapshot)]
    assert seen[3].cash == 100_000 - 100 * 200 - 300 * 50 + 100 * 190 - 50 * 72 - 100 * 52
    engine.dispose()


moments = st.integers(-3, 40).map(lambda minutes: close_at(DAY) + timedelta(minutes=minutes))


@given(st.lists(st.tuples(moments, st.integers(1, 500)), max_size=12), st.lists(moments, min_size=1, max_size=8))
@settings(max_examples=200)
def test_last_mark_answers_as_a_search_of_the_whole_tape_at_any_moment(
        prints: list[tuple[datetime, int]], asked: list[datetime]) -> None:
    tape = PriceTape()
    for at, price in prints:  # in any order, repeated moments included
        tape.record("XLK", at, Decimal(price))
    ordered = sorted(prints, key=lambda p: p[0])  # stable: a later print of the same moment comes after
    times = [at for at, _ in ordered]
    for at in sorted(asked) + asked:
        index = bisect_right(times, at) - 1
        expected = None if index < 0 else (times[index], tape.last_price("XLK", at))
        assert tape.last_mark("XLK", at) == expected
        if expected is not None:
            assert expected[1] == Decimal(ordered[index][1])
    assert tape.last_mark("NONE", close_at(DAY)) is None
