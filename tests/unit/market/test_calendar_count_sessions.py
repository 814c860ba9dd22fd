"""``count_sessions`` (the risk rules' price ages) equals the size of ``sessions_between``,
whether the days are sessions (the dict path) or not (the array path)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.market.calendar import ExchangeCalendar

BASE = date(2024, 1, 1)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.integers(0, 60), min_size=1, max_size=40), st.integers(0, 60), st.integers(0, 60))
def test_count_sessions_equals_the_sessions_between(days: set[int], start: int, end: int) -> None:
    sessions = np.array(sorted(np.datetime64(BASE + timedelta(days=d), "D") for d in days), dtype="datetime64[D]")
    calendar = ExchangeCalendar("TEST", "UTC", sessions, sessions.astype("datetime64[s]"))
    first, last = BASE + timedelta(days=start), BASE + timedelta(days=end)
    assert calendar.count_sessions(first, last) == calendar.sessions_between(first, last).size
