"""A calendar asked for a range inside one already built is sliced from it (a backtest and
its stats open the same exchange's calendar twice), and equals the library's own."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from trackrecord.market import calendar


@pytest.mark.parametrize("start, end", [
    (date(2001, 6, 17), date(2026, 7, 24)),   # a record's range, weekend edges
    (date(1999, 1, 3), None),                 # to the library's horizon
    (date(2012, 10, 27), date(2012, 11, 5)),  # over Hurricane Sandy's closures
])
def test_a_calendar_sliced_from_a_wider_one_equals_the_librarys_own(start: date, end: date | None) -> None:
    wide = calendar.open_calendar("XNYS", date(1990, 1, 1))
    sliced = calendar.open_calendar("XNYS", start, end)
    own = calendar._build("XNYS", start, end)
    assert sliced is not wide
    assert np.array_equal(sliced.sessions, own.sessions) and np.array_equal(sliced.closes, own.closes)
    assert (sliced.code, sliced.timezone) == (own.code, own.timezone)


def test_a_range_beyond_the_built_ones_is_built_afresh() -> None:
    calendar.open_calendar("XNYS", date(2000, 1, 1), date(2010, 12, 31))
    earlier = calendar.open_calendar("XNYS", date(1995, 3, 1), date(1995, 3, 31))
    assert earlier.first_session == date(1995, 3, 1) and earlier.last_session == date(1995, 3, 31)
