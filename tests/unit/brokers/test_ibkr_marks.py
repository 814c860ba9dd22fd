"""The rule that dates IB's undated marks from our stored closes (brokers/ibkr/marks.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trackrecord.brokers.ibkr.marks import LOOKBACK_SESSIONS, date_stale_marks
from trackrecord.domain import Position

DAYS = [date(2026, 5, 18) + timedelta(days=n) for n in range(15)]


def _held(price: str, symbol: str = "SXLK") -> Position:
    mark = Decimal(price)
    return Position(symbol, Decimal(10), mark, mark, mark * 10, "GBP")


def _closes(*prices: float) -> dict[str, list[tuple[date, float]]]:
    return {"SXLK": list(zip(DAYS[-len(prices):], prices))}


def test_a_mark_equal_to_an_earlier_close_is_dated_that_session() -> None:
    [dated] = date_stale_marks([_held("45.10")], _closes(45.10, 45.30, 45.55))
    assert dated.price_date == DAYS[-3]


def test_a_line_that_truly_did_not_move_is_not_flagged() -> None:
    [position] = date_stale_marks([_held("45.10")], _closes(45.10, 45.10, 45.10))
    assert position.price_date is None


def test_a_mark_with_no_stored_close_to_compare_stays_undated() -> None:
    assert date_stale_marks([_held("45.10")], {})[0].price_date is None
    assert date_stale_marks([_held("45.10")], _closes(45.10))[0].price_date is None  # the session's close only


def test_a_close_rounded_differently_by_another_source_still_matches() -> None:
    [dated] = date_stale_marks([_held("45.1")], _closes(45.100001, 45.55))
    assert dated.price_date == DAYS[-2]


def test_marks_older_than_the_lookback_are_not_searched() -> None:
    closes = _closes(45.10, *[46.0 + n for n in range(LOOKBACK_SESSIONS)])
    assert date_stale_marks([_held("45.10")], closes)[0].price_date is None


@given(st.lists(st.decimals("1", "500", places=2), min_size=1, max_size=12), st.decimals("1", "500", places=2))
def test_a_dated_mark_is_always_an_earlier_session_whose_close_is_the_mark(history: list[Decimal],
                                                                         mark: Decimal) -> None:
    closes = _closes(*[float(p) for p in history])
    [position] = date_stale_marks([_held(str(mark))], closes)
    if position.price_date is None:
        return
    by_day = dict(closes["SXLK"])
    assert position.price_date < closes["SXLK"][-1][0]
    assert abs(by_day[position.price_date] - float(mark)) <= 5e-5 * float(mark)
    assert abs(closes["SXLK"][-1][1] - float(mark)) > 5e-5 * float(mark)
