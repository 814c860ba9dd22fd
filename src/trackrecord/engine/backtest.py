"""``trackrecord backtest``: the live engine replayed over a price history on the simulated
broker, into a workspace of its own (never the live record), labelled SIMULATED and BACKTEST.

The convention (docs/engine.md, "Backtests"): on each session the engine decides before the
close, from the closes known up to the previous session; orders are sized in whole shares
from the previous close and fill at the session's close (market-on-close), with the
simulator's commission and slippage. Nothing here is a second implementation of the
strategy: ``engine.replay`` runs the daily pipeline session by session.

The backtest's database is throw-away (rerunning the command rebuilds it), so it is written
without a sync on commit (``bootstrap.connect(durable=False)``, refused for any other
workspace); its ledger is still hash-chained, signed and verifiable.
"""

from __future__ import annotations

import math
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Mapping, Sequence

import numpy as np

from trackrecord.config import (
    AccountConfig,
    BrokerConfig,
    DatabaseConfig,
    FlexConfig,
    NotificationsConfig,
    SchedulerConfig,
    Settings,
    SigningConfig,
)
from trackrecord.domain import Mode
from trackrecord.engine.performance import load_performance_inputs, performance_stats
from trackrecord.engine.replay import (
    ReplayResult,
    funded_the_session_before,
    load_history,
    record_benchmark_bars,
    replay,
)
from trackrecord.errors import UserError
from trackrecord.market.base import PriceRow
from trackrecord.market.service import benchmark_instruments, month_start_of
from trackrecord.secure_files import make_private_folder

if TYPE_CHECKING:
    from trackrecord.engine.context import RunContext
    from trackrecord.market.calendar import ExchangeCalendar
    from trackrecord.services import Services

MARKER = ".trackrecord-backtest"  # in every folder a backtest wrote: only such a folder is ever replaced
DEFAULT_FOLDER = "backtests"
_EPOCH = date(1970, 1, 1).toordinal()  # under the workspace, when no --out is given

# (folder, settings, backtest section of workspace.created, calendar, now) -> the run context
# and services of a new throw-away backtest workspace there, signed when the block ends well.
OpenBacktestWorkspace = Callable[[Path, Settings, Mapping[str, Any], "ExchangeCalendar", datetime],
                                 ContextManager[tuple["RunContext", "Services"]]]


@dataclass(frozen=True)
class BacktestCosts:
    """The simulated broker's frictions: commission ``commission_rate`` of the trade value
    (at least ``commission_min`` an order, base currency) and ``slippage_bps`` against the
    order from the closing price."""

    commission_rate: Decimal
    commission_min: Decimal
    slippage_bps: Decimal

    @classmethod
    def none(cls) -> "BacktestCosts":
        return cls(Decimal(0), Decimal(0), Decimal(0))

    @classmethod
    def of(cls, settings: Settings) -> "BacktestCosts":
        sim = settings.broker.sim
        return cls(sim.commission_rate, sim.commission_min, sim.slippage_bps)

    def document(self) -> dict[str, str]:
        return {"commission_bps": str(self.commission_rate * 10_000), "commission_min": str(self.commission_min),
                "slippage_bps": str(self.slippage_bps)}


@dataclass(frozen=True)
class PriceHistory:
    """The bars a backtest replays, and where they came from (``source``: csv, yahoo or
    synthetic; ``location``: the folder, or the seed); ``benchmark_rows``: the bars of the
    configured benchmark symbols outside the universe (``performance.benchmark`` and
    ``benchmarks``), never ranked or traded, recorded once the replay is done."""

    rows: Sequence[PriceRow]
    source: str
    location: str
    simulated: bool = False
    benchmark_rows: Sequence[PriceRow] = ()


@dataclass
class BacktestResult:
    root: Path
    first_session: date
    last_session: date
    cash: Decimal
    costs: BacktestCosts
    replay: ReplayResult
    history_sessions: int
    stats: dict[str, Any] = field(default_factory=dict)
    traded: float = 0.0  # the value of every fill, base currency (a grid's turnover)
    mean_nav: float = 0.0
    notes: tuple[str, ...] = ()  # what the user should know about the run (e.g. where the history stopped it)

    def document(self) -> dict[str, Any]:
        """The ``backtest --json`` document; ``stats`` is what ``stats --json`` prints on the
        backtest's workspace."""
        return {
            "workspace": str(self.root), "simulated": True, "backtest": True,
            "from": self.first_session.isoformat(), "to": self.last_session.isoformat(),
            "cash": str(self.cash), "costs": self.costs.document(),
            "sessions": self.replay.sessions, "history_sessions": self.history_sessions,
            "rebalances": self.replay.rebalances, "orders": self.replay.orders,
            "final_nav": None if self.replay.final_nav is None else str(self.replay.final_nav),
            "refusals": list(self.replay.refusals), "notes": list(self.notes), "stats": self.stats,
        }


def backtest_settings(settings: Settings, costs: BacktestCosts, prices: PriceHistory) -> Settings:
    """The workspace's strategy, universe, risk and performance settings on the simulated
    broker at ``costs``: a paper account of its own in a SQLite file of its own (never the
    live database, account, key, notifications or schedule)."""
    sim = settings.broker.sim.model_copy(update={
        "commission_rate": costs.commission_rate, "commission_min": costs.commission_min,
        "slippage_bps": costs.slippage_bps})
    price_update: dict[str, Any] = {"source": prices.source}
    if prices.source == "csv":
        price_update["csv_dir"] = prices.location
    return settings.model_copy(update={
        "mode": Mode.PAPER, "account": AccountConfig(base_currency=settings.account.base_currency),
        "database": DatabaseConfig(), "signing": SigningConfig(),
        "prices": settings.prices.model_copy(update=price_update), "broker": BrokerConfig(sim=sim),
        "notifications": NotificationsConfig(), "scheduler": SchedulerConfig(), "flex": FlexConfig(),
    })


def history_start(settings: Settings, start: date) -> date:
    """The first bar a backtest from ``start`` needs loaded (its lookback, with a month to spare)."""
    return month_start_of(start, settings.strategy.lookback_months + 2)


def check_capital(settings: Settings, cash: Decimal) -> None:
    """``UserError`` when the first rebalance's orders (``cash`` less the buffer, over
    ``top_n``) exceed ``risk.max_order_value``: risk would refuse every rebalance and the
    backtest would be a cash account's, not the strategy's."""
    strategy, limit = settings.strategy, settings.risk.max_order_value
    per_order = cash * (1 - Decimal(str(strategy.cash_buffer))) / strategy.top_n
    if per_order > limit:
        raise UserError(f"--cash {cash:,}: the first rebalance's orders (about {per_order:,.0f} each, top_n "
                        f"{strategy.top_n}) exceed risk.max_order_value {limit:,}, so risk would refuse every "
                        "rebalance; lower --cash or raise risk.max_order_value in trackrecord.yaml")


def check_out_folder(out_dir: Path) -> Path:
    """The resolved folder, if a backtest may write there: new, empty, or one an earlier
    backtest wrote (it holds the marker). Anything else is refused before anything is written."""
    root = out_dir.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise UserError(f"--out {root}: exists and is not a folder; nothing was written")
    if root.is_dir() and any(root.iterdir()) and not (root / MARKER).is_file():
        raise UserError(f"--out {root}: the folder is not empty and is not a backtest's (no {MARKER}); "
                        "a backtest never writes over another folder: choose a new one; nothing was written")
    return root


def replay_sessions(calendar: "ExchangeCalendar", history: PriceHistory, settings: Settings,
                    start: date, end: date, refuse_jumps: bool = True) -> tuple[list[date], list[date], tuple[str, ...]]:
    """(history sessions before the first replayed one, replayed sessions, notes for the
    user): the replay funds its account on the session before the first rebalance session
    on or after ``start`` (``funded_the_session_before``) and runs to ``end`` or the last
    session every instrument has a bar for, and needs every instrument priced
    ``lookback_months`` before its first rebalance and on every session in between (a gap, or
    a bar on a day the exchange was closed, is a ``UserError`` naming the file and the day;
    so is a one-day move the quality gate would stop the replay on, with ``refuse_jumps``)."""
    if start > end:
        raise UserError(f"--from {start} is after --to {end}")
    within_calendar = calendar.first_session <= start and end <= calendar.last_session
    if within_calendar and not calendar.sessions_between(start, end).size:
        raise UserError(f"no {calendar.code} session between --from {start} and --to {end}: the exchange was closed "
                        "on every one of those days; choose a window with sessions")
    symbols = [i.symbol for i in settings.universe.instruments]
    ordinals: dict[str, list[int]] = {symbol: [] for symbol in symbols}
    closes: dict[str, list[float]] = {symbol: [] for symbol in symbols}
    for row in history.rows:
        if row.symbol in ordinals:
            ordinals[row.symbol].append(row.session_date.toordinal())
            closes[row.symbol].append(row.adj_close)
    missing = [s for s in symbols if not ordinals[s]]
    if missing:
        raise UserError(f"no prices for {', '.join(missing)} from the lookback before --from {start} to --to {end} "
                        f"({_where(history, missing[0])}); give --prices-dir with a <SYMBOL>.csv for each "
                        "instrument covering those dates")
    days = {s: (np.array(o, dtype=np.int64) - _EPOCH).astype("datetime64[D]") for s, o in ordinals.items()}
    first_bar = {s: d.min().item() for s, d in days.items()}
    last_bar = {s: d.max().item() for s, d in days.items()}
    if start > max(last_bar.values()):
        raise UserError(f"--from {start}: the price history ends on {max(last_bar.values())} "
                        f"({_where(history, symbols[0])}); choose dates it covers")
    first = calendar.next_rebalance_session(start)
    needed = month_start_of(first, settings.strategy.lookback_months)
    late = [f"{s} from {first_bar[s]}" for s in symbols if first_bar[s] >= needed]
    if late:
        raise UserError(f"--from {start}: the {settings.strategy.lookback_months}-month lookback of the first rebalance "
                        f"({first}) needs prices before {needed}; the history has {', '.join(late)}")
    ends_first = min(symbols, key=lambda s: last_bar[s])
    last = min(end, last_bar[ends_first], calendar.last_session)
    if first > last:
        raise UserError(f"no rebalance session between --from {start} and --to {end} with prices "
                        f"(the history ends on {last_bar[ends_first]}, {_where(history, ends_first)})")
    notes = []
    if last < min(end, max(last_bar.values()), calendar.last_session):
        notes.append(f"the backtest stops on {last}, the last bar of {_where(history, ends_first)}; "
                     f"other instruments have bars to {max(last_bar.values())}")
    elif last < end and calendar.sessions_between(last + timedelta(days=1), end).size:
        notes.append(f"--to {end} is after the price history's last session ({last}): the backtest ends there")
    _refuse_gaps(calendar, history, days, closes, max(needed, max(first_bar.values())), last,
                 settings.prices.max_daily_move if refuse_jumps else math.inf)
    history_days = sorted({row.session_date for row in history.rows if row.session_date < first})
    sessions = calendar.sessions_between(first, last).tolist()
    return (*funded_the_session_before(history_days, sessions), tuple(notes))


def _refuse_gaps(calendar: "ExchangeCalendar", history: PriceHistory, days: Mapping[str, np.ndarray],
                 closes: Mapping[str, list[float]], since: date, last: date, max_daily_move: float) -> None:
    """``UserError`` for the first instrument without a bar on a session from ``since`` to
    ``last``, with one on a day the exchange was closed (the engine would mark and trade it
    at a stale or invented close), or with a one-day move beyond ``prices.max_daily_move``
    (the quality gate would stop the replay in its middle)."""
    expected = calendar.sessions_between(since, last)
    low, high = np.datetime64(since, "D"), np.datetime64(last, "D")
    for symbol, dates in days.items():
        held, first = np.unique(dates, return_index=True)
        inside = (held >= low) & (held <= high)
        adjusted = np.asarray(closes[symbol], dtype=np.float64)[first][inside]
        held = held[inside]
        with np.errstate(divide="ignore", invalid="ignore"):
            moves = np.abs(adjusted[1:] / adjusted[:-1] - 1.0)
        jumps = np.flatnonzero(moves > max_daily_move)
        if jumps.size:
            at = jumps[0] + 1
            raise UserError(f"{_where(history, symbol)}: the close of {held[at]} ({adjusted[at]:g}) is "
                            f"{moves[jumps[0]]:.0%} from the one before ({adjusted[at - 1]:g}), beyond "
                            f"prices.max_daily_move {max_daily_move:.0%}: the price quality gate would stop the "
                            "replay; correct the file (a split or a units mix-up?); nothing was written")
        absent = np.setdiff1d(expected, held, assume_unique=True)
        if absent.size:
            shown = ", ".join(str(d) for d in absent[:3]) + (f" and {absent.size - 3} more" if absent.size > 3 else "")
            raise UserError(f"{_where(history, symbol)}: no bar for {absent.size} {calendar.code} session(s) the "
                            f"backtest needs ({shown}); it needs a close on every session from {since} to {last}: "
                            "fill the gap in the prices, or choose --from/--to around it; nothing was written")
        closed = np.setdiff1d(held, expected, assume_unique=True)
        if closed.size:
            raise UserError(f"{_where(history, symbol)}: a bar on {closed[0]}, a day {calendar.code} was closed "
                            f"({closed.size} such day(s)); remove it: a backtest prices sessions only; "
                            "nothing was written")


def _where(history: PriceHistory, symbol: str) -> str:
    if history.source == "csv" and history.location:
        return str(Path(history.location) / f"{symbol}.csv")
    return f"{symbol} from the {history.source} source"


def run_backtest(settings: Settings, history: PriceHistory, out_dir: Path, costs: BacktestCosts,
                 start: date, end: date, cash: Decimal, now: datetime, open_workspace: OpenBacktestWorkspace,
                 calendar: "ExchangeCalendar", progress: Callable[[int, int], None] | None = None,
                 refuse_jumps: bool = True) -> BacktestResult:
    """Replay ``start`` .. ``end`` of ``history`` through the engine into ``out_dir`` with
    ``cash`` deposited on its first session, the one before the first rebalance; the result
    carries the new workspace's stats.
    Bad input (dates, folder, cash, a history too short for the lookback, with a gap, or with
    a jump when ``refuse_jumps``) is a ``UserError`` raised before anything is written; a
    failure or Ctrl-C during the run keeps nothing (``out_dir`` is as it was)."""
    if cash <= 0:
        raise UserError(f"--cash {cash}: expected a positive amount")
    check_capital(settings, cash)
    root = check_out_folder(out_dir)
    history_days, sessions, notes = replay_sessions(calendar, history, settings, start, end, refuse_jumps)
    bars = _by_session(history.rows)
    run_settings = backtest_settings(settings, costs, history)
    section = {"from": sessions[0].isoformat(), "to": sessions[-1].isoformat(), "cash": str(cash),
               "costs": costs.document(), "prices": {"source": history.source, "location": history.location}}
    building = _building_folder(root)
    try:
        with open_workspace(building, run_settings, section, calendar, now) as (ctx, services):
            load_history(ctx, [row for day in history_days for row in bars[day]], now)
            total = len(sessions)
            result = replay(ctx, sessions, bars, {sessions[0]: (cash, "backtest capital")},
                            (lambda done: progress(done, total)) if progress else None, by_month=True)
            notes += _record_benchmarks(ctx, history, settings, sessions[0], sessions[-1], now)
            record = load_performance_inputs(services.engine, services.settings)
            stats = performance_stats(services, inputs=record, held_bars=ctx.book.series())  # the replay's own bars
        _put_in_place(building, root)
    except BaseException:  # a failure or Ctrl-C keeps nothing: --out is as it was (an earlier backtest stays whole)
        shutil.rmtree(building, ignore_errors=True)
        raise
    return BacktestResult(root, sessions[0], sessions[-1], cash, costs, result, len(history_days), stats,
                          math.fsum(float(abs(f.quantity) * f.price) for f in record.fills),
                          math.fsum(record.navs) / len(record.navs), notes + _no_orders(result, cash))


def _record_benchmarks(ctx: "RunContext", history: PriceHistory, settings: Settings, first: date, last: date,
                       now: datetime) -> tuple[str, ...]:
    """The benchmark symbols' bars up to ``last``, as one ``prices.updated`` after the replay
    (no decision saw them); a note for each symbol the history has no bar of."""
    symbols = [instrument.symbol for instrument in benchmark_instruments(settings)]
    rows = [row for row in history.benchmark_rows if row.session_date <= last]
    held = {row.symbol for row in rows if row.session_date <= first}
    if rows:
        record_benchmark_bars(ctx, rows, sorted({r.symbol for r in rows}), now)
    return tuple(f"no {symbol} prices from {_where(history, symbol)} on or before the record's base ({first}): "
                 f"the backtest has no {symbol} benchmark" for symbol in symbols if symbol not in held)


def _no_orders(result: ReplayResult, cash: Decimal) -> tuple[str, ...]:
    """A backtest that never traded says so: its flat record is the cash, not the strategy."""
    if result.orders or result.refusals:  # refusals are listed on their own
        return ()
    if not result.rebalances:
        return ("no rebalance session fell between --from and --to: the backtest holds its cash throughout",)
    return (f"none of the {result.rebalances} rebalances placed an order: at --cash {cash:,} no position's share "
            "buys one whole share, so the backtest holds its cash throughout",)


def _by_session(rows: Sequence[PriceRow]) -> dict[date, list[PriceRow]]:
    out: dict[date, list[PriceRow]] = defaultdict(list)
    for row in rows:
        out[row.session_date].append(row)
    return dict(out)


def _building_folder(root: Path) -> Path:
    """A new folder beside ``root`` that the backtest is written into, marked as a backtest's
    from the start (a killed run leaves a folder the marker names as throw-away)."""
    folder = root.parent / f".{root.name}.building-{os.getpid()}"
    try:
        if (folder / MARKER).is_file():
            shutil.rmtree(folder)
        make_private_folder(folder)
        (folder / MARKER).write_text("written by `trackrecord backtest`: a rerun replaces this folder\n")
    except OSError as exc:
        raise UserError(f"--out {root}: cannot write there ({exc.strerror or exc}); nothing was written") from None
    return folder


def _put_in_place(building: Path, root: Path) -> None:
    """The finished backtest becomes ``root``; an earlier backtest there is replaced only now."""
    if root.is_dir():
        old = root.parent / f".{root.name}.replaced-{os.getpid()}"
        root.rename(old)
        try:
            building.rename(root)
        except BaseException:
            old.rename(root)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        building.rename(root)
