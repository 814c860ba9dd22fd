"""Performance of the recorded account: read snapshots, cash flows, fills and benchmark
prices from the database and hand them, as plain numbers, to ``trackrecord.analytics``.

The documents returned here are what ``trackrecord stats|trades|slippage --json`` print,
and what the dashboard, the reports and ``trackrecord demo`` show. Every document says
which account it is about and whether the figures are ``simulated`` or from a ``paper``
account (DESIGN.md, "Honest numbers").
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from trackrecord.analytics.benchmark import equal_weight_index
from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.flow_checks import trades_before_the_base, unreflected_flows
from trackrecord.analytics.provenance import Origin, origin_of, origin_shares
from trackrecord.analytics.report import compute_stats
from trackrecord.analytics.slippage import SlippageFill, slippage_report
from trackrecord.analytics.trades import TradeFill, TradeMatcher, analyse_trades
from trackrecord.domain import OrderType, is_paper_account
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.backtest_mark import backtest_of, is_backtest
from trackrecord.ledger.cashflows import list_cashflows
from trackrecord.ledger.parsing import parse_timestamp
from trackrecord.ledger.record_rules import recorded_calendar, refuse_another_calendar
from trackrecord.ledger.queries import (
    SnapshotRecord,
    current_fills,
    has_paper_snapshot,
    intended_prices,
    positions_at,
    reading,
    rows_by_account,
    snapshot_history,
)
from trackrecord.market.calendar import open_calendar
from trackrecord.market.store import adjusted_closes, load_prices, stored_symbols
from trackrecord.services import Services

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from trackrecord.config import Settings
    from trackrecord.ledger.store import SqlLedger
    from trackrecord.market.base import PriceSeries
    from zoneinfo import ZoneInfo

UNIVERSE = "universe"
NO_BENCHMARK = "none"


@dataclass(frozen=True, slots=True)
class PerformanceInputs:
    """One account's record as plain data: snapshots (one per session, oldest first),
    external flows in the base currency by date, and its current (not superseded) fills."""

    account_id: str
    base_currency: str
    is_paper: bool
    dates: tuple[date, ...]
    navs: tuple[float, ...]
    simulated: tuple[bool, ...]
    positions: tuple[str, ...]
    flows: dict[date, float]
    fills: tuple[TradeFill, ...]
    fills_simulated: bool
    snapshot_seqs: tuple[int, ...] = ()
    fill_seqs: tuple[int, ...] = ()
    fill_simulated: tuple[bool, ...] = ()
    trades: TradeMatcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the periods of one report match these fills once, and never a later record's
        object.__setattr__(self, "trades", TradeMatcher(self.fills))

    def used_range(self, period_from: date | None, period_to: date | None) -> tuple[int, int]:
        """Indexes of the base snapshot and the last snapshot of the period: the base is
        the snapshot before ``period_from`` (else the first one), as in ``compute_stats``."""
        first = 0 if period_from is None else max(bisect_left(self.dates, period_from) - 1, 0)
        last = len(self.dates) - 1 if period_to is None else bisect_right(self.dates, period_to) - 1
        if last < first or (period_from is not None and self.dates[last] < period_from):
            raise UserError(
                f"no snapshot of account {self.account_id} between {period_from or 'the start'} and "
                f"{period_to or 'the end'}; its snapshots run from {self.dates[0]} to {self.dates[-1]}"
            )
        return first, last

    def marks(self, index: int) -> dict[str, float]:
        """Market prices of the positions held in snapshot ``index`` (for unrealised P&L)."""
        return _marks(self.positions[index])


def load_performance_inputs(engine: "Engine", settings: "Settings", account_id: str | None = None) -> PerformanceInputs:
    """Read one account's snapshots, the cash flows and its fills.

    The account is ``account_id`` if given, else ``settings.account.account_id`` when it
    has snapshots, else the account with the most snapshots. Raises ``UserError`` when
    there is no snapshot, the account is unknown, or a cash flow is in a currency with no
    rate in ``prices.fx_rates``, or the record is kept on another calendar than
    ``universe.calendar`` (its frequency would be read off another exchange's sessions).
    """
    with reading(engine) as conn:
        refuse_another_calendar(settings.universe.calendar, recorded_calendar(conn))
        account = _choose_account(conn, settings, account_id, "snapshots")
        if account is None:
            raise UserError("no snapshots recorded yet: import them with `trackrecord import snapshots FILE.csv` "
                            "or run the daily pipeline")
        rows = snapshot_history(conn, account)
        base_currency = _base_currency(account, rows)
        flows = _flows_in_base(conn, account, _choose_account(conn, settings, None, "snapshots"), base_currency,
                               settings.prices.fx_rates)
        fills, fill_simulated, fill_seqs = _trade_fills(conn, account)
    return PerformanceInputs(
        account_id=account,
        base_currency=base_currency,
        is_paper=is_paper_account(account) or any(r.is_paper for r in rows),
        dates=tuple(r.session_date for r in rows),
        navs=tuple(float(r.nav) for r in rows),
        simulated=tuple(r.simulated for r in rows),
        positions=tuple(r.positions for r in rows),
        flows=flows,
        fills=fills,
        fills_simulated=any(fill_simulated),
        snapshot_seqs=tuple(r.seq for r in rows),
        fill_seqs=fill_seqs,
        fill_simulated=fill_simulated,
    )


def performance_stats(
    services: Services,
    period_from: date | None = None,
    period_to: date | None = None,
    benchmark: str | None = None,
    *,
    account_id: str | None = None,
    include_series: bool = False,
    frozen_benchmark: tuple[tuple[Any, Any] | None, str | None] | None = None,
    frozen_sessions: Any | None = None,
    inputs: PerformanceInputs | None = None,
    held_bars: Mapping[str, "PriceSeries"] | None = None,
) -> dict[str, Any]:
    """The ``stats`` document: ``StatsResult.to_dict()`` (metrics, benchmark, trades, period,
    nonfinite, monthly and yearly returns) plus ``account``, ``base_currency``,
    ``simulated``, ``paper`` and ``benchmark_name``.

    ``benchmark``: ``"universe"`` (equal-weight of the configured instruments), ``"none"``,
    or a symbol with stored prices; None means ``performance.benchmark``. A ``benchmark``
    symbol asked for with no stored price at all is a ``UserError`` naming what is
    available; otherwise missing benchmark prices give ``"benchmark": null`` with the
    reason in ``nonfinite``. ``frozen_benchmark``: ``(closes, reason)`` recorded in the
    ledger, used instead of the stored prices (the monthly report, rebuilt from events);
    ``frozen_sessions``: the calendar's sessions recorded with them, instead of the calendar's;
    ``inputs``: the account's record loaded already (several periods of one report);
    ``held_bars``: the stored bars held in memory already (see ``load_benchmark``).
    """

    settings = services.settings
    if period_from and period_to and period_from > period_to:
        raise UserError(f"FROM {period_from} is after TO {period_to}")
    if inputs is None or inputs.account_id != (account_id or inputs.account_id):
        inputs = load_performance_inputs(services.engine, settings, account_id)
    first, last = inputs.used_range(period_from, period_to)
    name = benchmark_name(benchmark, settings)
    if frozen_benchmark is not None:
        closes, reason = frozen_benchmark
    else:
        if benchmark is not None and name not in (None, UNIVERSE):
            _require_stored_prices(services.engine, name)
        closes, reason = load_benchmark(services.engine, settings, name, inputs.dates[0], inputs.dates[last],
                                        held_bars)
    if frozen_sessions is not None:
        sessions = frozen_sessions
    else:
        sessions = record_sessions(settings, inputs.dates[0], inputs.dates[-1])
    with _as_user_error():
        result = compute_stats(
            inputs.dates, inputs.navs, inputs.flows, flow_weight=settings.performance.flow_timing,
            risk_free=settings.performance.risk_free_rate, benchmark_closes=closes, fills=inputs.trades,
            marks=inputs.marks(last), period_from=period_from, period_to=period_to, sessions=sessions,
        )
    document = result.to_dict(include_series=include_series)
    if reason is not None:
        document["nonfinite"]["benchmark"] = reason
    simulated = inputs.fills_simulated or any(inputs.simulated[first : last + 1])
    fill_seqs, fill_flags = _seqs_in_period(inputs.fills, inputs.fill_seqs, inputs.fill_simulated, period_from,
                                            period_to)
    provenance = {
        "provenance": _shares(services.ledger, kinds.SNAPSHOT_RECORDED, inputs.snapshot_seqs[first : last + 1],
                              inputs.simulated[first : last + 1]),
        "provenance_fills": _shares(services.ledger, kinds.FILL_RECORDED, fill_seqs, fill_flags) if fill_seqs else None,
        "warnings": [flow.message() for flow in unreflected_flows(inputs.dates[first : last + 1],
                                                                   inputs.navs[first : last + 1], inputs.flows)]
        + _trades_before_the_record(inputs, period_from),
    }
    return _labelled(inputs, simulated) | {"backtest": is_backtest(services.engine), "benchmark_name": name} | \
        provenance | document


def _trades_before_the_record(inputs: PerformanceInputs, period_from: date | None) -> list[str]:
    """The warning of a record whose first snapshot follows trades, for a period from its start."""
    if period_from is not None and period_from > inputs.dates[0]:
        return []
    warning = trades_before_the_base(inputs.dates[0], [fill.executed_at.date() for fill in inputs.fills])
    return [] if warning is None else [warning]


def trades_document(
    services: Services,
    period_from: date | None = None,
    period_to: date | None = None,
    *,
    account_id: str | None = None,
    inputs: PerformanceInputs | None = None,
) -> dict[str, Any]:
    """The ``trades`` document: ``TradeReport.to_dict()`` (summary, nonfinite, round_trips,
    open_positions) plus the labels. Open positions are marked at the account's last
    snapshot on or before ``period_to`` (unmarked without one). Amounts are in the
    instruments' currency. No fills recorded gives an empty report, not an error.
    ``inputs``: the account's record loaded already (its fills are matched once for a whole
    report); used when it is the account's whose trades these are."""

    if period_from and period_to and period_from > period_to:
        raise UserError(f"FROM {period_from} is after TO {period_to}")
    with reading(services.engine) as conn:
        account = _choose_account(conn, services.settings, account_id, "fills")
        if inputs is not None and account is not None and inputs.account_id == account:
            fills, flags, seqs, matcher = inputs.fills, inputs.fill_simulated, inputs.fill_seqs, inputs.trades
        else:
            fills, flags, seqs = _trade_fills(conn, account) if account else ((), (), ())
            matcher = TradeMatcher(fills)
        simulated = any(flags)
        marks = _marks_at(conn, account, period_to) if account else {}
        is_paper = _is_paper(conn, account)
        backtest = backtest_of(conn) is not None
    with _as_user_error():
        report = analyse_trades(matcher, marks=marks, period_from=period_from, period_to=period_to)
    provenance = _shares(services.ledger, kinds.FILL_RECORDED, *_seqs_in_period(fills, seqs, flags, period_from, period_to))
    return {"account": account, "simulated": simulated, "paper": is_paper, "backtest": backtest,
            "provenance": provenance} | report.to_dict()


def _seqs_in_period(fills: Sequence[TradeFill], seqs: Sequence[int], simulated: Sequence[bool],
                    period_from: date | None, period_to: date | None) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """The seqs of the fills executed in the period, and their projection's ``simulated`` flags."""
    flags = simulated or (False,) * len(seqs)  # unknown: every payload is read
    kept = [(seq, flag) for fill, seq, flag in zip(fills, seqs, flags)
            if (period_from is None or fill.executed_at.date() >= period_from)
            and (period_to is None or fill.executed_at.date() <= period_to)]
    return tuple(seq for seq, _ in kept), tuple(flag for _, flag in kept)


def _shares(ledger: "SqlLedger", kind: str, seqs: Sequence[int], simulated: Sequence[bool]) -> dict[str, float]:
    """Shares of broker-sourced, imported and simulated payloads among the events ``seqs``
    of ``kind`` (``analytics.provenance``). ``simulated``: the projection's flag of each seq,
    which is ``origin_of``'s first test (``bool(payload["simulated"])``): only the payloads
    of the others are read and parsed."""
    known = {seq for seq, flag in zip(seqs, simulated, strict=True) if flag}
    wanted = set(seqs) - known
    origins = [Origin.SIMULATED] * len(known)
    if wanted:
        origins += [origin_of(event.data()) for event in ledger.events(kind=kind) if event.seq in wanted]
    return origin_shares(origins)


def slippage_document(services: Services, *, account_id: str | None = None,
                      timezone: str | None = None) -> dict[str, Any]:
    """The ``slippage`` document: ``slippage_report`` (per-fill rows, total, by symbol, side,
    order type and month; positive bps = cost, for buys and sells alike) plus the labels
    and ``without_intended_price``, the number of fills left out because no decision
    price was recorded for them. A market-on-close fill is split into delay and execution
    at the stored raw close of its session (the fill's date at the exchange of
    ``universe.calendar``; ``timezone``, when given, is that exchange's zone)."""

    with reading(services.engine) as conn:
        refuse_another_calendar(services.settings.universe.calendar, recorded_calendar(conn))
        account = _choose_account(conn, services.settings, account_id, "fills")
        usable, left_out, simulated = _slippage_fills(conn, account) if account else ([], 0, False)
        is_paper = _is_paper(conn, account)
        usable = _with_session_closes(conn, services.settings, usable, timezone)
        backtest = backtest_of(conn) is not None
    with _as_user_error():
        report = slippage_report(usable)
    labels = {"account": account, "simulated": simulated, "paper": is_paper, "backtest": backtest}
    return labels | report | {"without_intended_price": left_out}


def record_sessions(settings: "Settings", first: date, last: date) -> Any:
    """The sessions of the universe's exchange calendar (``universe.calendar``) from a
    little before the record's first snapshot: what the record's frequency is read from."""
    calendar = open_calendar(settings.universe.calendar, start=first - timedelta(days=14),
                             end=max(last, first) + timedelta(days=14))
    return calendar.sessions


def benchmark_name(requested: str | None, settings: "Settings") -> str | None:
    """``"universe"``, a symbol (upper case), or None for no benchmark."""
    name = (requested if requested is not None else settings.performance.benchmark).strip()
    if name.lower() == NO_BENCHMARK or not name:
        return None
    return UNIVERSE if name.lower() == UNIVERSE else name.upper()


def _require_stored_prices(engine: "Engine", symbol: str) -> None:
    known = stored_symbols(engine)
    if symbol not in known:
        shown = ", ".join(known) if known else "none yet (run `trackrecord prices update` or `prices import DIR`)"
        raise UserError(f"--benchmark {symbol}: no stored prices for {symbol}; use universe, none, or a symbol "
                        f"with stored prices: {shown}; or add {symbol} to performance.benchmarks and store its "
                        "prices (`prices update`; a backtest reads them when it runs)")


def load_benchmark(
    engine: "Engine", settings: "Settings", name: str | None, record_start: date, end: date,
    held_bars: Mapping[str, "PriceSeries"] | None = None,
) -> tuple[tuple[Any, Any] | None, str | None]:
    """Benchmark closes ``(dates, values)`` (numpy arrays) up to ``end``, or ``(None, reason)``.

    The universe benchmark is ``equal_weight_index`` over the union of the instruments'
    price dates, starting on the last such date on or before ``record_start`` (so every
    sub-period of the record sees the same index), or on the first date every instrument
    has a close if that is later.

    ``held_bars``: every stored bar of some symbols, as the store holds them (a backtest's
    price book, which receives each bar as it is stored, in date order): the benchmark's
    closes are taken from there when it holds each of its symbols, without reading the
    stored bars back (57,000 on the 25-year backtest: ~50 ms); else they are read.
    """
    if name is None:
        return None, None
    symbols = [i.symbol for i in settings.universe.instruments] if name == UNIVERSE else [name]
    if held_bars is not None and all(s in held_bars for s in symbols):
        series = _closes_up_to(held_bars, symbols, end)
    else:
        with reading(engine) as conn:
            series = adjusted_closes(conn, symbols, end)
    missing = [s for s in symbols if s not in series]
    if missing:
        return None, f"no stored prices on or before {end} for {', '.join(missing)}"
    if name != UNIVERSE:
        return series[name], None
    return _equal_weight_closes(series, record_start)


def _closes_up_to(bars: Mapping[str, "PriceSeries"], symbols: Sequence[str], end: date) -> dict[str, tuple[Any, Any]]:
    """``adjusted_closes`` from bars in memory: symbol -> (dates, adjusted closes) up to
    ``end``, copies, in symbol order; a symbol with no bar by then is left out."""
    import numpy as np

    out: dict[str, tuple[Any, Any]] = {}
    for symbol in sorted(set(symbols)):
        held = bars[symbol]
        count = int(np.searchsorted(held.dates, np.datetime64(end, "D"), "right"))
        if count:
            out[symbol] = (held.dates[:count].astype("datetime64[D]"), held.adj_close[:count].astype(np.float64))
    return out


def _equal_weight_closes(
    series: dict[str, tuple[Any, Any]], record_start: date
) -> tuple[tuple[Any, Any] | None, str | None]:
    import numpy as np

    all_dates = np.sort(np.concatenate([dates for dates, _ in series.values()]))
    all_dates = all_dates[np.r_[True, all_dates[1:] != all_dates[:-1]]]  # np.unique, without importing numpy.ma
    complete_from = max(dates[0] for dates, _ in series.values())
    usable = all_dates[np.searchsorted(all_dates, complete_from):]
    start = max(int(np.searchsorted(usable, np.datetime64(record_start, "D"), "right")) - 1, 0)
    dates = usable[start:]
    with _as_user_error():
        index = equal_weight_index(dates, series)
    return (dates, index), None


def _marks(positions: str | None) -> dict[str, float]:
    held = json.loads(positions or "[]")
    return {p["symbol"]: float(p["market_price"]) for p in held if p.get("market_price") is not None}


def _labelled(inputs: PerformanceInputs, simulated: bool) -> dict[str, Any]:
    return {"account": inputs.account_id, "base_currency": inputs.base_currency, "simulated": simulated,
            "paper": inputs.is_paper}


@contextmanager
def _as_user_error() -> Iterator[None]:
    try:
        yield
    except AnalyticsInputError as exc:
        raise UserError(str(exc)) from None


def _choose_account(conn: "Connection", settings: "Settings", requested: str | None, table: str) -> str | None:
    """``requested`` (must have rows in ``table``), else the configured account if it has
    rows, else the account with the most rows; None when ``table`` is empty."""
    counts = rows_by_account(conn, table)
    if requested is not None:
        if requested not in counts:
            known = ", ".join(sorted(counts)) or "none"
            raise UserError(f"--account {requested}: no {table} recorded for it; accounts with {table}: {known}")
        return requested
    if not counts:
        return None
    configured = settings.account.account_id
    if configured in counts:
        return str(configured)
    return max(sorted(counts), key=lambda a: counts[a])


def _base_currency(account: str, rows: Sequence[SnapshotRecord]) -> str:
    currencies = sorted({r.base_currency for r in rows})
    if len(currencies) != 1:
        raise UserError(f"account {account} has snapshots in several base currencies ({', '.join(currencies)}); "
                        "their NAVs cannot be chained into one return series")
    return str(currencies[0])


def _flows_in_base(conn: "Connection", account: str, default_account: str | None, base_currency: str,
                   fx_rates: dict[str, Decimal]) -> dict[date, float]:
    """The account's own flows (not voided) in base currency. Flows recorded without an
    account belong to ``default_account``: the account ``stats`` shows without ``--account``."""
    flows: dict[date, float] = {}
    for flow in list_cashflows(conn, account_id=account, default_account=default_account):
        if flow.currency == base_currency:
            amount = flow.amount
        elif flow.currency in fx_rates:
            amount = flow.amount * fx_rates[flow.currency]
        else:
            raise UserError(
                f"cash flow of {flow.amount} {flow.currency} on {flow.flow_date} is not in the base currency "
                f"{base_currency} and prices.fx_rates has no {flow.currency} rate; add one to trackrecord.yaml "
                f"(units of {base_currency} per {flow.currency})"
            )
        flows[flow.flow_date] = flows.get(flow.flow_date, 0.0) + float(amount)
    return flows


def _trade_fills(conn: "Connection", account: str) -> tuple[tuple[TradeFill, ...], bool, tuple[int, ...]]:
    rows = current_fills(conn, account)
    out = tuple(
        TradeFill(
            symbol=r.symbol, side=r.side, quantity=abs(Decimal(r.quantity)), price=Decimal(r.price),
            commission=Decimal(0) if r.commission is None else abs(Decimal(r.commission)),
            executed_at=parse_timestamp(r.executed_at, f"fill {r.exec_id}"),
            commission_pending=r.commission is None,
        )
        for r in rows
    )
    return out, tuple(r.simulated for r in rows), tuple(r.seq for r in rows)


def _slippage_fills(conn: "Connection", account: str) -> tuple[list[SlippageFill], int, bool]:
    rows = current_fills(conn, account)
    intended = intended_prices(conn, {r.order_ref for r in rows if r.order_ref})
    usable: list[SlippageFill] = []
    for r in rows:
        order = intended.get(r.order_ref)
        price = r.intended_price or (order[0] if order else None)
        if price is None:
            continue
        usable.append(SlippageFill(
            symbol=r.symbol, side=r.side, quantity=abs(float(r.quantity)), fill_price=float(r.price),
            intended_price=float(price), commission=None if r.commission is None else abs(float(r.commission)),
            order_type=r.order_type or (order[1] if order else None) or "UNKNOWN",
            executed_at=parse_timestamp(r.executed_at, f"fill {r.exec_id}"),
        ))
    return usable, len(rows) - len(usable), any(r.simulated for r in rows)


def exchange_zone(settings: "Settings", timezone: str | None, first: date, last: date) -> "ZoneInfo":
    """``timezone``, else the zone of ``universe.calendar`` (opened over ``first`` .. ``last``):
    where a fill's moment is dated to its exchange session."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(timezone or open_calendar(settings.universe.calendar, start=first - timedelta(days=7),
                                              end=last + timedelta(days=7)).timezone)


def _with_session_closes(conn: "Connection", settings: "Settings", fills: list[SlippageFill],
                         timezone: str | None = None) -> list[SlippageFill]:
    """Market-on-close fills with the raw close of their session as the reference price
    (left without one when that close is not stored)."""
    import math
    from dataclasses import replace

    moc = [f for f in fills if f.order_type == OrderType.MARKET_ON_CLOSE.value]
    if not moc:
        return fills
    first, last = min(f.executed_at for f in moc).date(), max(f.executed_at for f in moc).date()
    zone = exchange_zone(settings, timezone, first, last)
    series = load_prices(conn, sorted({f.symbol for f in moc}), until=last + timedelta(days=1))
    closes = {s: dict(zip(b.dates.astype("O"), b.close.tolist())) for s, b in series.items()}
    out = []
    for f in fills:
        is_moc = f.order_type == OrderType.MARKET_ON_CLOSE.value
        close = closes.get(f.symbol, {}).get(f.executed_at.astimezone(zone).date()) if is_moc else None
        if close is not None and math.isfinite(close):
            f = replace(f, reference_price=float(close), reference="close")
        out.append(f)
    return out


def _is_paper(conn: "Connection", account: str | None) -> bool:
    if account is None:
        return False
    return is_paper_account(account) or has_paper_snapshot(conn, account)


def _marks_at(conn: "Connection", account: str, period_to: date | None) -> dict[str, float]:
    return _marks(positions_at(conn, account, period_to))


def record_account(engine: "Engine", settings: "Settings", requested: str | None = None) -> str | None:
    """The account whose record ``stats`` shows: ``requested`` (``UserError`` unless it has
    snapshots), else the configured account if it has snapshots, else the one with most;
    None when no snapshot is recorded."""
    with reading(engine) as conn:
        return _choose_account(conn, settings, requested, "snapshots")
