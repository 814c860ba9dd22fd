"""The monthly report's periods (``analytics.periods``), the ones `stats --month` takes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.periods import Period


@given(st.integers(1900, 2200), st.integers(1, 12))
def test_a_month_runs_from_its_first_to_its_last_day(year: int, month: int) -> None:
    period = Period.parse(f"{year}-{month:02d}")
    assert period.first == date(year, month, 1) and period.month == f"{year}-{month:02d}"
    assert period.last.month == month and (period.last + timedelta(days=1)).day == 1
    assert period.bounds("month") == (period.first, period.last)
    assert period.bounds("ytd") == (date(year, 1, 1), period.last)
    assert period.bounds("inception") == (None, period.last)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026", "26-01", "January", "2026-1-5", ""])
def test_anything_but_a_month_is_refused_naming_the_option(text: str) -> None:
    with pytest.raises(AnalyticsInputError, match="--month"):
        Period.parse(text, "--month")


def test_an_unknown_span_is_refused() -> None:
    with pytest.raises(AnalyticsInputError, match="month, ytd or inception"):
        Period.parse("2026-01").bounds("quarter")
