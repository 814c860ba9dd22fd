"""The price store (SQLite) and the exchange calendar."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest

from trackrecord.errors import UserError
from trackrecord.market.base import PriceRow
from trackrecord.market.calendar import open_calendar
from trackrecord.market.store import last_stored_dates, load_prices, price_sources, store_prices

FETCHED = datetime(2026, 3, 2, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    from trackrecord.ledger.schema import metadata

    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_store_and_load_round_trip_with_provenance(engine) -> None:  # type: ignore[no-untyped-def]
    rows = [PriceRow("B", date(2026, 1, 2), None, 10.5), PriceRow("A", date(2026, 1, 5), 20.25, 20.0),
            PriceRow("A", date(2026, 1, 2), 20.0, 19.75)]
    with engine.begin() as conn:
        assert store_prices(conn, rows, "csv", FETCHED) == 3
    loaded = load_prices(engine, ["A", "B", "C"])
    a = loaded["A"]
    assert a.dates.dtype == np.dtype("datetime64[D]") and list(a.dates.astype(str)) == ["2026-01-02", "2026-01-05"]
    assert list(a.adj_close) == [19.75, 20.0] and list(a.close) == [20.0, 20.25]
    assert np.isnan(loaded["B"].close[0]) and loaded["C"].dates.size == 0
    assert loaded["B"].valuation_price() == (date(2026, 1, 2), 10.5)
    assert price_sources(engine, "A") == [("csv", "2026-03-02T18:00:00Z", 2)]
    assert last_stored_dates(engine, ["A", "B", "C"]) == {"A": date(2026, 1, 5), "B": date(2026, 1, 2)}
    assert load_prices(engine, ["A"], until=date(2026, 1, 4))["A"].dates.size == 1


def test_load_prices_since_reads_only_the_recent_bars(engine) -> None:  # type: ignore[no-untyped-def]
    rows = [PriceRow("A", date(2026, 1, d), 1.0 + d, 1.0 + d) for d in (2, 5, 6, 7)]
    with engine.begin() as conn:
        store_prices(conn, rows, "csv", FETCHED)
    recent = load_prices(engine, ["A", "B"], since=date(2026, 1, 6))
    assert list(recent["A"].dates.astype(str)) == ["2026-01-06", "2026-01-07"] and recent["B"].dates.size == 0
    assert list(load_prices(engine, ["A"], until=date(2026, 1, 6), since=date(2026, 1, 5))["A"].adj_close) == [6.0, 7.0]


def test_a_later_fetch_replaces_the_bar(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        store_prices(conn, [PriceRow("A", date(2026, 1, 2), 1.0, 1.0)], "yahoo", FETCHED)
        store_prices(conn, [PriceRow("A", date(2026, 1, 2), 1.0, 0.98)], "yahoo", FETCHED)
    assert list(load_prices(engine, ["A"])["A"].adj_close) == [0.98]


def test_nan_adjusted_close_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn, pytest.raises(ValueError, match="cannot be stored"):
        store_prices(conn, [PriceRow("A", date(2026, 1, 2), None, float("nan"))], "csv", FETCHED)


@pytest.fixture(scope="module")
def xlon():  # type: ignore[no-untyped-def]
    return open_calendar("XLON", start=date(2024, 1, 1))


def test_xlon_sessions_holidays_and_closing_auction(xlon) -> None:  # type: ignore[no-untyped-def]
    assert xlon.rebalance_session(date(2026, 3, 20)) == date(2026, 3, 2)
    assert xlon.rebalance_session(date(2026, 1, 15)) == date(2026, 1, 2)  # New Year's Day is a holiday
    assert xlon.next_rebalance_session(date(2026, 3, 3)) == date(2026, 4, 1)
    assert xlon.next_rebalance_session(date(2026, 12, 15)) == date(2027, 1, 4)
    assert date(2026, 4, 3) in xlon.holidays(date(2026, 4, 1), date(2026, 4, 30))  # Good Friday
    assert xlon.local_close(date(2026, 3, 2)).strftime("%H:%M %Z") == "16:30 GMT"
    assert xlon.close_time(date(2026, 7, 1)) == datetime(2026, 7, 1, 15, 30, tzinfo=timezone.utc)  # BST
    assert xlon.local_close(date(2025, 12, 24)).strftime("%H:%M") == "12:30"  # early close
    assert xlon.previous_session(date(2026, 1, 5)) == date(2026, 1, 2)
    assert xlon.next_sessions(date(2026, 12, 24), 3) == [date(2026, 12, 24), date(2026, 12, 29), date(2026, 12, 30)]


def test_calendar_refuses_unknown_codes_and_dates_outside(xlon) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError, match="not an exchange_calendars code"):
        open_calendar("NOPE")
    with pytest.raises(UserError, match="outside the XLON calendar"):
        xlon.previous_session(date(2001, 1, 1))
