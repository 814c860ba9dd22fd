"""The execution engine on the simulated broker, as a user runs it: crash safety, the kill
switch, dry runs, and the first deployment from cash."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test runs the CLI in subprocesses

REBALANCE = "2026-06-01"


def _trackrecord(home: Path, *args: str, env: dict[str, str] | None = None,
                 stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})}, input=stdin)


def _configure(root: Path, mode: str) -> None:
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', f'mode: "{mode}"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2024-06-01"'))


@pytest.fixture(scope="module")
def paper_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A paper workspace with synthetic prices and £100,000 deposited before the rebalance."""
    root = tmp_path_factory.mktemp("template") / "ws"
    subprocess.run([sys.executable, "-m", "trackrecord", "init", str(root), "--prices", "synthetic"], check=True,
                   capture_output=True, timeout=120)
    _configure(root, "paper")
    assert _trackrecord(root, "prices", "update").returncode == 0
    deposit = _trackrecord(root, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000")
    assert deposit.returncode == 0, deposit.stderr
    return root


@pytest.fixture
def paper(paper_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(paper_template, root)
    return root


def _sim_orders(root: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(root / "trackrecord.db") as db:
        return db.execute("SELECT order_ref, quantity, status FROM sim_orders ORDER BY order_ref").fetchall()


def _events(root: Path, kind: str) -> list[dict[str, object]]:
    result = _trackrecord(root, "ledger", "log", "--kind", kind, "--json")
    assert result.returncode == 0, result.stderr
    return [e["payload"] for e in json.loads(result.stdout)]


def _planned(root: Path) -> list[tuple[str, str]]:
    plans = [p for p in _events(root, "plan.created") if p["mode"] == "paper"]
    assert len(plans) == 1, "one plan per (account, session), even across reruns"
    return sorted((o["order_ref"], o["quantity"]) for o in plans[0]["orders"])


def test_first_deployment_from_cash_passes_the_default_risk_rules(paper: Path) -> None:
    result = _trackrecord(paper, "execute", "--as-of", REBALANCE, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["verdict"] == "approved" and document["simulated"] is True
    assert len(document["orders"]) == 3 and all(o["side"] == "BUY" for o in document["orders"])
    assert {o["status"] for o in document["orders"]} == {"filled"}
    decision = _events(paper, "risk.decided")[0]
    assert decision["approved"] is True
    weights = [r for r in decision["results"] if r["rule"] == "max_position_weight"]
    assert len(weights) == 3 and all(r["passed"] for r in weights)
    assert _trackrecord(paper, "verify").returncode == 0


CRASH_POINTS = ["after_plan", "after_risk", "before_place:1", "after_place:1", "before_place:2", "after_place:2",
                "before_place:3", "after_place:3"]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_run_killed_at_any_step_then_rerun_sends_each_planned_order_once(paper: Path, point: str) -> None:
    crashed = _trackrecord(paper, "execute", "--as-of", REBALANCE, env={"TRACKRECORD_CRASH_AT": point})
    assert crashed.returncode == -9, (point, crashed.returncode, crashed.stderr[-500:])
    rerun = _trackrecord(paper, "execute", "--as-of", REBALANCE, "--json")
    assert rerun.returncode == 0, rerun.stderr
    planned = _planned(paper)
    at_broker = _sim_orders(paper)
    assert [(ref, qty) for ref, qty, _ in at_broker] == planned, "exactly the planned orders reached the broker"
    assert {status for _, _, status in at_broker} == {"filled"}
    fills = _events(paper, "fill.recorded")
    assert sorted(f["order_ref"] for f in fills) == [ref for ref, _ in planned], "one fill per order, no duplicate"
    assert not [s for s in _events(paper, "order.status_changed") if s["status"] == "rejected"]
    assert _trackrecord(paper, "verify").returncode == 0


def test_a_second_run_of_the_same_session_sends_nothing(paper: Path) -> None:
    assert _trackrecord(paper, "execute", "--as-of", REBALANCE).returncode == 0
    again = _trackrecord(paper, "execute", "--as-of", REBALANCE, "--json")
    assert again.returncode == 0
    document = json.loads(again.stdout)
    assert document["reused_plan"] is True and document["sent"] == []
    assert len(document["already_at_broker"]) == 3
    assert len(_sim_orders(paper)) == 3


@pytest.mark.parametrize("mode", ["paper", "dry_run"])
def test_kill_switch_blocks_every_order_in_every_mode(paper: Path, mode: str) -> None:
    _configure(paper, mode)
    assert _trackrecord(paper, "kill-switch", "activate", "operator stop").returncode == 0
    args = ["execute", "--as-of", REBALANCE] + (["--cash", "100000"] if mode == "dry_run" else [])
    result = _trackrecord(paper, *args)
    assert result.returncode == 3, result.stderr
    assert "Kill switch is HALTED" in result.stderr and result.stderr.count("\n") == 1
    assert _sim_orders(paper) == []
    decision = _events(paper, "risk.decided")[-1]
    assert decision["approved"] is False and any(r["rule"] == "kill_switch" and not r["passed"]
                                                 for r in decision["results"])
    assert _trackrecord(paper, "verify").returncode == 0


def test_dry_run_records_the_plan_and_sends_nothing(paper: Path) -> None:
    _configure(paper, "dry_run")
    result = _trackrecord(paper, "execute", "--as-of", REBALANCE, "--cash", "100000", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["mode"] == "dry_run" and len(document["orders"]) == 3
    assert document["sent"] == [] and _sim_orders(paper) == []
    assert [p["mode"] for p in _events(paper, "plan.created")] == ["dry_run"]
    assert _events(paper, "order.submitted") == [] and _events(paper, "snapshot.recorded") == []


def test_live_without_confirmation_sends_nothing(paper: Path) -> None:
    result = _trackrecord(paper, "execute", "--live", "--as-of", REBALANCE, stdin="yes\n")
    assert result.returncode == 2 and "mode: live" in result.stderr and result.stderr.count("\n") == 1
    assert _events(paper, "plan.created") == []


class _StopAfterFirstOrder:
    """A broker at the process boundary that lets one order through, then an operator
    activates the kill switch (from elsewhere, through the ledger) before the next one."""

    def __init__(self, inner, ledger) -> None:  # type: ignore[no-untyped-def]
        self._inner, self._ledger, self.placed = inner, ledger, []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._inner, name)

    def place_order(self, order):  # type: ignore[no-untyped-def]
        from trackrecord.engine.kill_switch import activate

        placed = self._inner.place_order(order)
        self.placed.append(order.order_ref)
        if len(self.placed) == 1:
            activate(self._ledger, "operator stop between two orders")
        return placed


def test_kill_switch_activated_between_two_orders_stops_the_rest(paper: Path) -> None:
    from datetime import date, timedelta

    from trackrecord.bootstrap import connect, run_context, simulated_broker
    from trackrecord.domain import Mode
    from trackrecord.engine.rebalance import rebalance
    from trackrecord.errors import SafetyRefusal
    from trackrecord.market.service import calendar_for
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(paper))
    try:
        calendar = calendar_for(services.settings)
        inner, clock = simulated_broker(services, calendar)
        broker = _StopAfterFirstOrder(inner, services.ledger)
        ctx = run_context(services, Mode.PAPER, calendar, broker, clock)
        session = date.fromisoformat(REBALANCE)
        decided_at = calendar.close_time(session) - timedelta(hours=1)
        clock.start(decided_at)
        with pytest.raises(SafetyRefusal) as refused:
            rebalance(ctx, session, decided_at)
        inner.close()
    finally:
        services.close()
    assert refused.value.exit_code == 3 and "HALTED" in str(refused.value)
    assert len(broker.placed) == 1 and len(_sim_orders(paper)) == 1
    denied = _events(paper, "order.denied")
    assert len(denied) == 2 and all(d["rule"] == "kill_switch" for d in denied)
    assert _trackrecord(paper, "verify").returncode == 0


def test_orders_the_kill_switch_denied_mid_plan_go_out_once_after_it_is_lifted(paper: Path) -> None:
    """Stopped between two orders; `execute` again while HALTED sends nothing and records no
    second denial; lifted, the same session's `execute` sends the denied orders, each once,
    and finds the first one at the broker."""
    test_kill_switch_activated_between_two_orders_stops_the_rest(paper)
    events_before = len(json.loads(_trackrecord(paper, "ledger", "log", "--json").stdout))
    halted = _trackrecord(paper, "execute", "--as-of", REBALANCE, "--json")
    assert halted.returncode == 3 and len(_sim_orders(paper)) == 1, halted.stderr
    after = json.loads(_trackrecord(paper, "ledger", "log", "--json").stdout)
    assert [e["kind"] for e in after[events_before:]] == ["checkpoint.signed"], "refused again, nothing more written"
    assert _trackrecord(paper, "kill-switch", "deactivate", "--yes", "--reason", "checked").returncode == 0
    rerun = _trackrecord(paper, "execute", "--as-of", REBALANCE, "--json")
    assert rerun.returncode == 0, rerun.stderr
    document = json.loads(rerun.stdout)
    denied = sorted({str(d["order_ref"]) for d in _events(paper, "order.denied")})
    assert (document["reused_plan"], sorted(document["sent"]), document["denied"]) == (True, denied, [])
    assert [(ref, qty) for ref, qty, _ in _sim_orders(paper)] == _planned(paper)
    assert sorted(f["order_ref"] for f in _events(paper, "fill.recorded")) == [ref for ref, _ in _planned(paper)]
    assert _trackrecord(paper, "verify").returncode == 0


def test_paper_orders_sent_before_the_close_wait_for_the_closing_prices(paper: Path) -> None:
    """A run during the session leaves MOC orders open; the auction happens only once the
    session's closing prices are known (as `trackrecord daily` brings them)."""
    from datetime import date, timedelta
    from decimal import Decimal

    from trackrecord.bootstrap import connect, run_context, simulated_broker
    from trackrecord.brokers.sim import PriceTape
    from trackrecord.domain import Mode
    from trackrecord.engine.rebalance import rebalance, settle
    from trackrecord.market.service import calendar_for
    from trackrecord.market.store import load_prices
    from trackrecord.workspace import open_workspace

    session = date.fromisoformat(REBALANCE)
    services = connect(open_workspace(paper))
    try:
        calendar = calendar_for(services.settings)
        stored = load_prices(services.engine, [i.symbol for i in services.settings.universe.instruments])
        tape = PriceTape()  # the market as known at 15:30 on the session: closes up to the day before
        for symbol, series in stored.items():
            for day, price in zip(series.dates.astype("O"), series.close):
                if day < session:
                    tape.record_close(symbol, day, calendar.close_time(day), Decimal(repr(float(price))))
        broker, clock = simulated_broker(services, calendar, tape)
        ctx = run_context(services, Mode.PAPER, calendar, broker, clock)
        decided_at = calendar.close_time(session) - timedelta(hours=1)
        clock.start(decided_at)
        report = settle(ctx, rebalance(ctx, session, decided_at), session, decided_at + timedelta(minutes=5))
        assert {o.status.value for o in broker.open_orders()} == {"submitted"} and report.fills == 0
        for symbol, series in stored.items():  # the closing prices arrive
            index = list(series.dates.astype("O")).index(session)
            tape.record_close(symbol, session, calendar.close_time(session), Decimal(repr(float(series.close[index]))))
        clock.close_session(session, calendar.close_time(session))
        assert broker.open_orders() == [] and len(broker.executions_since(decided_at)) == 3
        broker.close()
    finally:
        services.close()


def test_the_engine_runs_the_same_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    root = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "trackrecord", "init", str(root), "--prices", "synthetic"], check=True,
                   capture_output=True, timeout=120)
    _configure(root, "paper")
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  url: null", f'  url: "{pg_url}"'))
    assert _trackrecord(root, "prices", "update").returncode == 0
    assert _trackrecord(root, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").returncode == 0
    first = _trackrecord(root, "execute", "--as-of", REBALANCE, "--json")
    assert first.returncode == 0, first.stderr
    assert {o["status"] for o in json.loads(first.stdout)["orders"]} == {"filled"}
    again = json.loads(_trackrecord(root, "execute", "--as-of", REBALANCE, "--json").stdout)
    assert again["sent"] == [] and len(again["already_at_broker"]) == 3
    assert _trackrecord(root, "verify").returncode == 0
