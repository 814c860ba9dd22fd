"""A backtest records a month in one transaction, the simulated broker's book inside it
(issue 15.5); the ledger it writes is the one a step-by-step replay writes, event for
event and byte for byte. Live and paper runs keep committing each step: the intent is
durable before the order leaves."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest
import yaml

from tests.integration.test_backtest_agreement import open_wide

NOW = datetime(2026, 7, 1, 12, tzinfo=timezone.utc)
START, END = date(2024, 1, 1), date(2024, 4, 30)
UNSIGNED = ("workspace.created", "checkpoint.signed")  # keys of their own in every workspace


@pytest.fixture
def home(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    open_wide(root)
    return root


@contextmanager
def step_by_step_workspace(directory: Path, settings: Any, backtest: Mapping[str, object], calendar: Any,
                           now: datetime) -> Iterator[tuple[Any, Any]]:
    """``bootstrap.backtest_workspace`` without its month transactions: every step of a
    rebalance commits, as a paper replay's does."""
    from trackrecord.bootstrap import connect, create_workspace, run_context, simulated_broker
    from trackrecord.brokers.sim import PriceTape
    from trackrecord.domain import Mode

    services = connect(create_workspace(directory, settings, now, backtest), durable=False)
    try:
        broker, clock = simulated_broker(services, calendar, PriceTape())
        yield run_context(services, Mode.PAPER, calendar, broker, clock), services
        broker.close()
    finally:
        services.close()


def backtest(home: Path, out: Path, shared_data: Path, open_workspace: Any) -> Any:
    from trackrecord.engine.backtest import BacktestCosts, history_start, run_backtest
    from trackrecord.bootstrap import backtest_history
    from trackrecord.market.calendar import DEFAULT_START, open_calendar
    from trackrecord.workspace import open_workspace as open_home

    settings = open_home(home).settings
    since = history_start(settings, START)
    calendar = open_calendar(settings.universe.calendar, start=min(since, DEFAULT_START))
    history = backtest_history(settings, home, calendar, since, END, shared_data / "prices", None)
    return run_backtest(settings, history, out, BacktestCosts.of(settings), START, END, Decimal(100_000), NOW,
                        open_workspace, calendar)


def recorded(root: Path) -> tuple[list[tuple[str, str]], dict[str, list[tuple[Any, ...]]]]:
    """(kind, payload text) of every event but the keyed ones, and the simulated book's rows."""
    with sqlite3.connect(root / "trackrecord.db") as conn:
        events = [(k, p) for k, p in conn.execute("SELECT kind, payload FROM events ORDER BY seq") if k not in UNSIGNED]
        book = {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in ("sim_orders", "sim_executions", "sim_cash")}
    return events, book


@pytest.mark.parametrize("refusing", [False, True], ids=["trading", "risk-refuses-a-plan"])
def test_a_backtests_month_transactions_record_the_ledger_a_step_by_step_replay_records(
        home: Path, tmp_path: Path, shared_data: Path, refusing: bool) -> None:
    from trackrecord.bootstrap import backtest_workspace

    if refusing:  # one plan in the window is refused (and recorded), the replay goes on
        path = home / "trackrecord.yaml"
        settings = yaml.safe_load(path.read_text())
        settings["risk"].update(max_orders_per_run=2)
        path.write_text(yaml.safe_dump(settings))
    months = backtest(home, tmp_path / "months", shared_data, backtest_workspace)
    steps = backtest(home, tmp_path / "steps", shared_data, step_by_step_workspace)
    assert bool(months.replay.refusals) is refusing and months.replay.rebalances + len(months.replay.refusals) == 4
    assert (months.replay.final_nav, months.replay.orders, months.replay.refusals) == \
        (steps.replay.final_nav, steps.replay.orders, steps.replay.refusals)
    assert recorded(tmp_path / "months") == recorded(tmp_path / "steps")


def test_one_transaction_a_month_is_refused_for_a_paper_ledger(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.bootstrap import connect
    from trackrecord.engine.replay import MonthLedger
    from trackrecord.errors import SafetyRefusal
    from trackrecord.workspace import open_workspace

    before = json.loads(cli("--home", home, "ledger", "log", "--json").out)
    services = connect(open_workspace(home))
    try:
        with pytest.raises(SafetyRefusal, match="not marked as a backtest"):
            MonthLedger(services.ledger)
    finally:
        services.close()
    assert json.loads(cli("--home", home, "ledger", "log", "--json").out) == before


@pytest.mark.slow
def test_a_paper_replay_commits_the_order_intent_before_the_order_leaves(tmp_path: Path) -> None:
    """``trackrecord demo`` (a paper replay) killed just before its first order leaves: the
    plan, its risk decision and the order's intent are on disk, the broker has no order."""
    root = tmp_path / "demo"
    killed = subprocess.run([sys.executable, "-m", "trackrecord", "demo", str(root), "--years", "1", "--seed", "3"],
                            capture_output=True, text=True, timeout=300,
                            env=os.environ | {"TRACKRECORD_CRASH_AT": "before_place:1"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    with sqlite3.connect(root / "trackrecord.db") as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM events ORDER BY seq")]
        placed = conn.execute("SELECT COUNT(*) FROM sim_orders").fetchone()[0]
        intent = json.loads(conn.execute("SELECT payload FROM events ORDER BY seq DESC LIMIT 1").fetchone()[0])
    assert kinds[-1] == "order.submitted" and intent["status"] == "pending_submit", kinds[-6:]
    assert {"plan.created", "risk.decided"} <= set(kinds)
    assert placed == 0


def test_a_month_writer_a_ctrl_c_abandoned_closes_quietly_after_the_database_did(home: Path, tmp_path: Path) -> None:
    """A Ctrl-C between a step's writer beginning and its ``with`` binding it leaves the
    writer suspended; the garbage collector closes it later, after the workspace closed its
    database. That close is no failure of the step: no 'Exception ignored' traceback."""
    from trackrecord.bootstrap import backtest_workspace
    from trackrecord.market.calendar import open_calendar
    from trackrecord.workspace import open_workspace

    settings = open_workspace(home).settings
    calendar = open_calendar(settings.universe.calendar, start=date(2023, 1, 1))
    section = {"from": START.isoformat(), "to": END.isoformat(), "cash": "100000"}
    with backtest_workspace(tmp_path / "bt", settings, section, calendar, NOW) as (ctx, _):
        abandoned = ctx.ledger.writer()
        abandoned.__enter__()
    abandoned.gen.close()  # type: ignore[attr-defined]
