"""Random sequences of what a trader types on a paper workspace never make the record say
something the events do not (issue 8, "What must be shown"): sessions advance with the
clock (daily, snapshot, the month's execute), deposits, withdrawals and voids, the kill
switch on and off, price updates, stats, and commands killed after one of their commits then
typed again. After each sequence `stats --json` equals the
figures rebuilt from the events alone (the projector into a fresh database), `verify`
passes with 0 unsigned events, and no order was sent twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import CliResult
from trackrecord.errors import UserError
from tests.integration.record_integrity import clock, configure, copy_workspace

START = date(2026, 4, 30)
LAST = date(2026, 8, 21)


def _evening(session: date) -> str:
    return datetime(session.year, session.month, session.day, 19, tzinfo=timezone.utc).isoformat()


@pytest.fixture(scope="module")
def calendar():  # type: ignore[no-untyped-def]
    from trackrecord.market.calendar import open_calendar

    return open_calendar("XLON", start=date(2024, 1, 1), end=date(2027, 12, 31))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Paper, synthetic bars up to 2026-04-30, £100,000 deposited that day."""
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("sequences") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    configure(root, "paper")
    with clock(_evening(START)):
        assert run(["--home", str(root), "prices", "update"]) == 0
        assert run(["--home", str(root), "cashflow", "add", "--date", START.isoformat(), "--amount", "100000"]) == 0
    return root


days = st.tuples(st.just("day"), st.integers(1, 12), st.sampled_from(["daily", "daily", "snapshot", "prices"]))
rebalances = st.tuples(st.just("rebalance"), st.sampled_from(["daily", "none"]))
steps = st.one_of(  # sessions and rebalances twice as likely as the rest
    days, days, rebalances, rebalances,
    st.tuples(st.just("flow"), st.sampled_from([5_000, 20_000, -2_000, -50_000])),
    st.tuples(st.just("void"), st.integers(0, 3)),
    st.tuples(st.just("kill"), st.sampled_from(["activate", "deactivate"])),
    st.tuples(st.just("stats")),
)
crashes = st.tuples(st.just("crash"), st.integers(1, 6), st.sampled_from(["execute", "daily", "deposit"]))


class Trader:
    """Types the commands of one sequence; the session moves only forward, with the clock."""

    def __init__(self, cli, root: Path, calendar) -> None:  # type: ignore[no-untyped-def]
        self.cli, self.root, self.calendar = cli, root, calendar
        self.session = START
        self.typed: list[tuple[tuple[str, ...], int]] = []

    def run(self, *args: object) -> CliResult:
        with clock(_evening(self.session)):
            result = self.cli("--home", self.root, *args)
        self.typed.append((tuple(str(a) for a in args), result.code))
        assert result.code in (0, 1, 2, 3), (self.typed, result)
        assert "Traceback" not in result.out + result.err, (self.typed, result)
        if result.code:
            assert result.err.strip(), (self.typed, result)
        return result

    def story(self) -> str:
        return "\n".join(f"{' '.join(args)} -> {code}" for args, code in self.typed)

    def step(self, step: tuple[Any, ...], index: int) -> None:
        kind = step[0]
        if kind == "day":
            self._advance(self.calendar.next_sessions(self.session, step[1], include_day=False)[-1])
            self.run(step[2] if step[2] != "prices" else "prices", *(["update"] if step[2] == "prices" else []))
        elif kind == "rebalance":
            self._advance(self.calendar.next_rebalance_session(self.session + timedelta(days=1)))
            self.run("prices", "update")
            self.run("execute", "--as-of", self.session)
            if step[1] == "daily":
                self.run("daily")
        elif kind == "flow":
            self.run("cashflow", "add", "--date", self.session, "--amount", step[1], "--note", f"step {index}")
        elif kind == "void":
            live = [f for f in json.loads(self.run("cashflow", "list", "--json").out) if f.get("status") != "voided"]
            if live:
                self.run("cashflow", "void", live[step[1] % len(live)]["seq"], "--reason", f"step {index}")
        elif kind == "kill":
            self.run("kill-switch", *(["activate", f"step {index}"] if step[1] == "activate" else ["deactivate", "--yes"]))
        elif kind == "crash":
            self._crash_then_rerun(step[1], step[2], index)
        else:
            self.run("stats", "--json")

    def _crash_then_rerun(self, commit: int, command: str, index: int) -> None:
        """SIGKILL right after the command's N-th commit (a subprocess), then type it again."""
        if command == "execute":
            self._advance(self.calendar.next_rebalance_session(self.session + timedelta(days=1)))
            args: tuple[object, ...] = ("execute", "--as-of", self.session)
        elif command == "daily":
            self._advance(self.calendar.next_sessions(self.session, 1, include_day=False)[-1])
            args = ("daily",)
        else:
            args = ("cashflow", "add", "--date", self.session, "--amount", 10_000, "--note", f"crash {index}")
        env = {**os.environ, "TRACKRECORD_NOW": _evening(self.session), "TRACKRECORD_CRASH_AFTER_COMMIT": str(commit)}
        killed = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(self.root), *map(str, args)],
                                capture_output=True, text=True, timeout=120, env=env)
        self.typed.append((("killed after commit", str(commit), *map(str, args)), killed.returncode))
        assert "Traceback" not in killed.stderr, (self.story(), killed.stderr)
        self.run(*args)

    def _advance(self, session: date) -> None:
        self.session = min(session, LAST)


def _rebuilt_stats(root: Path, tmp: Path, account: str) -> dict[str, Any]:
    from trackrecord.bootstrap import connect
    from trackrecord.engine.bundles import record_figures, rebuilt_services
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(root))
    try:
        events = list(services.ledger.events())
        settings = services.settings
    finally:
        services.close()
    rebuilt = rebuilt_services(tmp, settings, events)
    try:
        return record_figures(rebuilt, account)["stats"]
    finally:
        rebuilt.close()


def _broker_orders(root: Path) -> list[tuple[str]]:
    """The order refs the simulated broker received (its own book, read as a person would)."""
    import sqlite3

    with sqlite3.connect(root / "trackrecord.db") as db:
        return db.execute("SELECT order_ref FROM sim_orders").fetchall()


def _check_the_record(trader: Trader, tmp: Path) -> None:
    from trackrecord.engine.bundles import compare_figures

    stats = trader.run("stats", "--benchmark", "none", "--json")
    if stats.code == 0:
        shown = json.loads(stats.out)
        checked, difference = compare_figures(shown, _rebuilt_stats(trader.root, tmp, shown["account"]))
        assert difference is None and checked > 20, (difference, trader.story())
    else:  # a record stats refuses is refused alike when rebuilt from its events
        assert stats.code == 2, (stats.err, trader.story())
        if "no snapshot" not in stats.err:
            account = json.loads(trader.run("cashflow", "list", "--json").out)[0]["account"]
            with pytest.raises(UserError) as rebuilt:
                _rebuilt_stats(trader.root, tmp, account)
            assert str(rebuilt.value) in stats.err, (stats.err, trader.story())
    verify = trader.run("verify")
    assert verify.code == 0 and "0 events after the last signed checkpoint" in verify.out, (verify, trader.story())
    log = json.loads(trader.run("ledger", "log", "--json").out)
    # an intent is committed again when a kill came before the send; the broker gets each order once
    intents = {e["payload"]["order_ref"] for e in log if e["kind"] == "order.submitted"}
    sent = Counter(ref for ref, in _broker_orders(trader.root))
    assert set(sent) == intents and all(n == 1 for n in sent.values()), (sent, intents, trader.story())
    filled: Counter[str] = Counter()
    for event in log:
        if event["kind"] == "fill.recorded":
            filled[event["payload"]["order_ref"]] += Decimal(event["payload"]["quantity"])
    ordered = {e["payload"]["order_ref"]: Decimal(e["payload"]["quantity"]) for e in log if e["kind"] == "order.submitted"}
    assert all(filled[ref] <= ordered.get(ref, Decimal(0)) for ref in filled), (filled, ordered, trader.story())


def _run_sequence(template: Path, calendar, folder: Path, cli, sequence) -> None:  # type: ignore[no-untyped-def]
    trader = Trader(cli, copy_workspace(template, folder / "ws"), calendar)
    for index, step in enumerate(sequence):
        trader.step(step, index)
    _check_the_record(trader, folder)


@settings(max_examples=int(os.environ.get("SEQ_EXAMPLES", "7")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # real commands: no shrinking
@given(sequence=st.lists(steps, min_size=4, max_size=9))
def test_property_any_sequence_keeps_stats_equal_to_the_events_and_the_chain_signed(  # type: ignore[no-untyped-def]
        template: Path, calendar, tmp_path_factory, cli, sequence) -> None:
    _run_sequence(template, calendar, tmp_path_factory.mktemp("sequence"), cli, sequence)


@pytest.mark.slow  # each kill is a subprocess
@settings(max_examples=int(os.environ.get("SEQ_EXAMPLES", "3")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(sequence=st.lists(st.one_of(steps, crashes), min_size=4, max_size=8).filter(
    lambda seq: any(step[0] == "crash" for step in seq)))
def test_property_a_sequence_with_killed_commands_typed_again_keeps_the_record_true(  # type: ignore[no-untyped-def]
        template: Path, calendar, tmp_path_factory, cli, sequence) -> None:
    _run_sequence(template, calendar, tmp_path_factory.mktemp("crashes"), cli, sequence)
