"""FIFO matching is done once per loaded record for the same fills and marks (a monthly report
asks for the month, the year and the record, and its trades table), by the record's own
``TradeMatcher``: no process-wide memo, so nothing it remembers can answer for another record
or for inputs that compare equal but print differently."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from trackrecord.analytics import trades
from trackrecord.analytics.trades import TradeFill, TradeMatcher, analyse_trades, match_fifo

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
    matcher, marks = TradeMatcher(_fills()), {"XLE": 51.0}
    reports = [analyse_trades(matcher, marks=marks, period_from=start, period_to=date(2024, 6, 30))
               for start in (date(2024, 6, 1), date(2024, 1, 1), None)]
    assert matcher.matches == 1
    assert reports[2].to_dict()["summary"]["round_trips"] == 1
    assert reports[2].realised_pnl == (Decimal("10.5") - 10) * 4 + (Decimal("9.75") - 10) * 6 - 2
    assert [r.to_dict() for r in reports] == [analyse_trades(_fills(), marks=marks, period_from=start,
                                                             period_to=date(2024, 6, 30)).to_dict()
                                              for start in (date(2024, 6, 1), date(2024, 1, 1), None)]


def test_another_cut_off_or_other_marks_is_another_matching() -> None:
    matcher = TradeMatcher(_fills())
    marks = {"XLE": Decimal("49.9")}
    first = matcher.book(None, marks)
    assert first == match_fifo(_fills(), marks)
    assert matcher.book(None, {"XLE": 52.0}) != first  # other marks: another unrealised P&L
    assert matcher.book(date(2024, 3, 25), marks) == match_fifo(_fills()[:2], marks)  # fewer fills used
    assert matcher.book(date(2024, 3, 26), marks) is matcher.book(date(2024, 3, 25), marks)  # the same fills
    assert matcher.matches == 3


def test_nothing_is_remembered_between_matchers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A record that has grown since (the dashboard's next head) is matched afresh."""
    done: list[int] = []
    real = trades._match_fifo
    monkeypatch.setattr(trades, "_match_fifo", lambda fills, marks: done.append(len(fills)) or real(fills, marks))
    analyse_trades(_fills()[:3])
    analyse_trades(_fills()[:3])
    grown = analyse_trades(_fills())
    assert done == [3, 3, 4]
    assert [p.symbol for p in grown.open_positions] == ["XLE"]


def test_the_same_instants_in_another_zone_keep_their_own_timestamps() -> None:
    utc = analyse_trades(_fills(UTC)).to_dict()
    paris = analyse_trades(_fills(PARIS)).to_dict()
    assert utc["round_trips"][0]["opened_at"].endswith("+00:00")
    assert paris["round_trips"][0]["opened_at"].endswith("+01:00")
