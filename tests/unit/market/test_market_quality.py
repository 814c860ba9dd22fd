"""Quality gates and pence handling."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from trackrecord.config import UniverseConfig
from trackrecord.market.base import PriceSeries
from trackrecord.market.csv_source import read_price_file
from trackrecord.market.quality import check_quality

SESSIONS = np.arange(np.datetime64("2026-01-01"), np.datetime64("2026-03-01"))
SESSIONS = SESSIONS[np.is_busday(SESSIONS)]


def _series(symbol: str = "AAA", values: np.ndarray | None = None, dates: np.ndarray = SESSIONS) -> PriceSeries:
    adj = np.linspace(100, 110, dates.size) if values is None else values
    return PriceSeries(symbol, dates, adj, adj.copy())


def _check(*series: PriceSeries, last: str = "2026-02-27"):  # type: ignore[no-untyped-def]
    return check_quality({s.symbol: s for s in series}, SESSIONS, date(2026, 1, 1), date.fromisoformat(last),
                         max_daily_move=0.25, max_gap_sessions=3)


def _failed(report) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(r.gate, r.symbol) for r in report.failures}


def test_clean_data_passes_every_gate() -> None:
    report = _check(_series("AAA"), _series("BBB"))
    assert report.passed and {r.gate for r in report.results} == {"missing", "stale", "bad_price", "daily_move", "gap"}


def test_missing_symbol_fails() -> None:
    empty = PriceSeries("ZZZ", np.array([], dtype="datetime64[D]"), np.array([]), np.array([]))
    report = _check(_series("AAA"), empty)
    assert _failed(report) == {("missing", "ZZZ")} and "gate missing failed for ZZZ" in report.message()


def test_stale_data_fails_naming_the_last_bar() -> None:
    report = _check(_series(dates=SESSIONS[:-2], values=np.full(SESSIONS.size - 2, 50.0)))
    assert _failed(report) == {("stale", "AAA")}
    assert "last bar 2026-02-25 is older than the expected session 2026-02-27" in report.message()


@pytest.mark.parametrize("bad", [np.nan, 0.0, -3.0])
def test_non_positive_or_nan_price_fails(bad: float) -> None:
    values = np.full(SESSIONS.size, 50.0)
    values[10] = bad
    report = _check(_series(values=values))
    assert ("bad_price", "AAA") in _failed(report)
    assert next(r for r in report.failures if r.gate == "bad_price").session_date == SESSIONS[10].astype(date)


def test_a_times_100_jump_is_caught_by_the_daily_move_gate() -> None:
    values = np.full(SESSIONS.size, 84.12)
    values[20:] *= 100  # a pence quote stored as pounds
    report = _check(_series(values=values))
    failure = next(r for r in report.failures if r.gate == "daily_move")
    assert failure.session_date == SESSIONS[20].astype(date) and "9900.0%" in failure.detail


def test_a_move_within_the_bound_passes() -> None:
    values = np.full(SESSIONS.size, 50.0)
    values[20:] *= 1.2
    assert _check(_series(values=values)).passed


def test_gaps_beyond_the_limit_fail_and_shorter_ones_pass() -> None:
    four = np.delete(SESSIONS, [10, 11, 12, 13])
    three = np.delete(SESSIONS, [10, 11, 12])
    assert _failed(_check(_series(dates=four, values=np.full(four.size, 5.0)))) == {("gap", "AAA")}
    assert _check(_series(dates=three, values=np.full(three.size, 5.0))).passed


def test_the_report_document_has_no_floats() -> None:
    from trackrecord.ledger.canonical import canonical_json

    canonical_json(_check(_series("AAA")).document())


def test_a_gbx_and_a_gbp_line_give_the_same_valuation(tmp_path: Path) -> None:
    pence = UniverseConfig().domain_instruments()[0]
    pounds = replace(pence, price_unit="GBP")
    (tmp_path / "pence.csv").write_text("Date,Close,Adj Close\n2026-02-27,8412.5,8400\n")
    (tmp_path / "pounds.csv").write_text("Date,Close,Adj Close\n2026-02-27,84.125,84.00\n")
    a = read_price_file(tmp_path / "pence.csv", pence)[0]
    b = read_price_file(tmp_path / "pounds.csv", pounds)[0]
    assert (a.close, a.adj_close) == (b.close, b.adj_close) == (84.125, 84.0)
    shares = Decimal(120)
    assert shares * Decimal(repr(a.close)) == shares * Decimal(repr(b.close)) == Decimal("10095.000")
