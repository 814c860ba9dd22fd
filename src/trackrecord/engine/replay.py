"""Replays: the live engine run session by session over a price history, on the simulated
broker and the full ledger. The demo and the backtest are replays; nothing here is a
second implementation of the strategy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

from trackrecord.domain import CashFlow, Mode
from trackrecord.engine.daily import close_of_day, is_rebalance_session, run_session
from trackrecord.engine.planning import decision_price
from trackrecord.engine.sessions import DECISION_BEFORE_CLOSE, SNAPSHOT_AFTER_CLOSE
from trackrecord.errors import SafetyRefusal
from trackrecord.ledger.cashflows import record_cashflow
from trackrecord.market.base import PriceRow
from trackrecord.market.service import record_prices

if TYPE_CHECKING:
    from trackrecord.engine.context import RunContext
    from trackrecord.market.calendar import ExchangeCalendar

History = Mapping[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class ReplayResult:
    sessions: int = 0
    rebalances: int = 0
    orders: int = 0
    first_session: date | None = None
    last_session: date | None = None
    final_nav: Decimal | None = None
    refusals: list[str] = field(default_factory=list)


def bars_by_session(history: History) -> dict[date, list[PriceRow]]:
    out: dict[date, list[PriceRow]] = {}
    for symbol, (dates, closes) in history.items():
        for day, value in zip(dates.astype("O").tolist(), np.asarray(closes, dtype=np.float64).tolist()):
            out.setdefault(day, []).append(PriceRow(symbol, day, value, value))
    return out


def load_history(ctx: "RunContext", rows: Sequence[PriceRow], now: datetime) -> None:
    """The price history before the first replayed session, as one ``prices.updated``."""

    with ctx.ledger.writer() as writer:
        record_prices(writer, rows, ctx.price_source, ctx.simulated, now, ctx.symbols, {"purpose": "history"})
    ctx.book.extend(rows)


def deposit(ctx: "RunContext", amount: Decimal, session: date, note: str) -> None:
    """An external flow: recorded in the ledger and booked at the simulated broker."""
    booked_at = ctx.calendar.close_time(session) - DECISION_BEFORE_CLOSE - timedelta(minutes=30)
    with ctx.ledger.writer() as writer:
        record_cashflow(writer, CashFlow(session, amount, ctx.settings.account.base_currency, note), "demo")
    ctx.broker.deposit(amount, booked_at, note)  # type: ignore[union-attr]


class _Batch:
    """One writer transaction shared by consecutive ordinary sessions of a replay."""

    def __init__(self, ctx: "RunContext", size: int) -> None:
        self.ctx, self.size = ctx, size
        self._manager = None
        self.writer = None
        self.sessions = 0

    def get(self):  # type: ignore[no-untyped-def]
        if self.writer is None:
            self._manager = self.ctx.ledger.writer()
            self.writer = self._manager.__enter__()  # type: ignore[union-attr]
        self.sessions += 1
        return self.writer

    def commit(self, *exc_info) -> None:  # type: ignore[no-untyped-def]
        if self._manager is not None:
            manager, self._manager, self.writer, self.sessions = self._manager, None, None, 0
            manager.__exit__(*(exc_info or (None, None, None)))

    def full(self) -> bool:
        return self.sessions >= self.size


def replay(ctx: "RunContext", sessions: Sequence[date], bars: Mapping[date, Sequence[PriceRow]],
           deposits: Mapping[date, tuple[Decimal, str]] | None = None,
           on_session: Callable[[int], None] | None = None, batch_sessions: int = 64) -> ReplayResult:
    """Run the daily pipeline over ``sessions``; each session's bars reach the tape only
    at its close, so no decision can see a later price. Ordinary sessions are recorded
    ``batch_sessions`` to a transaction; rebalance and deposit sessions commit each step."""
    import sys

    assert ctx.mode is Mode.PAPER
    deposits = deposits or {}
    batch = _Batch(ctx, batch_sessions)
    result = ReplayResult(first_session=sessions[0] if sessions else None)
    try:
        for index, session in enumerate(sessions):
            own_steps = is_rebalance_session(ctx, session) or session in deposits
            if own_steps or batch.full():
                batch.commit()
            close = ctx.calendar.close_time(session)
            decided_at = close - DECISION_BEFORE_CLOSE
            if session in deposits:
                ctx.session_clock.start(decided_at - timedelta(minutes=31))
                deposit(ctx, deposits[session][0], session, deposits[session][1])
            ctx.session_clock.start(decided_at)
            rows = bars.get(session, ())
            for row in rows:
                ctx.session_clock.record_close(row.symbol, session, close,
                                               decision_price(float(row.close or row.adj_close)))
            writer = None if own_steps else batch.get()
            try:
                report = run_session(ctx, session, rows, decided_at, close + SNAPSHOT_AFTER_CLOSE, writer)
            except SafetyRefusal as exc:  # the rule refused and recorded it; the replay goes on
                result.refusals.append(f"{session}: {exc}")
                report = close_of_day(ctx, session, rows, close + SNAPSHOT_AFTER_CLOSE)
            if report.rebalance is not None:
                result.rebalances += 1
                result.orders += len(report.rebalance.sent)
            if report.nav is not None:
                result.final_nav = Decimal(report.nav)
            result.sessions += 1
            result.last_session = session
            if on_session is not None:
                on_session(index + 1)
    except BaseException:
        batch.commit(*sys.exc_info())
        raise
    batch.commit()
    return result


def replay_window(calendar: "ExchangeCalendar", end: date, years: int, lookback_months: int) -> tuple[list[date], list[date]]:
    """(history sessions before the first rebalance, replayed sessions): the replay starts
    on the first rebalance session ``years`` before ``end``."""
    start = calendar.next_rebalance_session(date(end.year - years, end.month, 1))
    history_start = date(start.year - (lookback_months // 12) - 1, start.month, 1)
    history = [d.astype(date) for d in calendar.sessions_between(history_start, start - timedelta(days=1))]
    sessions = [d.astype(date) for d in calendar.sessions_between(start, end)]
    return history, sessions
