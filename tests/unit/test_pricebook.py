"""The engine's price book, extended one session at a time as a replay does: every view and
the month-end index must read exactly what a book built from the whole history at once reads,
and what ``prepare_month_ends`` computes from the bars up to the day asked."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.engine.pricebook import PriceBook
from trackrecord.market.base import PriceRow, PriceSeries
from trackrecord.strategy.momentum import month_number, prepare_month_ends

SYMBOLS = ("AAA", "BBB", "CCC")
START = date(2023, 11, 20)


@st.composite
def histories(draw: st.DrawFn) -> dict[str, list[tuple[date, float, float | None]]]:
    """Per symbol, bars on random days over ~5 months (gaps of up to 40 days: whole months missing)."""
    out = {}
    for symbol in SYMBOLS:
        steps = draw(st.lists(st.integers(1, 40), min_size=0, max_size=60))
        day, bars = START, []
        for step in steps:
            day += timedelta(days=step)
            raw = draw(st.one_of(st.none(), st.floats(1, 500)))
            bars.append((day, draw(st.floats(1, 500)), raw))
        out[symbol] = bars
    return out


def _series(bars: list[tuple[date, float, float | None]], symbol: str) -> PriceSeries:
    return PriceSeries(symbol, np.array([d for d, _, _ in bars], dtype="datetime64[D]"),
                       np.array([a for _, a, _ in bars], dtype=np.float64),
                       np.array([np.nan if r is None else r for _, _, r in bars], dtype=np.float64))


def _grown(history: dict[str, list[tuple[date, float, float | None]]], loaded_before: date) -> PriceBook:
    """Bars before ``loaded_before`` loaded at once, the rest extended one day at a time."""
    book = PriceBook({s: _series([b for b in bars if b[0] < loaded_before], s) for s, bars in history.items()},
                     SYMBOLS)
    rows = sorted((PriceRow(s, d, r, a) for s, bars in history.items() for d, a, r in bars if d >= loaded_before),
                  key=lambda row: row.session_date)
    for day in sorted({row.session_date for row in rows}):
        book.extend([row for row in rows if row.session_date == day])
    return book


def _same_series(got: PriceSeries, expected: PriceSeries) -> None:
    assert got.symbol == expected.symbol
    np.testing.assert_array_equal(got.dates, expected.dates)
    np.testing.assert_array_equal(got.adj_close, expected.adj_close)
    np.testing.assert_array_equal(got.close, expected.close)


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 160), st.integers(0, 160), st.integers(0, 60))
def test_a_book_grown_session_by_session_reads_as_one_loaded_at_once(history, cut: int, load: int,  # type: ignore[no-untyped-def]
                                                                       span: int) -> None:
    grown = _grown(history, START + timedelta(days=load))
    whole = PriceBook({s: _series(bars, s) for s, bars in history.items()}, SYMBOLS)
    until = START + timedelta(days=cut)
    start = until - timedelta(days=span)
    for symbol in SYMBOLS:
        _same_series(grown.series(until, start)[symbol], whole.series(until, start)[symbol])
        _same_series(grown.series()[symbol], whole.series()[symbol])
        assert grown.last_close(symbol, until) == whole.series(until)[symbol].valuation_price()
        assert grown.last_bar(symbol, until) == whole.last_bar(symbol, until)
        assert grown.last_date(symbol) == whole.last_date(symbol)
    assert grown.bars_on(until) == whole.bars_on(until)
    assert grown.latest() == whole.latest()


@settings(max_examples=80, deadline=None)
@given(histories(), st.integers(0, 200), st.integers(0, 200), st.integers(-2, 8), st.integers(0, 8))
def test_month_ends_are_those_of_prepare_month_ends_over_the_bars_known_then(history, cut: int, load: int,  # type: ignore[no-untyped-def]
                                                                            offset: int, months: int) -> None:
    book = _grown(history, START + timedelta(days=load))
    until = START + timedelta(days=cut)
    first = month_number(START) + offset
    table = book.month_ends(first, first + months, until)
    known = {s: (v.dates, v.adj_close) for s, v in book.series(until).items()}
    reference = prepare_month_ends(known)
    assert table.symbols == reference.symbols and table.first_month == first
    for row in range(months + 1):
        at = first + row - reference.first_month
        if 0 <= at < reference.closes.shape[0]:
            expected = (reference.closes[at], reference.dates[at], reference.complete[at])
        else:
            expected = (np.full(len(SYMBOLS), np.nan), np.full(len(SYMBOLS), np.datetime64("NaT"), "datetime64[D]"),
                        np.zeros(len(SYMBOLS), dtype=bool))
        np.testing.assert_array_equal(table.closes[row], expected[0])
        np.testing.assert_array_equal(table.dates[row], expected[1])
        np.testing.assert_array_equal(table.complete[row], expected[2])


def test_a_refetched_bar_replaces_the_last_one_and_an_older_bar_is_ignored() -> None:
    book = PriceBook({}, ("AAA",))
    book.extend([PriceRow("AAA", date(2026, 1, 30), 10.0, 10.0)])
    book.extend([PriceRow("AAA", date(2026, 1, 30), 11.0, 10.5)])
    book.extend([PriceRow("AAA", date(2026, 1, 29), 99.0, 99.0)])
    assert book.last_close("AAA", date(2026, 2, 1)) == (date(2026, 1, 30), 11.0)
    assert book.month_ends(month_number(date(2026, 1, 1)), month_number(date(2026, 1, 1)),
                           date(2026, 2, 1)).closes.tolist() == [[10.5]]
