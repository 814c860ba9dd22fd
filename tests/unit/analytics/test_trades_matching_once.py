"""FIFO matching is done once per process for the same fills and marks (a monthly report asks
for the month, the year and the record), and what it remembers never leaks between inputs
that compare equal but print differently."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from trackrecord.analytics.trades import TradeFill, _match_fifo_once, analyse_trades, match_fifo

UTC = timezone.utc
PARIS = timezone(timedelta(hours=1))


def _fills(zone: timezone = UTC) -> list[TradeFill]:
    at = datetime(2024, 3, 1, 16, 30, tzinfo=UTC).astimezone(zone)
    return [
        TradeFill("XLK", "BUY", Decimal(10), Decimal("10.00"), Decimal("1.00"), at),
        TradeFill("XLK", "SELL", Decimal(4), Decimal("10.50"), Decimal("0.40"), at + timedelta(days=20)),
        TradeFill("XLK", "SELL", Decimal(6), Decimal("9.75"), Decimal("0.60"), at + timedelta(days=40)),
        TradeFill("XLE", "BUY", Decimal(3), Decimal("50.1"), Decimal("0.30"), at + timedelta(days=41)),
    ]


def test_three_periods_of_one_report_match_the_fills_once() -> None:
    fills, marks = _fills(), {"XLE": 51.0}
    _match_fifo_once.cache_clear()
    reports = [analyse_trades(fills, marks=marks, period_from=start, period_to=datetime(2024, 6, 30).date())
               for start in (datetime(2024, 6, 1).date(), datetime(2024, 1, 1).date(), None)]
    info = _match_fifo_once.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    assert reports[2].to_dict()["summary"]["round_trips"] == 1
    assert reports[2].realised_pnl == (Decimal("10.5") - 10) * 4 + (Decimal("9.75") - 10) * 6 - 2


def test_remembered_matching_gives_what_a_fresh_one_gives() -> None:
    fills, marks = _fills(), {"XLE": Decimal("49.9")}
    first = match_fifo(fills, marks)
    _match_fifo_once.cache_clear()
    assert match_fifo(fills, marks) == first
    assert match_fifo(fills, {"XLE": 52.0}) != first  # other marks: another unrealised P&L


def test_the_same_instants_in_another_zone_keep_their_own_timestamps() -> None:
    utc = analyse_trades(_fills(UTC)).to_dict()
    paris = analyse_trades(_fills(PARIS)).to_dict()
    assert utc["round_trips"][0]["opened_at"].endswith("+00:00")
    assert paris["round_trips"][0]["opened_at"].endswith("+01:00")
