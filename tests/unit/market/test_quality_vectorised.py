"""The signal's gate over all symbols at once gives the report of the gate symbol by symbol
(tests/unit/market/quality_reference.py, the code before): the same results, details and
dates, on random windows with holes, jumps, NaN and non-positive prices, stale and missing
symbols, bars before the window and after its end."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.market.base import PriceSeries
from trackrecord.market.quality import check_quality
from tests.unit.market.quality_reference import reference_check_quality

BASE = date(2020, 1, 1)
ODD_PRICES = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e-9, 1e9])


@st.composite
def series_of(draw, symbol: str, horizon: int) -> PriceSeries:  # type: ignore[no-untyped-def]
    days = sorted(draw(st.sets(st.integers(0, horizon), max_size=60)))
    if draw(st.booleans()) and days:  # a dense run: the common case, gaps only where drawn
        days = sorted(set(days) | set(range(days[0], days[0] + draw(st.integers(0, 40)))))
    size = len(days)
    adj = np.array(draw(st.lists(st.floats(10, 20), min_size=size, max_size=size)), dtype=np.float64)
    close = adj * draw(st.sampled_from([1.0, 0.5, 3.0]))
    for values in (adj, close):
        for _ in range(draw(st.integers(0, 3)) if size else 0):
            at = draw(st.integers(0, size - 1))
            values[at] = draw(ODD_PRICES) if draw(st.booleans()) else values[at] * draw(st.sampled_from([1.3, 100, 0.01]))
    if draw(st.booleans()):
        close[:] = np.nan  # a source with adjusted prices only
    dates = np.array([np.datetime64(BASE + timedelta(days=d), "D") for d in days], dtype="datetime64[D]")
    return PriceSeries(symbol, dates, adj, close)


@st.composite
def gate_inputs(draw):  # type: ignore[no-untyped-def]
    horizon = draw(st.integers(1, 90))
    names = draw(st.lists(st.sampled_from(["XLB", "XLE", "XLF", "XLK", "XLU", "XLV", "SXLK", "A"]), unique=True,
                          max_size=6))
    series = {name: draw(series_of(name, horizon)) for name in names}
    start = draw(st.integers(0, horizon))
    end = draw(st.integers(start, horizon + 5))
    calendar = sorted(draw(st.sets(st.integers(0, horizon + 5), max_size=80)))
    if draw(st.booleans()):
        calendar = [d for d in range(horizon + 6) if (BASE + timedelta(days=d)).weekday() < 5]
    sessions = np.array([np.datetime64(BASE + timedelta(days=d), "D") for d in calendar], dtype="datetime64[D]")
    return (series, sessions, BASE + timedelta(days=start), BASE + timedelta(days=end),
            draw(st.sampled_from([0.25, 0.5, 10.0])), draw(st.integers(0, 4)))


@settings(max_examples=600, deadline=None)
@given(gate_inputs())
def test_the_vectorised_gate_gives_the_report_of_the_gate_symbol_by_symbol(inputs) -> None:  # type: ignore[no-untyped-def]
    series, sessions, start, end, move, gap = inputs
    ours = check_quality(series, sessions, start, end, move, gap)
    theirs = reference_check_quality(series, sessions, start, end, move, gap)
    assert ours == theirs
    assert ours.document() == theirs.document() and ours.message() == theirs.message()


def test_the_gate_on_real_prices_matches_the_reference_month_by_month(shared_data) -> None:  # type: ignore[no-untyped-def]
    """The 25-year sector history, gated as the signal gates it at every month start."""
    from trackrecord.config import us_sector_instruments
    from trackrecord.market.calendar import open_calendar
    from trackrecord.market.csv_source import read_price_file

    full = {}
    for instrument in us_sector_instruments():
        rows = read_price_file(shared_data / "prices" / f"{instrument.symbol}.csv", instrument.to_domain("XNYS"))
        full[instrument.symbol] = PriceSeries(
            instrument.symbol, np.array([r.session_date for r in rows], dtype="datetime64[D]"),
            np.array([r.adj_close for r in rows]), np.array([np.nan if r.close is None else r.close for r in rows]))
    calendar = open_calendar("XNYS", date(1998, 1, 1), date(2027, 3, 1))
    checked = 0
    for year in range(1999, 2027):  # the history starts in 1998, ends in 2026
        for month in range(1, 13):
            session = calendar.rebalance_session(date(year, month, 1))
            previous, window_start = calendar.previous_session(session), date(year - 1, month, 1)
            lookback = np.datetime64(window_start - timedelta(days=31), "D")
            until = np.datetime64(previous, "D")
            series = {s: PriceSeries(s, x.dates[(x.dates >= lookback) & (x.dates <= until)],
                                     x.adj_close[(x.dates >= lookback) & (x.dates <= until)],
                                     x.close[(x.dates >= lookback) & (x.dates <= until)]) for s, x in full.items()}
            sessions = calendar.sessions_between(window_start, previous)
            ours = check_quality(series, sessions, window_start, previous)
            assert ours == reference_check_quality(series, sessions, window_start, previous), session
            checked += 1
    assert checked == 28 * 12
