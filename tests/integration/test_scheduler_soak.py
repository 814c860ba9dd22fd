"""Two simulated years of XLON sessions through the scheduler's runner on a fake clock, with
the simulated broker and injected faults: the broker down for a day, a crash in the middle
of a rebalance, a day with the machine off, the SMTP server down for a day.

The job functions are driven in-process (the scheduler's own ``Runner.tick`` at every
scheduled run) so the two years fit the test budget; ``test_scheduler_process.py`` runs the
real process."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.slow  # about 12 s of CPU: two years of sessions, some 4,000 commits

from tests.integration.notify_servers import SmtpServer, WebhookServer

START, END = date(2024, 1, 1), date(2025, 12, 31)
BROKER_DOWN = date(2024, 5, 14)  # an ordinary Tuesday
CRASH_FROM = date(2024, 10, 1)  # the first rebalance from here that sends an order dies after the first one
MACHINE_OFF = date(2025, 3, 12)  # an ordinary Wednesday
SMTP_DOWN = date(2025, 7, 1)  # a rebalance session: its plan's e-mail cannot be delivered
EVENTS = ["rebalance_plan", "fills", "risk_denial", "kill_switch", "job_failed", "monthly_report"]


class Crash(BaseException):
    """The process dies (not an error a job handles)."""


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class CrashingBroker:
    """The simulated broker, dying right after the broker accepted the first order."""

    def __init__(self, inner: Any, crashed: list[str]) -> None:
        self.inner = inner
        self.crashed = crashed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def place_order(self, order: Any) -> Any:
        self.inner.place_order(order)
        self.crashed.append(order.order_ref)
        raise Crash("killed after the first order was sent")


def configure(root: Path, smtp_port: int, hook_url: str) -> None:
    path = root / "trackrecord.yaml"
    config = yaml.safe_load(path.read_text())
    config["mode"] = "paper"
    config["prices"]["history_start"] = "2022-12-01"
    config["notifications"].update({"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none",
                                    "email_to": ["trader@example.test"], "attempts": 2, "backoff_seconds": 0,
                                    "events": EVENTS,
                                    "webhooks": [{"url": hook_url, "format": "generic"}]})
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
def memory_dir(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A folder in memory when the machine has one: two years are some 4,000 commits, and
    each fsync to a shared disk costs more than the work it protects."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    yield folder
    if folder != tmp_path:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def servers():  # type: ignore[no-untyped-def]
    smtp, hook = SmtpServer().start(), WebhookServer()
    yield smtp, hook
    smtp.stop()
    hook.close()


def test_two_years_of_sessions_with_faults(cli, memory_dir: Path, servers, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.bootstrap import connect, job_env, price_tape, run_context, simulated_broker
    from trackrecord.market.base import PriceSeries
    from trackrecord.market.store import load_prices
    from trackrecord.brokers.base import BrokerError
    from trackrecord.ledger.operations import verify_ledger
    from trackrecord.market.service import calendar_for
    from trackrecord.ops.runner import Runner
    from trackrecord.ops.schedule import Job, JobTimes, runs_between
    from trackrecord.workspace import open_workspace

    smtp, hook = servers
    root = memory_dir / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    configure(root, smtp.port, hook.url)
    monkeypatch.setenv("TRACKRECORD_NOW", "2023-12-29T18:00:00Z")
    assert cli("--home", root, "cashflow", "add", "--date", "2023-12-29", "--amount", "100000").code == 0

    services = connect(open_workspace(root))
    calendar = calendar_for(services.settings)
    env = job_env(services, calendar, sleep=lambda seconds: None)
    symbols = [i.symbol for i in services.settings.universe.instruments]
    crashed: list[str] = []

    def open_broker(s: Any, c: Any, mode: Any) -> Any:
        """The paper broker (its market holds the last ten sessions' closes: all a day's
        valuation and auction need, and far cheaper to build each run than the full tape)."""
        today = clock.now.date()
        if today == BROKER_DOWN:
            raise BrokerError("cannot connect to the broker: connection refused (IB Gateway down)")
        recent = {symbol: PriceSeries(symbol, bars.dates[-10:], bars.adj_close[-10:], bars.close[-10:])
                  for symbol, bars in load_prices(s.engine, symbols, since=today - timedelta(days=30)).items()}
        broker, session = simulated_broker(s, c, price_tape(recent, c))
        ctx = run_context(s, mode, c, broker=broker, session_clock=session)
        if today >= CRASH_FROM and not crashed and c.rebalance_session(today) == today and \
                clock.now < c.close_time(today):
            ctx.broker = CrashingBroker(ctx.broker, crashed)
        return ctx

    env.open_broker = open_broker
    times = JobTimes.of(services.settings.scheduler)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    clock = FakeClock(start)
    runner = Runner(env, times, clock, start)
    schedule = runs_between(calendar, times, start, datetime(2026, 1, 1, tzinfo=timezone.utc))
    try:
        for run in schedule:
            day = run.at.date()
            if day == MACHINE_OFF:
                continue
            if day == SMTP_DOWN and smtp.controller is not None:
                smtp.stop()
            if day == SMTP_DOWN + timedelta(days=1) and smtp.controller is None:
                smtp.start()
            clock.now = run.at
            try:
                runner.tick()
            except Crash:
                clock.now = run.at + timedelta(minutes=2)  # systemd restarts the scheduler
                runner = Runner(env, times, clock, clock.now)
                runner.tick()
        events = list(services.ledger.events())
        verified = verify_ledger(services.ledger, services.workspace.public_key_path)
    finally:
        services.close()

    payloads = [(e.kind, json.loads(e.payload)) for e in events]
    of = lambda kind: [p for k, p in payloads if k == kind]  # noqa: E731
    assert verified.first_bad_seq is None, verified

    rebalance_sessions = [r.session for r in schedule if r.job is Job.REBALANCE]
    assert len(rebalance_sessions) == 24
    plans = Counter(p["session_date"] for p in of("plan.created") if p["mode"] == "paper")
    assert sorted(plans) == [s.isoformat() for s in rebalance_sessions] and set(plans.values()) == {1}, \
        "every rebalance session rebalanced exactly once"
    with sqlite3.connect(root / "trackrecord.db") as db:
        refs = [r[0] for r in db.execute("SELECT order_ref FROM sim_orders")]
    assert refs and len(refs) == len(set(refs)), "no order sent twice"
    assert crashed, "a rebalance crashed after its first order"
    crash_plan = crashed[0].rsplit("-", 2)[0]
    submitted = [p["order_ref"] for p in of("order.submitted") if p["order_ref"].startswith(crash_plan)]
    planned = [o["order_ref"] for p in of("plan.created") if p["plan_id"] == crash_plan for o in p["orders"]]
    assert set(submitted) == set(planned), "the restarted rebalance completed the plan"

    gaps = {(p["job"], p["session"]) for p in of("job.missed")}
    assert gaps == {("close", BROKER_DOWN.isoformat()), ("close", MACHINE_OFF.isoformat())}, gaps
    snapshots = {p["session_date"] for p in of("snapshot.recorded")}
    sessions = {r.session.isoformat() for r in schedule if r.job is Job.CLOSE}
    assert sessions - snapshots == {BROKER_DOWN.isoformat(), MACHINE_OFF.isoformat()}, "gaps only, none invented"
    assert {(p["job"], p["session"]) for p in of("job.finished") if p["outcome"] == "failed"} == \
        {("close", BROKER_DOWN.isoformat())}

    sent = Counter(p["channel"].split(":")[0] for p in of("notification.sent"))
    failed = [p for p in of("notification.failed")]
    assert sent["email"] == len(smtp.inbox.messages) and sent["webhook"] == len(hook.bodies)
    assert failed and {p["channel"].split(":")[0] for p in failed} == {"email"} and all(p["attempts"] == 2 for p in failed)
    assert any(b["event"] == "job_failed" and BROKER_DOWN.isoformat() in b["subject"] for b in hook.bodies)
    told = Counter(b["event"] for b in hook.bodies)
    with_fills = [p for p in of("job.finished") if p["job"] == "close" and p["details"].get("new_fills")]
    assert told["rebalance_plan"] == 24 and told["fills"] == len(with_fills) > 10, told
