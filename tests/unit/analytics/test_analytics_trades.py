"""FIFO round trips: partial closes, several lots, flips, shorts, pending commissions."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from trackrecord.analytics.trades import TradeFill, analyse_trades, match_fifo, trade_fill_from
from trackrecord.domain import Fill, Side


def at(day: int, hour: int = 15) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=timezone.utc)


def fill(side: str, qty: float, price: float, commission: float, day: int, symbol: str = "SXLK") -> TradeFill:
    return TradeFill(symbol, side, qty, price, commission, at(day))


def test_partial_closes_across_several_lots() -> None:
    book = match_fifo(
        [
            fill("BUY", 100, 10.0, 1.0, 2),
            fill("BUY", 100, 12.0, 1.0, 3),
            fill("SELL", 150, 15.0, 1.5, 4),
            fill("SELL", 50, 11.0, 0.5, 9),
        ]
    )
    # Sell 150 @ 15: 100 from lot 1 (+500) and 50 from lot 2 (+150) = 650 gross, minus entry
    # commission 1.00 + 0.50 and exit commission 1.50 -> 647.
    # Sell 50 @ 11: the rest of lot 2: -50 gross, minus 0.50 entry and 0.50 exit -> -51.
    assert [c.net_pnl for c in book.closing_fills] == pytest.approx([647.0, -51.0])
    (trip,) = book.round_trips
    assert (trip.direction, trip.quantity, trip.fills) == ("LONG", 200, 4)
    assert trip.entry_price == pytest.approx(11.0)
    assert trip.exit_price == pytest.approx((150 * 15 + 50 * 11) / 200)
    assert (trip.gross_pnl, trip.commission, trip.net_pnl) == pytest.approx((600.0, 4.0, 596.0))
    assert trip.holding_days == pytest.approx(7.0)
    assert book.open_positions == ()


def test_flip_closes_one_round_trip_and_opens_the_other_direction() -> None:
    book = match_fifo([fill("BUY", 100, 10.0, 2.0, 2), fill("SELL", 150, 12.0, 3.0, 3), fill("BUY", 50, 11.0, 1.0, 4)])
    long, short = book.round_trips
    # Sell 150: 100 close the long (+200, entry 2.00, exit 3.00 * 100/150 = 2.00) -> 196;
    # the other 50 open a short at 12 carrying 1.00 of the commission.
    assert (long.direction, long.net_pnl) == ("LONG", pytest.approx(196.0))
    # Buy 50 @ 11 closes the short: +50, minus 1.00 entry and 1.00 exit -> 48.
    assert (short.direction, short.quantity, short.net_pnl) == ("SHORT", 50, pytest.approx(48.0))
    assert short.opened_at == at(3)


def test_open_short_with_a_mark() -> None:
    book = match_fifo([fill("SELL", 10, 100.0, 1.0, 2), fill("BUY", 4, 95.0, 0.4, 3)], marks={"SXLK": 90.0})
    (position,) = book.open_positions
    assert position.quantity == pytest.approx(-6)
    assert position.avg_price == pytest.approx(100.0)
    # (90 - 100) * 6 * -1 = +60, minus the remaining entry commission 0.60.
    assert position.unrealised_pnl == pytest.approx(59.4)
    assert book.closing_fills[0].net_pnl == pytest.approx(20.0 - 0.4 - 0.4)


def test_symbols_are_matched_separately_and_summary() -> None:
    report = analyse_trades(
        [
            fill("BUY", 10, 100.0, 1.0, 2, "A"),
            fill("BUY", 10, 50.0, 1.0, 2, "B"),
            fill("SELL", 10, 110.0, 1.0, 3, "A"),  # A: +100 - 2 = 98
            fill("SELL", 10, 45.0, 1.0, 4, "B"),  # B: -50 - 2 = -52
            fill("BUY", 5, 20.0, 1.0, 5, "C"),
        ]
    )
    s = report.summary
    assert s["round_trips"] == 2
    assert s["win_rate"] == 0.5 and s["win_rate_fills"] == 0.5
    assert s["profit_factor"] == pytest.approx(98 / 52)
    assert (s["avg_win"], s["avg_loss"], s["expectancy"]) == pytest.approx((98.0, -52.0, 23.0))
    totals = report.totals()
    assert totals["realised_pnl"] == pytest.approx(46.0)
    assert totals["commissions"] == pytest.approx(5.0)
    assert totals["open_positions"] == 1
    assert totals["unrealised_pnl"].reason == "no mark for an open position"  # type: ignore[union-attr]
    doc = report.to_dict()
    assert doc["summary"]["unrealised_pnl"] is None and "unrealised_pnl" in doc["nonfinite"]
    assert doc["round_trips"][0]["symbol"] == "A"


def test_round_trip_opened_before_the_period_counts_when_it_closes_inside() -> None:
    fills = [
        fill("BUY", 10, 100.0, 1.0, 2),
        fill("SELL", 10, 101.0, 1.0, 10),  # closes inside the period: +10 - 2 = 8
        fill("BUY", 10, 100.0, 1.0, 20),
        fill("SELL", 10, 90.0, 1.0, 25),  # after the period: ignored
    ]
    report = analyse_trades(fills, period_from=date(2024, 1, 5), period_to=date(2024, 1, 20))
    assert [t.net_pnl for t in report.round_trips] == pytest.approx([8.0])
    assert report.commissions == pytest.approx(2.0)  # fills executed in the period
    assert [p.quantity for p in report.open_positions] == [10]


def test_domain_fills_with_pending_commission() -> None:
    domain = [
        Fill("e1", "r1", "SXLK", Side.BUY, Decimal("3"), Decimal("101.5"), "GBP", at(2), Decimal("1.25")),
        Fill("e2", "r2", "SXLK", Side.SELL, Decimal("3"), Decimal("102.5"), "GBP", at(3), None),
    ]
    assert trade_fill_from(domain[0]) == TradeFill("SXLK", "BUY", 3.0, 101.5, 1.25, at(2))
    report = analyse_trades(domain)
    assert report.commissions_pending == 1
    assert report.round_trips[0].net_pnl == pytest.approx(3.0 - 1.25)
    assert report.summary["profit_factor"].reason == "no losing round trip"  # type: ignore[union-attr]
