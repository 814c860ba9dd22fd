"""The composition root: the one place that turns configuration into adapters."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

from trackrecord.brokers.sim import MissingFxRate, PriceTape, SimulatedBroker, SimulatedSession, price_tape
from trackrecord.config import PricesConfig
from trackrecord.domain import Mode, is_simulated
from trackrecord.engine.context import ExchangeClock, PlanningContext, RunContext
from trackrecord.engine.planning import BrokerPortfolio, CashPortfolio, RecordedPortfolio
from trackrecord.engine.pricebook import PriceBook
from trackrecord.errors import RuntimeFailure, SafetyRefusal, UserError
from trackrecord.ledger.backtest_mark import is_backtest
from trackrecord.ledger.db import create_db_engine, create_read_only_engine, has_ledger, migrate
from trackrecord.ledger.operations import checkpoint
from trackrecord.ledger.queries import reading
from trackrecord.ledger.record_rules import (RecordKind, Recorder, recorded_calendar, recorded_kind,
                                             refuse_a_mixed_record, refuse_another_calendar)
from trackrecord.ledger.store import SqlLedger, utc_now
from trackrecord.market.calendar import open_calendar
from trackrecord.market.service import calendar_for
from trackrecord.market.store import any_synthetic, load_prices
from trackrecord.services import Services
from trackrecord.workspace import DB_FILE, Workspace
from trackrecord.workspace_init import lay_out_workspace, preset_settings, record_creation

NOW_ENV = "TRACKRECORD_NOW"

if TYPE_CHECKING:
    from typing import Sequence

    from trackrecord.brokers.base import Broker
    from trackrecord.brokers.ibkr import IbkrBroker
    from trackrecord.brokers.ibkr.marks import Closes
    from trackrecord.config import Settings
    from trackrecord.engine.backtest import PriceHistory
    from trackrecord.engine.context import SessionClock
    from trackrecord.ledger.store import Clock
    from trackrecord.market.base import PriceSeries
    from trackrecord.market.calendar import ExchangeCalendar
    from trackrecord.ops.jobs import JobEnv


def connect(workspace: Workspace, clock: "Clock | None" = None, durable: bool = True,
            creating: bool = False) -> Services:
    """Open the workspace's database (migrating it to the head revision) and ledger.
    ``durable=False`` (no sync on commit: a backtest's speed) is a ``SafetyRefusal`` for
    any workspace whose ledger is not marked as a backtest: a live or paper record is
    always written ``synchronous=FULL``. The workspace's own ``trackrecord.db`` is made by
    ``init`` alone (``creating``): missing or without a ledger it is refused, where it used
    to be made afresh and the record silently began again. A ``database.url`` the trader
    set is a database to move to: its tables are made on first use."""
    if not durable:
        _require_backtest(workspace)
    # the workspace's own trackrecord.db, which init makes, must be there and hold the ledger
    check_own = workspace.settings.database.url is None and not creating
    if check_own:
        _require_own_database(workspace)
    engine = create_db_engine(workspace.database_url, durable=durable)
    try:
        if check_own and not has_ledger(engine):
            raise UserError(f"the database {workspace.root / DB_FILE} holds no ledger: {_no_ledger_fix(workspace)}")
        migrate(engine)
    except Exception as exc:  # a server that is down or refuses us is a run-time failure
        from sqlalchemy.exc import DatabaseError

        if isinstance(exc, DatabaseError):  # OperationalError, or "file is not a database" (a file put in its place)
            raise RuntimeFailure(f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from None
        raise
    # durable=False is the replay's own connection (a backtest's alone): the one writer its records come from
    ledger = SqlLedger(engine, workspace.writer_lock_path, clock or utc_now, replay=not durable)
    return Services(workspace, engine, ledger)


def _require_own_database(workspace: Workspace) -> None:
    if not (workspace.root / DB_FILE).is_file():
        raise UserError(f"the database {workspace.root / DB_FILE} is missing: {_no_ledger_fix(workspace)}")


def _no_ledger_fix(workspace: Workspace) -> str:
    return ("this workspace's record is not there (deleted, replaced, or an init that did not finish); restore the "
            f"database from a backup, or remove {workspace.root} and run `trackrecord init` again; nothing was written")


def is_backtest_workspace(workspace: Workspace) -> bool:
    """Whether the workspace's ledger is marked as a backtest's in its ``workspace.created``
    (read only; a backtest's database is always a SQLite file of its own)."""
    if not (workspace.database_url.startswith("sqlite") and (workspace.root / DB_FILE).is_file()):
        return False
    engine = create_read_only_engine(workspace.database_url)
    try:
        return is_backtest(engine)
    except Exception:  # no ledger yet (or not ours): not a backtest
        return False
    finally:
        engine.dispose()


def _require_backtest(workspace: Workspace) -> None:
    if not is_backtest_workspace(workspace):
        raise SafetyRefusal(f"{workspace.root} is not a backtest workspace: a live or paper ledger is always written "
                            "durably (synchronous=FULL); only a backtest's throw-away database may skip the sync")


def create_workspace(directory: Path, settings: "Settings", now: datetime,
                     backtest: "Mapping[str, object] | None" = None) -> Workspace:
    """``trackrecord init``: the layout and keys, the database, its first signed events.
    ``backtest``: what a backtest replays, recorded in ``workspace.created`` (a BACKTEST record)."""

    workspace, public_key = lay_out_workspace(directory, settings)
    services = connect(workspace, clock=lambda: now, creating=True)
    try:
        record_creation(services.ledger, workspace, public_key, backtest)
    finally:
        services.close()
    return workspace


@contextmanager
def demo_workspace(directory: Path, seed: int, calendar_start: date, now: datetime) -> Iterator["RunContext"]:
    """A new SIMULATED paper workspace in ``directory`` on the synthetic market of ``seed``
    (``engine.demo.OpenDemoWorkspace``): the run context of a simulated broker trading on a
    tape the replay fills as it goes. A block that ends well is signed by one checkpoint."""

    # the synthetic market reaches back as far as the replay's lookback needs (--years 30 did not: a KeyError)
    market_start = min(calendar_start, date.fromisoformat(PricesConfig().history_start))
    settings = preset_settings(prices_source="synthetic").model_copy(update={
        "mode": Mode.PAPER, "prices": PricesConfig(source="synthetic", synthetic_seed=seed,
                                                   history_start=market_start.isoformat())})
    workspace = create_workspace(directory, settings, now)
    services = connect(workspace)
    try:
        calendar = open_calendar(settings.universe.calendar, start=market_start)
        broker, clock = simulated_broker(services, calendar, PriceTape())
        yield run_context(services, Mode.PAPER, calendar, broker, clock)
        broker.close()
        checkpoint(services.ledger, workspace.private_key_path)  # one signature for the whole replay
    finally:
        services.close()


@contextmanager
def backtest_workspace(directory: Path, settings: "Settings", backtest: "Mapping[str, object]",
                       calendar: "ExchangeCalendar", now: datetime) -> Iterator[tuple[RunContext, Services]]:
    """A new BACKTEST workspace in ``directory`` (``engine.backtest.OpenBacktestWorkspace``):
    marked in its ``workspace.created``, its throw-away database written without a sync on
    commit and a month to a transaction (``engine.replay.MonthLedger``), a simulated broker
    trading on a tape the replay fills. Signed once when the block ends well."""
    from trackrecord.engine.replay import MonthLedger  # the replay and the daily pipeline: only a backtest's

    workspace = create_workspace(directory, settings, now, backtest)
    services = connect(workspace, durable=False)
    try:
        months = MonthLedger(services.ledger)  # a month to a transaction, the broker's book inside it
        broker, clock = simulated_broker(services, calendar, PriceTape())
        broker.join_transaction(months.open_connection)
        try:
            yield replace(run_context(services, Mode.PAPER, calendar, broker, clock), ledger=months), services
        finally:
            months.commit(*sys.exc_info())
        broker.close()
        checkpoint(services.ledger, workspace.private_key_path)
    finally:
        services.close()


def backtest_history(settings: "Settings", workspace_root: Path, calendar: "ExchangeCalendar", since: date,
                     end: date, prices_dir: Path | None, provider: str | None) -> "PriceHistory":
    """The bars a backtest replays: ``prices_dir`` (a folder of <SYMBOL>.csv), else
    ``provider`` (yahoo, csv = the workspace's prices.csv_dir, synthetic), else the
    workspace's configured source; every instrument from ``since`` to ``end``."""
    from trackrecord.engine.backtest import PriceHistory
    from trackrecord.market.csv_source import CsvFolderSource
    from trackrecord.market.service import benchmark_instruments, build_price_source, fetch_bars, last_completed_session

    if prices_dir is not None:
        folder = prices_dir.expanduser().resolve()
        if not folder.is_dir():
            raise UserError(f"--prices-dir {folder}: not a folder of <SYMBOL>.csv files")
        source, location = CsvFolderSource(folder), str(folder)
    else:
        chosen = settings.prices.model_copy(update={"source": provider}) if provider else settings.prices
        if chosen.source == "synthetic":  # the synthetic market is drawn over the backtest's own sessions
            chosen = chosen.model_copy(update={"history_start": since.isoformat()})
        source = build_price_source(settings.model_copy(update={"prices": chosen}), workspace_root, calendar)
        location = str(getattr(source, "folder", "")) or (str(chosen.synthetic_seed) if chosen.source == "synthetic"
                                                          else chosen.source)
    if source.simulated:  # a synthetic market would draw sessions still to come: history ends at the last close
        end = min(end, last_completed_session(calendar, wall_clock()))
    benchmark = benchmark_instruments(settings)
    instruments = [*settings.universe.domain_instruments(), *benchmark]
    rows = fetch_bars(source, instruments, {i.symbol: since for i in instruments}, end, "backtest")
    benchmarks = {i.symbol for i in benchmark}
    return PriceHistory([r for r in rows if r.symbol not in benchmarks], source.name, location,
                        bool(source.simulated), [r for r in rows if r.symbol in benchmarks])


def simulated_broker(services: Services, calendar: "ExchangeCalendar",
                     tape: "PriceTape | None" = None) -> tuple["SimulatedBroker", SimulatedSession]:
    """The paper account in the workspace's database, trading against ``tape`` (by default
    every stored close, each known from its session's close time)."""
    from zoneinfo import ZoneInfo

    settings = services.settings
    require_paper_record(services)
    if tape is None:
        tape = stored_price_tape(services, calendar)
    base = settings.account.base_currency
    try:
        broker = SimulatedBroker.from_config(services.engine, tape, settings.broker.sim, base,
                                             fx_rates=settings.prices.fx_rates, exchange_tz=ZoneInfo(calendar.timezone),
                                             write_lock=services.ledger.write_lock)
    except MissingFxRate as exc:  # a rate removed from trackrecord.yaml after the flow was recorded
        raise UserError(f"{exc}: add a {exc.currency} rate to prices.fx_rates in trackrecord.yaml (units of {base} "
                        f"per {exc.currency})") from None
    return broker, SimulatedSession(broker, tape, calendar)


def require_paper_record(services: Services) -> None:
    """``UserError`` when the simulated account's snapshots would mix into its record
    (``ledger.record_rules``): a record in another base currency than trackrecord.yaml's
    (edited since: its book would be valued, planned and snapshotted in the new one), or one
    that was imported or read from a broker. Checked before a paper command writes anything."""
    account = services.settings.broker.sim.account_id
    with reading(services.engine) as conn:
        refuse_a_mixed_record(account, RecordKind(services.settings.account.base_currency, Recorder.SIMULATOR),
                              recorded_kind(conn, account))


def record_calendar(services: Services) -> "ExchangeCalendar":
    """The universe's exchange calendar (``universe.calendar``), refused (``UserError``) when
    the workspace's record is kept on another: what every command that dates sessions for
    the record opens."""
    with reading(services.engine) as conn:
        refuse_another_calendar(services.settings.universe.calendar, recorded_calendar(conn))
    return calendar_for(services.settings)


def stored_price_tape(services: Services, calendar: "ExchangeCalendar") -> "PriceTape":
    """Every stored close on a session of ``calendar``, each known from its close time."""

    symbols = [i.symbol for i in services.settings.universe.instruments]
    return price_tape(load_prices(services.engine, symbols), calendar)


def live_broker(settings: "Settings", exchange_zone: str,
                stored: "Mapping[str, PriceSeries] | None" = None) -> "IbkrBroker":
    """IBKR through ib_async (imported only here, only for live mode); ``exchange_zone`` (the
    universe calendar's time zone) dates its snapshots, ``stored`` closes date the marks IB
    sends undated (brokers/ibkr/marks.py)."""
    from trackrecord.brokers.ibkr import IbkrBroker

    ib = settings.broker.ibkr
    return IbkrBroker(ib.host, ib.port, ib.client_id, settings.account.account_id, settings.account.base_currency,
                      ib.connect_timeout, ib.request_timeout, ib.max_connect_attempts, ib.read_only,
                      instruments=settings.universe.domain_instruments(), exchange_zone=exchange_zone,
                      recent_closes=None if stored is None else _recent_closes(stored))


def _recent_closes(stored: "Mapping[str, PriceSeries]") -> "Callable[[Sequence[str], date], Closes]":
    """symbol -> its last stored raw closes on or before a day, oldest first."""
    import numpy as np

    from trackrecord.brokers.ibkr.marks import LOOKBACK_SESSIONS

    def closes(symbols: "Sequence[str]", day: date) -> "Closes":
        found: dict[str, list[tuple[date, float]]] = {}
        for symbol in symbols:
            series = stored.get(symbol)
            if series is None:
                continue
            end = int(np.searchsorted(series.dates, np.datetime64(day, "D"), side="right"))
            start = max(0, end - LOOKBACK_SESSIONS)
            found[symbol] = [(d, c) for d, c in zip(series.dates[start:end].tolist(), series.close[start:end].tolist())
                             if np.isfinite(c)]
        return found

    return closes


def run_context(services: Services, mode: "Mode", calendar: "ExchangeCalendar | None" = None,
                broker: "Broker | None" = None, session_clock: "SessionClock | None" = None) -> "RunContext":
    """The engine's context for a run with a broker: paper (simulated broker on the stored
    prices) or live (IBKR). ``broker`` and ``session_clock`` override, for tests and replays."""

    if mode is Mode.DRY_RUN and broker is None:
        raise UserError("mode is dry_run: there is no broker; set `mode: paper` or `mode: live` in trackrecord.yaml")
    settings = services.settings
    calendar, book, stored = _market(services, calendar)
    if broker is None and mode is Mode.PAPER:
        broker, session_clock = simulated_broker(services, calendar, price_tape(stored, calendar))
    elif broker is None:
        broker = live_broker(settings, calendar.timezone, stored)
    assert broker is not None
    return RunContext(settings=settings, ledger=services.ledger, calendar=calendar, mode=mode, book=book,
                      portfolio=BrokerPortfolio(broker),
                      planning_account=_configured_account(settings), simulated=_simulated(services, mode),
                      price_source=settings.prices.source, broker=broker,
                      session_clock=session_clock or ExchangeClock())


def planning_context(services: Services, mode: "Mode", calendar: "ExchangeCalendar | None" = None,
                     cash: "Decimal | None" = None) -> "PlanningContext":
    """A context that plans without a broker: a dry run or a preview. The portfolio is an
    empty account holding ``cash``, else the latest recorded snapshot."""

    settings = services.settings
    calendar, book, _ = _market(services, calendar)
    account = _configured_account(settings)
    portfolio = CashPortfolio(account, cash, settings.account.base_currency) if cash is not None else \
        RecordedPortfolio(services.engine, settings.account.account_id or None)
    return PlanningContext(settings=settings, ledger=services.ledger, calendar=calendar, mode=mode, book=book,
                           portfolio=portfolio, planning_account=account,
                           simulated=_simulated(services, mode), price_source=settings.prices.source)


def preview_context(services: Services, calendar: "ExchangeCalendar | None" = None,
                    cash: "Decimal | None" = None) -> "PlanningContext":
    """The context a preview plans in: the one ``execute`` would plan in, without sending.
    Paper: the simulated account itself (read, never moved); otherwise the latest snapshot."""

    settings = services.settings
    symbols = [i.symbol for i in settings.universe.instruments]
    synthetic = is_simulated(Mode.LIVE, [settings.prices.source]) or any_synthetic(services.engine, symbols)
    if cash is not None or settings.mode is not Mode.PAPER:
        planning = planning_context(services, Mode.DRY_RUN if settings.mode is Mode.LIVE else settings.mode,
                                    calendar, cash)
        planning.simulated = synthetic  # a preview is labelled by its prices: nothing is traded
        return planning
    calendar, book, stored = _market(services, calendar)
    broker, _ = simulated_broker(services, calendar, price_tape(stored, calendar))
    return PlanningContext(settings=settings, ledger=services.ledger, calendar=calendar, mode=Mode.PAPER, book=book,
                           portfolio=BrokerPortfolio(broker),
                           planning_account=broker.account_id, simulated=synthetic,
                           price_source=settings.prices.source)


def _market(services: Services, calendar: "ExchangeCalendar | None") -> tuple["ExchangeCalendar", "PriceBook",
                                                                             "dict[str, PriceSeries]"]:
    symbols = [i.symbol for i in services.settings.universe.instruments]
    stored = load_prices(services.engine, symbols)
    return calendar or record_calendar(services), PriceBook(stored, symbols), stored


def _configured_account(settings: "Settings") -> str:
    return settings.account.account_id or settings.broker.sim.account_id


def _simulated(services: Services, mode: "Mode") -> bool:
    return is_simulated(mode, (services.settings.prices.source,))


def wall_clock() -> datetime:
    """Now, in UTC. ``TRACKRECORD_NOW`` (ISO 8601 with a zone) fixes it: the test suites run
    a live session against the fake TWS "on" a past date this way."""
    from datetime import timezone

    fixed = os.environ.get(NOW_ENV)
    if not fixed:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"${NOW_ENV} {fixed!r}: expected an ISO 8601 moment such as 2026-06-01T14:30:00Z") from None
    if moment.tzinfo is None:
        raise UserError(f"${NOW_ENV} {fixed!r}: give the zone (e.g. Z for UTC)")
    return moment.astimezone(timezone.utc)


def job_env(services: Services, calendar: "ExchangeCalendar | None" = None,
            sleep: "Callable[[float], None] | None" = None) -> "JobEnv":
    """What the scheduler's jobs work with: the workspace's services and calendar, its
    notifier, and the broker (paper or live) each job opens for itself."""
    import time

    from trackrecord.ops.jobs import JobEnv
    from trackrecord.ops.notify import Notifier

    notifier = Notifier(services.settings.notifications, os.environ, services.ledger, sleep or time.sleep)
    return JobEnv(services, calendar or record_calendar(services), notifier,
                  lambda s, c, m: run_context(s, m, c), lambda s, c, m: planning_context(s, m, c))
