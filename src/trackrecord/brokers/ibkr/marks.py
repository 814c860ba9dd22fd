"""Dating IB's marks: IB sends a position's ``marketPrice`` with no date.

Neither ``updatePortfolio`` (ib_async's ``PortfolioItem``) nor ``reqPnLSingle`` says when
the price was set, and ``updateAccountTime`` (which ib_async drops) is the time of day of
the last account update, not of the marks. So a mark that stopped moving (a line without
a market-data subscription, a halted line, a gateway that lost its data farm) looks like a
fresh one. The only independent witness is the closes we store ourselves:

    a mark that equals the stored close of an earlier session (within ``SAME_PRICE``),
    while the latest stored close differs from it, is dated that earlier session.

The rule never flags a line whose price truly did not move (the latest stored close then
equals the mark too), nor a session whose close is not stored yet; it looks back
``LOOKBACK_SESSIONS`` stored closes. A mark it cannot date stays undated (``price_date``
None), which the snapshot records as it always did.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Mapping, Sequence

from trackrecord.domain import Position

SAME_PRICE = 5e-5  # relative: half a basis point (two sources may round a close differently)
LOOKBACK_SESSIONS = 10

Closes = Mapping[str, Sequence[tuple[date, float]]]  # symbol -> (session, raw close), oldest first


def date_stale_marks(positions: Sequence[Position], closes: Closes) -> tuple[Position, ...]:
    """``positions`` with ``price_date`` set where the rule above dates the mark; the rest
    unchanged. ``closes`` are the stored closes up to the snapshot's day, in the
    positions' currency."""
    return tuple(_dated(p, closes.get(p.symbol, ())) for p in positions)


def _dated(position: Position, closes: Sequence[tuple[date, float]]) -> Position:
    if position.price_date is not None or len(closes) < 2:
        return position
    recent = list(closes[-LOOKBACK_SESSIONS:])
    _, latest = recent[-1]
    if _same(position.market_price, latest):
        return position
    for day, close in reversed(recent[:-1]):
        if _same(position.market_price, close):
            return replace(position, price_date=day)
    return position


def _same(mark: Decimal, close: float) -> bool:
    reference = abs(close)
    return reference > 0 and abs(float(mark) - close) <= SAME_PRICE * reference
