"""The gap gate's binary search finds exactly the sessions ``np.isin`` finds missing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.market.quality import sessions_without_bar


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 400), max_size=120), st.lists(st.integers(0, 400), max_size=200))
def test_sessions_without_bar_equals_isin(bar_days: list[int], session_days: list[int]) -> None:
    dates = np.unique(np.array(bar_days, dtype=np.int64)).astype("datetime64[D]")
    expected = np.unique(np.array(session_days, dtype=np.int64)).astype("datetime64[D]")
    assert np.array_equal(sessions_without_bar(expected, dates), ~np.isin(expected, dates))
