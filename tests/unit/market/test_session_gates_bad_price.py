"""The daily bad_price gate: a bar is bad when a price is NaN, infinite, zero or negative
(the raw close may be absent), written as one chained comparison ``0 < x < inf``."""

from __future__ import annotations

import math
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.market.quality import check_session_bars

ODD = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, 5e-324, 1e308])
PRICES = st.one_of(ODD, st.floats(allow_nan=True, allow_infinity=True))


def _bad(value: float) -> bool:
    return not (math.isfinite(value) and value > 0)


@settings(max_examples=300, deadline=None)
@given(PRICES, st.one_of(st.none(), PRICES))
def test_a_session_bar_is_bad_exactly_when_a_price_is_not_finite_and_positive(adj: float, raw: float | None) -> None:
    session, previous = date(2024, 3, 5), date(2024, 3, 4)
    report = check_session_bars({"XLK": (previous, 100.0)}, {"XLK": (raw, adj)}, ["XLK"], session, previous)
    bad = [r for r in report.results if r.gate == "bad_price"]
    assert bool(bad) == (_bad(adj) or (raw is not None and _bad(raw)))
    if bad:
        assert bad[0].detail == f"price {adj!r} / {raw!r} is not a positive number"
