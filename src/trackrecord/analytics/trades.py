"""Round trips by FIFO lot matching, realised and unrealised P&L, trade statistics.

Rules:

* Fills are processed per symbol in ``executed_at`` order (stable for ties). A fill in
  the direction of the position (or from flat) opens a lot; an opposite fill closes the
  oldest lots first (FIFO). A fill larger than the position closes it and opens the
  rest in the other direction (a flip); its commission is split pro rata by quantity.
* A round trip is one position cycle, flat -> flat, long or short.
* P&L is in the instrument's currency, net of commissions: each closing match carries
  ``(exit - entry) * qty * direction`` minus the entry commission of the matched lot part
  and the exit commission of the closing part. So the closing fills of a round trip
  add up to the round trip's net P&L.
* A commission not yet reported (None) counts as 0 and is counted as pending.
* Win: net P&L > 0; loss: net P&L < 0; break-even: exactly 0; win rate = wins / (wins + losses).
* The arithmetic is exact: amounts enter as ``Decimal`` (floats through their shortest
  decimal repr), matching, P&L and commission shares are ``Fraction``s, so BUY 10 @ 10.00
  (commission 1.00) then SELL 10 @ 10.20 (commission 1.00) nets exactly 0, a break-even.
  Floats appear only in ``to_dict()`` and ``totals()``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from fractions import Fraction
from itertools import compress
from typing import Any

from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.metrics import Figure, Undefined

ZERO = Fraction(0)
SUMMARY_KEYS = (
    "round_trips",
    "break_evens",
    "win_rate",
    "profit_factor",
    "win_rate_fills",
    "profit_factor_fills",
    "avg_win",
    "avg_loss",
    "expectancy",
)


class Outcome(str, Enum):
    """How a round trip ended, decided exactly on its net P&L."""

    WIN = "win"
    LOSS = "loss"
    BREAK_EVEN = "break-even"


def outcome_of(net_pnl: Fraction) -> Outcome:
    if net_pnl > 0:
        return Outcome.WIN
    return Outcome.LOSS if net_pnl < 0 else Outcome.BREAK_EVEN


def exact(value: Decimal | float | int | str) -> Decimal:
    """``value`` as a Decimal: a float through its shortest repr (10.2 -> Decimal("10.2"),
    not the binary 10.199999999999999289...). Raises ``AnalyticsInputError`` if not finite."""
    try:
        out = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        raise AnalyticsInputError(f"{value!r} is not a number") from None
    if not out.is_finite():
        raise AnalyticsInputError(f"{value!r} is not a finite number")
    return out


@dataclass(frozen=True, slots=True)
class TradeFill:
    """One execution with exact amounts (floats, ints and strings are converted with
    ``exact``). ``side`` is ``"BUY"`` or ``"SELL"``; ``quantity`` > 0; ``commission`` in
    the fill's currency, 0 when ``commission_pending``."""

    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    executed_at: datetime
    commission_pending: bool = False

    def __post_init__(self) -> None:
        for name in ("quantity", "price", "commission"):
            object.__setattr__(self, name, exact(getattr(self, name)))

    @property
    def sign(self) -> int:
        return 1 if self.side == "BUY" else -1


def trade_fill_from(fill: Any) -> TradeFill:
    """Convert anything with ``symbol, side, quantity, price, commission, executed_at``
    (e.g. ``trackrecord.domain.Fill``: Decimal amounts, ``Side`` enum, commission None
    while pending) into a ``TradeFill``."""
    side = str(getattr(fill.side, "value", fill.side)).upper()
    if side not in ("BUY", "SELL"):
        raise AnalyticsInputError(f"fill {getattr(fill, 'exec_id', fill.symbol)}: side {side!r} is not BUY or SELL")
    quantity = abs(exact(fill.quantity))
    if quantity == 0:
        raise AnalyticsInputError(f"fill {getattr(fill, 'exec_id', fill.symbol)}: quantity {fill.quantity} is not usable")
    pending = fill.commission is None
    return TradeFill(
        symbol=fill.symbol,
        side=side,
        quantity=quantity,
        price=exact(fill.price),
        commission=Decimal(0) if pending else abs(exact(fill.commission)),
        executed_at=fill.executed_at,
        commission_pending=pending,
    )


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A closed position cycle, amounts exact. Prices are quantity-weighted averages;
    ``quantity`` is the total quantity opened in the cycle; ``holding_days`` =
    (closed_at - opened_at) in days."""

    symbol: str
    direction: str
    opened_at: datetime
    closed_at: datetime
    quantity: Fraction
    entry_price: Fraction
    exit_price: Fraction
    gross_pnl: Fraction
    commission: Fraction
    net_pnl: Fraction
    fills: int

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.net_pnl)

    @property
    def holding_days(self) -> float:
        return (self.closed_at - self.opened_at).total_seconds() / 86400.0


@dataclass(frozen=True, slots=True)
class ClosingFill:
    """The closing part of a fill: ``quantity`` closed and its FIFO net P&L."""

    symbol: str
    executed_at: datetime
    quantity: Fraction
    net_pnl: Fraction


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """What remains open. ``quantity`` is signed (short < 0); ``avg_price`` is the FIFO cost;
    ``unrealised_pnl`` (None without a mark) is net of the open lots' entry commission."""

    symbol: str
    quantity: Fraction
    avg_price: Fraction
    opened_at: datetime
    mark: Fraction | None
    unrealised_pnl: Fraction | None


@dataclass(slots=True)
class _Lot:
    quantity: Fraction
    price: Fraction
    commission_per_unit: Fraction


@dataclass(slots=True)
class _Cycle:
    direction: int
    opened_at: datetime
    opened: Fraction = ZERO
    opened_value: Fraction = ZERO
    closed: Fraction = ZERO
    closed_value: Fraction = ZERO
    gross: Fraction = ZERO
    commission: Fraction = ZERO
    fills: int = 0


@dataclass(slots=True)
class _Book:
    lots: deque[_Lot] = field(default_factory=deque)
    cycle: _Cycle | None = None


@dataclass(frozen=True, slots=True)
class TradeBook:
    """Everything FIFO matching found, over all fills given."""

    round_trips: tuple[RoundTrip, ...]
    closing_fills: tuple[ClosingFill, ...]
    open_positions: tuple[OpenPosition, ...]


def match_fifo(fills: Iterable[TradeFill], marks: Mapping[str, Decimal | float] | None = None) -> TradeBook:
    """Match ``fills`` FIFO per symbol (see the module docstring), exactly. ``marks``:
    symbol -> current price, used for the unrealised P&L of open positions."""
    return _match_fifo(tuple(fills), marks or {})


class TradeMatcher:
    """One loaded record's fills, matched FIFO once for each set of fills used and marks:
    the periods of one report (month, year, record, the trades table) end on the same day
    and share one match. The memo belongs to the instance: make one per loaded record (one
    report, one ``stats`` run, one dashboard head), so it never answers for a record that has
    grown since. ``matches`` counts the matchings done."""

    def __init__(self, fills: Iterable[Any]) -> None:
        self.fills = tuple(f if isinstance(f, TradeFill) else trade_fill_from(f) for f in fills)
        self._days = tuple(f.executed_at.date() for f in self.fills)
        self._books: dict[tuple[tuple[bool, ...], tuple[tuple[str, Decimal | float], ...]], TradeBook] = {}

    @property
    def matches(self) -> int:
        return len(self._books)

    def used(self, period_to: date | None) -> tuple[TradeFill, ...]:
        """The fills executed up to ``period_to`` (in the timestamp's own zone), all when None."""
        return self.fills if period_to is None else tuple(compress(self.fills, self._mask(period_to)))

    def book(self, period_to: date | None, marks: Mapping[str, Decimal | float] | None) -> TradeBook:
        """``match_fifo`` of the fills up to ``period_to``, remembered (the result is immutable)."""
        mask = self._mask(period_to)
        key = (mask, tuple(sorted((marks or {}).items())))
        found = self._books.get(key)
        if found is None:
            found = self._books[key] = match_fifo(compress(self.fills, mask), marks)
        return found

    def _mask(self, period_to: date | None) -> tuple[bool, ...]:
        return tuple(period_to is None or d <= period_to for d in self._days)


def _match_fifo(fills: tuple[TradeFill, ...], marks: Mapping[str, Decimal | float]) -> TradeBook:
    books: dict[str, _Book] = {}
    trips: list[RoundTrip] = []
    closes: list[ClosingFill] = []
    for fill in sorted(fills, key=lambda f: f.executed_at):
        book = books.setdefault(fill.symbol, _Book())
        _apply(book, fill, trips, closes)
    opens = tuple(_open_position(s, b, marks.get(s)) for s, b in sorted(books.items()) if b.cycle is not None)
    return TradeBook(tuple(trips), tuple(closes), opens)


def _apply(book: _Book, fill: TradeFill, trips: list[RoundTrip], closes: list[ClosingFill]) -> None:
    quantity, price = Fraction(fill.quantity), Fraction(fill.price)
    per_unit = Fraction(fill.commission) / quantity
    remaining = quantity
    if book.cycle is not None and book.cycle.direction != fill.sign:
        closed = _close(book, fill, quantity, price, per_unit, closes)
        remaining -= closed
        if not book.lots:
            trips.append(_round_trip(fill.symbol, book.cycle, fill.executed_at))
            book.cycle = None
    if remaining > 0:
        if book.cycle is None:
            book.cycle = _Cycle(direction=fill.sign, opened_at=fill.executed_at)
        book.lots.append(_Lot(remaining, price, per_unit))
        book.cycle.opened += remaining
        book.cycle.opened_value += remaining * price
        book.cycle.commission += remaining * per_unit
        book.cycle.fills += 1


def _close(book: _Book, fill: TradeFill, quantity: Fraction, price: Fraction, per_unit: Fraction,
           closes: list[ClosingFill]) -> Fraction:
    cycle = book.cycle
    assert cycle is not None
    wanted, gross, entry_commission = quantity, ZERO, ZERO
    while book.lots and wanted > 0:
        lot = book.lots[0]
        take = min(lot.quantity, wanted)
        gross += (price - lot.price) * take * cycle.direction
        entry_commission += lot.commission_per_unit * take
        lot.quantity -= take
        wanted -= take
        if lot.quantity == 0:
            book.lots.popleft()
    closed = quantity - wanted
    exit_commission = closed * per_unit
    cycle.closed += closed
    cycle.closed_value += closed * price
    cycle.gross += gross
    cycle.commission += exit_commission
    cycle.fills += 1
    closes.append(ClosingFill(fill.symbol, fill.executed_at, closed, gross - entry_commission - exit_commission))
    return closed


def _round_trip(symbol: str, cycle: _Cycle, closed_at: datetime) -> RoundTrip:
    return RoundTrip(
        symbol=symbol,
        direction="LONG" if cycle.direction > 0 else "SHORT",
        opened_at=cycle.opened_at,
        closed_at=closed_at,
        quantity=cycle.opened,
        entry_price=cycle.opened_value / cycle.opened,
        exit_price=cycle.closed_value / cycle.closed,
        gross_pnl=cycle.gross,
        commission=cycle.commission,
        net_pnl=cycle.gross - cycle.commission,
        fills=cycle.fills,
    )


def _open_position(symbol: str, book: _Book, mark: Decimal | float | None) -> OpenPosition:
    cycle = book.cycle
    assert cycle is not None
    quantity = sum((lot.quantity for lot in book.lots), ZERO)
    cost = sum((lot.quantity * lot.price for lot in book.lots), ZERO)
    commission = sum((lot.quantity * lot.commission_per_unit for lot in book.lots), ZERO)
    avg = cost / quantity
    price = None if mark is None else Fraction(exact(mark))
    unrealised = None if price is None else (price - avg) * quantity * cycle.direction - commission
    return OpenPosition(symbol, quantity * cycle.direction, avg, cycle.opened_at, price, unrealised)


def summarise(round_trips: Iterable[RoundTrip], closing_fills: Iterable[ClosingFill]) -> dict[str, Figure | int]:
    """Trade statistics (currency amounts in the instruments' currency):

    ``round_trips`` (count), ``break_evens`` (round trips netting exactly 0),
    ``win_rate`` and ``profit_factor`` over round trips,
    ``win_rate_fills`` and ``profit_factor_fills`` over closing fills, ``avg_win`` and
    ``avg_loss`` (mean net P&L of winning / losing round trips; avg_loss <= 0),
    ``expectancy`` (mean net P&L per round trip), ``avg_holding_days``.
    Profit factor = sum of wins / |sum of losses|.
    """
    trips = list(round_trips)
    trip_pnl = [t.net_pnl for t in trips]
    wins = [x for x in trip_pnl if x > 0]
    losses = [x for x in trip_pnl if x < 0]
    fill_pnl = [c.net_pnl for c in closing_fills]
    return {
        "round_trips": len(trips),
        "break_evens": sum(1 for x in trip_pnl if x == 0),
        "win_rate": _win_rate(trip_pnl, "no closed round trip with a non-zero P&L"),
        "profit_factor": _profit_factor(trip_pnl, "no losing round trip"),
        "win_rate_fills": _win_rate(fill_pnl, "no closing fill with a non-zero P&L"),
        "profit_factor_fills": _profit_factor(fill_pnl, "no losing closing fill"),
        "avg_win": _mean(wins, "no winning round trip"),
        "avg_loss": _mean(losses, "no losing round trip"),
        "expectancy": _mean(trip_pnl, "no closed round trip"),
        "avg_holding_days": _mean([Fraction(t.holding_days) for t in trips], "no closed round trip"),
    }


def _win_rate(pnl: list[Fraction], reason: str) -> Figure:
    wins = sum(1 for x in pnl if x > 0)
    decided = sum(1 for x in pnl if x != 0)
    return wins / decided if decided else Undefined(reason)


def _profit_factor(pnl: list[Fraction], reason: str) -> Figure:
    loss = -sum((x for x in pnl if x < 0), ZERO)
    return float(sum((x for x in pnl if x > 0), ZERO) / loss) if loss > 0 else Undefined(reason)


def _mean(values: list[Fraction], reason: str) -> Figure:
    return float(sum(values, ZERO) / len(values)) if values else Undefined(reason)


@dataclass(frozen=True, slots=True)
class TradeReport:
    """Trades over a period: the round trips and closing fills that closed in it, what
    is open at its end, and the statistics. Amounts in the instruments' currency."""

    summary: dict[str, Figure | int]
    round_trips: tuple[RoundTrip, ...]
    closing_fills: tuple[ClosingFill, ...]
    open_positions: tuple[OpenPosition, ...]
    realised_pnl: Fraction
    commissions: Fraction
    commissions_pending: int

    def totals(self) -> dict[str, Figure | int]:
        """``summary`` plus ``realised_pnl``, ``commissions``, ``commissions_pending``,
        ``closing_fills`` (count), ``open_positions`` (count) and ``unrealised_pnl`` (sum over
        open positions; undefined when one has no mark)."""
        unrealised = [p.unrealised_pnl for p in self.open_positions]
        return self.summary | {
            "closing_fills": len(self.closing_fills),
            "realised_pnl": float(self.realised_pnl),
            "commissions": float(self.commissions),
            "commissions_pending": self.commissions_pending,
            "open_positions": len(self.open_positions),
            "unrealised_pnl": Undefined("no mark for an open position")
            if None in unrealised
            else float(sum((u for u in unrealised if u is not None), ZERO)),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``{"summary": totals with None for undefined figures, "nonfinite":
        {key: reason}, "round_trips": [...], "open_positions": [...]}``; timestamps ISO 8601."""
        totals = self.totals()
        return {
            "summary": {k: None if isinstance(v, Undefined) else v for k, v in totals.items()},
            "nonfinite": {k: v.reason for k, v in totals.items() if isinstance(v, Undefined)},
            "round_trips": [_trip_row(t) for t in self.round_trips],
            "open_positions": [_open_row(p) for p in self.open_positions],
        }


def _trip_row(t: RoundTrip) -> dict[str, Any]:
    return {
        "symbol": t.symbol,
        "direction": t.direction,
        "opened_at": t.opened_at.isoformat(),
        "closed_at": t.closed_at.isoformat(),
        "quantity": float(t.quantity),
        "entry_price": float(t.entry_price),
        "exit_price": float(t.exit_price),
        "gross_pnl": float(t.gross_pnl),
        "commission": float(t.commission),
        "net_pnl": float(t.net_pnl),
        "outcome": t.outcome.value,
        "holding_days": t.holding_days,
        "fills": t.fills,
    }


def _open_row(p: OpenPosition) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "quantity": float(p.quantity),
        "avg_price": float(p.avg_price),
        "opened_at": p.opened_at.isoformat(),
        "mark": None if p.mark is None else float(p.mark),
        "unrealised_pnl": None if p.unrealised_pnl is None else float(p.unrealised_pnl),
    }


def analyse_trades(
    fills: Iterable[Any] | TradeMatcher,
    *,
    marks: Mapping[str, Decimal | float] | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
) -> TradeReport:
    """FIFO trade analysis of ``fills`` (``TradeFill`` or objects ``trade_fill_from``
    accepts, or a ``TradeMatcher`` of them that remembers its matchings) over
    ``[period_from, period_to]`` (inclusive, compared with ``executed_at.date()`` in the
    timestamp's own zone).

    Fills after ``period_to`` are ignored; fills before ``period_from`` still open lots,
    so a round trip opened before the period and closed in it counts. ``commissions``
    and ``commissions_pending`` cover the fills executed in the period;
    ``realised_pnl`` is the sum of the closing fills' net P&L in the period.
    """
    matcher = fills if isinstance(fills, TradeMatcher) else TradeMatcher(fills)
    book = matcher.book(period_to, marks)

    def in_period(moment: datetime) -> bool:
        return period_from is None or moment.date() >= period_from

    trips = tuple(t for t in book.round_trips if in_period(t.closed_at))
    closes = tuple(c for c in book.closing_fills if in_period(c.executed_at))
    in_fills = [f for f in matcher.used(period_to) if in_period(f.executed_at)]
    return TradeReport(
        summary=summarise(trips, closes),
        round_trips=trips,
        closing_fills=closes,
        open_positions=book.open_positions,
        realised_pnl=sum((c.net_pnl for c in closes), ZERO),
        commissions=sum((Fraction(f.commission) for f in in_fills), ZERO),
        commissions_pending=sum(1 for f in in_fills if f.commission_pending),
    )
