"""Replays: the live engine run session by session over a price history, on the simulated
broker and the full ledger. The demo and the backtest are replays; nothing here is a
second implementation of the strategy."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterator, Mapping, Sequence

import numpy as np

from trackrecord.domain import CashFlow, Mode
from trackrecord.engine.daily import close_of_day, run_session
from trackrecord.engine.held_sessions import HeldSessions
from trackrecord.engine.sessions import DECISION_BEFORE_CLOSE, SNAPSHOT_AFTER_CLOSE
from trackrecord.errors import RuntimeFailure, SafetyRefusal
from trackrecord.ledger.backtest_mark import backtest_of
from trackrecord.ledger.cashflows import record_cashflow
from trackrecord.ledger.queries import reading
from trackrecord.market.base import PriceRow
from trackrecord.market.service import record_prices

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.engine.context import RunContext
    from trackrecord.ledger.store import SqlLedger, Writer
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


def record_benchmark_bars(ctx: "RunContext", rows: Sequence[PriceRow], symbols: Sequence[str], now: datetime) -> None:
    """Bars no decision may see (the benchmarks', never ranked or traded), after the last
    replayed session, as one ``prices.updated`` (purpose ``benchmark``), committed at once."""
    with ctx.ledger.writer() as writer:
        record_prices(writer, rows, ctx.price_source, ctx.simulated, now, symbols, {"purpose": "benchmark"})
    if isinstance(ctx.ledger, MonthLedger):
        ctx.ledger.commit()


def deposit(ctx: "RunContext", amount: Decimal, session: date, note: str) -> None:
    """An external flow: recorded in the ledger and booked at the simulated broker."""
    booked_at = ctx.calendar.close_time(session) - DECISION_BEFORE_CLOSE - timedelta(minutes=30)
    with ctx.ledger.writer() as writer:
        record_cashflow(writer, CashFlow(session, amount, ctx.settings.account.base_currency, note), "demo")
    ctx.broker.deposit(amount, booked_at, note)  # type: ignore[union-attr]


class MonthLedger:
    """A backtest's ledger (``bootstrap.backtest_workspace``): its writers are steps of one
    open transaction that the replay commits once a month, rebalance included, with the
    simulated broker's book written inside it (``SimulatedBroker.join_transaction``).

    Rule: only for a ledger marked as a backtest in its ``workspace.created`` (the rule of
    ``bootstrap.connect(durable=False)``), on SQLite; any other is a ``SafetyRefusal``. A
    live or paper run commits each step, the intent before its order leaves.

    A step cannot be undone alone: a step that fails after it wrote rolls the month back
    and stops the replay (``RuntimeFailure``); a step that fails before writing anything
    raises as it is (a refusal, recorded in an earlier step, lets the replay go on).
    """

    def __init__(self, ledger: "SqlLedger") -> None:
        with reading(ledger.engine) as conn:
            if conn.dialect.name != "sqlite" or backtest_of(conn) is None:
                raise SafetyRefusal("one transaction a month is for a backtest's throw-away ledger only: this one is "
                                    "not marked as a backtest; a live or paper run commits each step")
        self.ledger = ledger
        self._manager: "ContextManager[Writer] | None" = None
        self._writer: "Writer | None" = None

    @property
    def engine(self) -> "Engine":
        return self.ledger.engine

    def current(self) -> "Writer":
        """The month's writer, its transaction begun on first use."""
        if self._writer is None:
            manager = self.ledger.writer()
            # kept only once begun: a Ctrl-C while it takes the lock leaves no transaction to end
            self._writer = manager.__enter__()
            self._manager = manager
        return self._writer

    def open_connection(self) -> Any:
        """The DBAPI connection of the month's open transaction; None between months."""
        return None if self._writer is None else self._writer.conn.connection.driver_connection

    def commit(self, *exc_info: Any) -> None:
        """End the month's transaction: commit, or with ``exc_info`` of a failure roll it back."""
        if self._manager is not None:
            manager, self._manager, self._writer = self._manager, None, None
            manager.__exit__(*(exc_info or (None, None, None)))

    @contextlib.contextmanager
    def writer(self) -> Iterator["Writer"]:
        writer = self.current()
        driver = writer.conn.connection.driver_connection
        changes = driver.total_changes
        try:
            yield writer
        except GeneratorExit:  # abandoned unbound (a Ctrl-C as the step began), closed by the collector: no step failed
            raise
        except BaseException as exc:
            if driver.total_changes == changes:
                raise
            self.commit(*sys.exc_info())
            if not isinstance(exc, Exception):  # Ctrl-C (KeyboardInterrupt) stays what it is: the run was stopped
                raise
            raise RuntimeFailure(f"a step of the backtest failed after it wrote ({exc}); its month was rolled back "
                                 "and the replay stopped: run the backtest again") from exc


class _Batch:
    """One writer transaction shared by consecutive ordinary sessions of a replay; a
    rebalance or deposit session commits each of its steps."""

    def __init__(self, ctx: "RunContext", size: int) -> None:
        self.ctx, self.size = ctx, size
        self._manager: "ContextManager[Writer] | None" = None
        self.writer: "Writer | None" = None
        self.sessions = 0

    def writer_for(self, own_steps: bool, starts_month: bool) -> "Writer | None":
        if own_steps or self.sessions >= self.size:
            self.commit()
        if own_steps:
            return None
        if self.writer is None:
            self._manager = self.ctx.ledger.writer()
            self.writer = self._manager.__enter__()
        self.sessions += 1
        return self.writer

    def commit(self, *exc_info: Any) -> None:
        if self._manager is not None:
            manager, self._manager, self.writer, self.sessions = self._manager, None, None, 0
            manager.__exit__(*(exc_info or (None, None, None)))


class _Months:
    """A backtest's sessions, a month (at most ``size`` sessions) to a transaction."""

    def __init__(self, ledger: MonthLedger, size: int) -> None:
        self.ledger, self.size = ledger, size
        self.sessions = 0

    def writer_for(self, own_steps: bool, starts_month: bool) -> "Writer | None":
        if starts_month or self.sessions >= self.size:
            self.commit()
        self.sessions += 1
        return None if own_steps else self.ledger.current()

    def commit(self, *exc_info: Any) -> None:
        self.sessions = 0
        self.ledger.commit(*exc_info)


def replay(ctx: "RunContext", sessions: Sequence[date], bars: Mapping[date, Sequence[PriceRow]],
           deposits: Mapping[date, tuple[Decimal, str]] | None = None,
           on_session: Callable[[int], None] | None = None, batch_sessions: int = 64,
           by_month: bool = False) -> ReplayResult:
    """Run the daily pipeline over ``sessions``; each session's bars reach the tape and the
    price book only at its close, so no decision can see a later price. Ordinary sessions
    are recorded ``batch_sessions`` to a transaction; rebalance and deposit sessions commit
    each step, except on a backtest's ``MonthLedger``: there a month is one transaction.
    ``by_month`` (a backtest's): the sessions' bars and daily gates are recorded once a
    month, at its last session's close, before the next month's decision (``HeldSessions``)."""
    assert ctx.mode is Mode.PAPER
    deposits = deposits or {}
    held = HeldSessions(ctx.price_source, ctx.simulated, ctx.symbols, ctx.calendar.code) if by_month else None
    ctx = replace(ctx, held=held)
    month_ends = _last_sessions_of_months(sessions)
    transactions: _Batch | _Months = _Months(ctx.ledger, batch_sessions) if isinstance(ctx.ledger, MonthLedger) \
        else _Batch(ctx, batch_sessions)
    rebalance_days = _rebalance_sessions(ctx.calendar, sessions)
    result = ReplayResult(first_session=sessions[0] if sessions else None)
    try:
        for index, session in enumerate(sessions):
            rebalance_day = session in rebalance_days
            writer = transactions.writer_for(rebalance_day or session in deposits, rebalance_day)
            close = ctx.calendar.close_time(session)
            decided_at = close - DECISION_BEFORE_CLOSE
            if session in deposits:
                ctx.session_clock.start(decided_at - timedelta(minutes=31))
                deposit(ctx, deposits[session][0], session, deposits[session][1])
            ctx.session_clock.start(decided_at)
            rows = bars.get(session, ())
            ctx.session_clock.record_closes(session, close, [(row.symbol, row.close or row.adj_close) for row in rows])
            try:
                report = run_session(ctx, session, rows, decided_at, close + SNAPSHOT_AFTER_CLOSE, writer,
                                     rebalance_day)
            except SafetyRefusal as exc:  # the rule refused and recorded it; the replay goes on
                result.refusals.append(f"{session}: {exc}")
                report = close_of_day(ctx, session, rows, close + SNAPSHOT_AFTER_CLOSE)
            if report.rebalance is not None:
                result.rebalances += 1
                result.orders += len(report.rebalance.sent)
            if report.nav is not None:
                result.final_nav = Decimal(report.nav)
            if held is not None and session in month_ends:
                _record_held(ctx, held, writer)
            result.sessions += 1
            result.last_session = session
            if on_session is not None:
                on_session(index + 1)
    except BaseException:
        transactions.commit(*sys.exc_info())
        raise
    transactions.commit()
    return result


def _record_held(ctx: "RunContext", held: HeldSessions, writer: "Writer | None") -> None:
    if writer is not None:
        held.record(writer)
        return
    with ctx.ledger.writer() as own:
        held.record(own)


def _last_sessions_of_months(sessions: Sequence[date]) -> set[date]:
    return set({(day.year, day.month): day for day in sessions}.values())


def _rebalance_sessions(calendar: "ExchangeCalendar", sessions: Sequence[date]) -> set[date]:
    """The rebalance sessions among ``sessions`` (one calendar question a month)."""
    return {calendar.rebalance_session(day) for day in _last_sessions_of_months(sessions)}


def replay_window(calendar: "ExchangeCalendar", end: date, years: int, lookback_months: int) -> tuple[list[date], list[date]]:
    """(history sessions before the replay, replayed sessions): the replay funds its account
    on the session before the first rebalance ``years`` before ``end`` and trades from that
    rebalance on."""
    start = calendar.next_rebalance_session(date(end.year - years, end.month, 1))
    history_start = date(start.year - (lookback_months // 12) - 1, start.month, 1)
    history = calendar.sessions_between(history_start, start - timedelta(days=1)).tolist()
    sessions = calendar.sessions_between(start, end).tolist()
    return funded_the_session_before(history, sessions)


def funded_the_session_before(history: Sequence[date], sessions: Sequence[date]) -> tuple[list[date], list[date]]:
    """Move the last history session into the replay, as the session its account is funded
    on. Its snapshot (the deposit, all cash) is then the record's base, so the first
    rebalance's costs fall inside the returns rather than before the base: the total return
    is the final NAV over the deposit, as in bt, whose first date precedes its first trade."""
    if not history:
        return list(history), list(sessions)
    return list(history[:-1]), [history[-1], *sessions]
