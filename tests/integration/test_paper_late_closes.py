"""A paper rebalance's market-on-close orders belong to their own session's close, however
late its prices arrive. Before: `daily` on the rebalance day without that day's bars wrote an
all-cash snapshot beside three open orders, and the next `daily` filled them at *its* close,
weeks of prices later. Now the snapshot waits for the closes, and the auction, run late, fills
at the rebalance session's own close; a later rebalance is refused until it has."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

REBALANCE = "2026-06-01"  # XLON closes 16:30 London, 15:30 UTC


def _source(root: Path, source: str) -> None:
    config = root / "trackrecord.yaml"
    config.write_text(re.sub(r'^  source: "[a-z]+"', f'  source: "{source}"', config.read_text(), flags=re.MULTILINE))


def _rows(root: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(root / "trackrecord.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


@pytest.fixture
def paper(template: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    """The funded paper workspace with 2026-06-01's rebalance sent at 10:00, its closes not in yet."""
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T10:00:00Z")
    executed = cli("--home", root, "execute", "--json")
    assert executed.code == 0, executed
    assert len(json.loads(executed.out)["orders"]) == 3
    return root


def test_the_rebalance_fills_at_its_own_close_when_its_prices_come_late(paper: Path, cli,  # type: ignore[no-untyped-def]
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _source(paper, "csv")  # the feed is down this evening: the session's closes are not stored
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T18:00:00Z")
    before = _rows(paper, "SELECT count(*) FROM events")
    refused = cli("--home", paper, "daily")
    assert refused.code == 2, refused
    assert ("daily 2026-06-01: the simulated account SIM0001's orders of 2026-06-01 (" in refused.err
            and "await that session's closing prices, which are not stored" in refused.err), refused
    assert _rows(paper, "SELECT count(*) FROM events") == before
    assert _rows(paper, "SELECT max(session_date) FROM snapshots") == [("2026-05-29",)]

    monkeypatch.setenv("TRACKRECORD_NOW", "2026-07-01T10:00:00Z")  # a month on, still no prices
    blocked = cli("--home", paper, "execute")
    assert blocked.code == 2 and "execute 2026-07-01: the simulated account SIM0001's orders of 2026-06-01" in blocked.err
    assert "run `trackrecord daily`, then execute" in blocked.err
    assert cli("--home", paper, "daily").code == 2  # 2026-06-30 cannot be valued either

    _source(paper, "synthetic")  # the feed is back: the month's bars arrive at once
    settled = cli("--home", paper, "daily", "--json")
    assert settled.code == 0, settled
    assert json.loads(settled.out)["new_fills"] == 3
    assert set(json.loads(settled.out)["orders_changed"].values()) == {"filled"}
    assert {status for (status,) in _rows(paper, "SELECT status FROM orders")} == {"filled"}
    fills = _rows(paper, "SELECT symbol, price, executed_at FROM fills ORDER BY symbol")
    assert {at for _, _, at in fills} == {"2026-06-01T15:30:00Z"}, fills
    for symbol, price, _ in fills:
        (close,) = _rows(paper, f"SELECT close FROM prices WHERE symbol = '{symbol}' AND session_date = '{REBALANCE}'")[0]
        assert abs(float(price) / close - 1) < 0.002, (symbol, price, close)  # the session's close plus slippage
    assert _rows(paper, "SELECT session_date FROM snapshots ORDER BY session_date") == [("2026-05-29",), ("2026-06-30",)]
    assert cli("--home", paper, "verify").code == 0
    assert cli("--home", paper, "execute").code == 0  # 2026-07-01's rebalance may go on now


def test_a_snapshot_waits_for_the_closes_of_its_own_orders(paper: Path, cli,  # type: ignore[no-untyped-def]
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T18:00:00Z")
    refused = cli("--home", paper, "snapshot")
    assert refused.code == 2 and "snapshot 2026-06-01: the simulated account SIM0001's orders of 2026-06-01" in refused.err
    assert cli("--home", paper, "prices", "update").code == 0
    taken = cli("--home", paper, "snapshot")
    assert taken.code == 0, taken
    assert "3 position(s); recorded first: 3 new fill(s), 3 order(s) now filled" in taken.out, taken
    # the fills its auction made precede the snapshot that holds them, and the orders read filled
    (last_fill,) = _rows(paper, "SELECT max(seq) FROM fills")[0]
    (snapshot,) = _rows(paper, "SELECT seq FROM snapshots WHERE session_date = '2026-06-01'")[0]
    assert last_fill < snapshot
    assert {status for (status,) in _rows(paper, "SELECT status FROM orders")} == {"filled"}
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-15T18:00:00Z")  # a fortnight on: nothing was left to pull
    pulled = cli("--home", paper, "pull", "--json")
    assert pulled.code == 0 and json.loads(pulled.out) | {"repeated": 0} == {
        "new_fills": 0, "completed_commissions": 0, "pending_commissions": 0, "repeated": 0,
        "orders_changed": {}, "order_warnings": []}, pulled



def test_orders_whose_close_never_comes_are_cancelled_with_a_reason(paper: Path, cli,  # type: ignore[no-untyped-def]
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The price source never gets the session's bars: without `cancel` the account could
    never be valued again. Cancelled, the orders stay out of the auction when the bars do
    come, the account is valued as it stood, and the next rebalance goes on."""
    _source(paper, "csv")
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-03T18:00:00Z")
    refused = cli("--home", paper, "daily")
    assert refused.code == 2 and 'trackrecord cancel REF \"why\"' in refused.err, refused
    refs = [o["order_ref"] for o in json.loads(cli("--home", paper, "orders", "--json").out)]
    assert len(refs) == 3
    events = _rows(paper, "SELECT count(*) FROM events")
    for args, expected in (((refs[0], " "), "give the reason"), (("tr-SIM0001-20260601-NOPE-B", "why"), "no such order")):
        bad = cli("--home", paper, "cancel", *args)
        assert bad.code == 2 and expected in bad.err and "Traceback" not in bad.err, bad
    assert _rows(paper, "SELECT count(*) FROM events") == events

    shown = cli("--home", paper, "cancel", refs[0], "the feed has no bars for 2026-06-01")
    assert shown.code == 0 and shown.out.startswith(f"cancelled {refs[0]} (BUY ") and \
        "was submitted) at the SIMULATED broker; recorded as seq " in shown.out, shown
    for ref in refs[1:]:
        done = cli("--home", paper, "cancel", ref, "the feed has no bars for 2026-06-01", "--json")
        assert done.code == 0, done
        assert json.loads(done.out) | {"seq": 0} == {**json.loads(done.out), "seq": 0, "was": "submitted",
                                                      "status": "cancelled", "order_ref": ref}
    again = cli("--home", paper, "cancel", refs[0], "twice")
    assert again.code == 2 and "already cancelled" in again.err, again
    messages = {m for (m,) in _rows(paper, "SELECT message FROM orders")}
    assert messages == {"cancelled by the trader: the feed has no bars for 2026-06-01"}

    _source(paper, "synthetic")  # the bars turn up after all: a cancelled order stays out of the auction
    valued = cli("--home", paper, "daily", "--json")
    assert valued.code == 0, valued
    assert json.loads(valued.out)["new_fills"] == 0
    assert _rows(paper, "SELECT count(*) FROM fills") == [(0,)]
    (positions,) = _rows(paper, "SELECT payload FROM events WHERE kind = 'snapshot.recorded' ORDER BY seq DESC LIMIT 1")[0]
    assert json.loads(positions)["positions"] == []
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-30T18:00:00Z")
    assert cli("--home", paper, "daily").code == 0
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-07-01T10:00:00Z")
    nextmonth = cli("--home", paper, "execute", "--json")
    assert nextmonth.code == 0 and len(json.loads(nextmonth.out)["orders"]) == 3, nextmonth
    assert cli("--home", paper, "verify").code == 0

    config = paper / "trackrecord.yaml"
    for mode, expected in (("dry_run", "nothing is sent, nothing to cancel"), ("live", "cancel a live order in TWS")):
        config.write_text(re.sub(r'^mode: "[a-z_]+"', f'mode: "{mode}"', config.read_text(), flags=re.MULTILINE))
        refused = cli("--home", paper, "cancel", refs[0], "why")  # live: refused before any connection is tried
        assert refused.code == 2 and f"the workspace is in mode {mode}: {expected}" in refused.err, refused


# -- generated sequences: evenings with and without the feed, any command a trader types -------

SESSIONS = ("2026-06-01", "2026-06-02", "2026-06-03", "2026-06-15", "2026-06-30", "2026-07-01", "2026-07-02")
COMMANDS = st.sampled_from(("daily", "snapshot", "execute", "prices update"))
# in the order of the clock: an execute runs at 10:00, the others in the evening (sorted by the day
# alone, a snapshot at 18:00 was followed by an execute at 10:00 the same day, the clock run backwards)
EVENINGS = st.lists(st.tuples(st.sampled_from(SESSIONS), st.booleans(), COMMANDS), min_size=2, max_size=7).map(
    lambda steps: sorted(steps, key=lambda s: (s[0], s[2] != "execute")))


@settings(max_examples=int(os.environ.get("SEQ_EXAMPLES", "6")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # real commands: no shrinking
@given(evenings=EVENINGS)
def test_every_fill_is_at_its_own_sessions_close_and_no_snapshot_precedes_it(  # type: ignore[no-untyped-def]
        template: Path, cli, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        evenings: list[tuple[str, bool, str]]) -> None:
    root = tmp_path_factory.mktemp("late") / "ws"
    shutil.copytree(template, root)
    for session, feed_up, command in evenings:
        _source(root, "synthetic" if feed_up else "csv")
        monkeypatch.setenv("TRACKRECORD_NOW", f"{session}T{'10' if command == 'execute' else '18'}:00:00Z")
        result = cli("--home", root, *command.split())
        # 1: the feed failed; 2: refused, nothing written; 3: a rebalance the price gates blocked
        assert result.code in (0, 1, 2, 3), (session, command, result, evenings)
        assert "Traceback" not in result.err
    # each rebalance's fills are at its own close (XLON 16:30 BST), whenever they were settled
    for order_ref, at in _rows(root, "SELECT order_ref, executed_at FROM fills"):
        day = re.search(r"-(\d{8})-", order_ref).group(1)  # type: ignore[union-attr]
        assert at == f"{day[:4]}-{day[4:6]}-{day[6:]}T15:30:00Z", (order_ref, at, evenings)
    # no snapshot of a session at or after a rebalance was recorded before that rebalance's fills
    orders = _rows(root, "SELECT order_ref FROM orders")
    for (order_ref,) in orders:
        day = re.search(r"-(\d{8})-", order_ref).group(1)  # type: ignore[union-attr]
        session = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        filled = _rows(root, f"SELECT min(seq) FROM fills WHERE order_ref = '{order_ref}'")[0][0]
        later = _rows(root, f"SELECT min(seq) FROM snapshots WHERE session_date >= '{session}'")[0][0]
        if later is not None:
            assert filled is not None and filled < later, (order_ref, filled, later, evenings)
    # once the broker is met after the last evening, an order is as the broker has it
    assert cli("--home", root, "pull").code == 0
    for order_ref, quantity, status in _rows(root, "SELECT order_ref, quantity, status FROM orders"):
        (filled,) = _rows(root, f"SELECT sum(quantity) FROM fills WHERE order_ref = '{order_ref}'")[0]
        if filled is not None and float(filled) == float(quantity):
            assert status == "filled", (order_ref, status, evenings)
        else:
            assert status in ("submitted", "cancelled"), (order_ref, status, evenings)
    assert cli("--home", root, "verify").code == 0


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A paper workspace funded on 2026-05-29 with its snapshot, before the rebalance (copied by each test)."""
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("late-template") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', 'mode: "paper"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2025-03-01"')
                      .replace('csv_dir: null', 'csv_dir: "no-such-folder"'))
    previous = os.environ.get("TRACKRECORD_NOW")
    os.environ["TRACKRECORD_NOW"] = "2026-05-29T18:00:00Z"
    try:
        assert run(["--home", str(root), "prices", "update"]) == 0
        assert run(["--home", str(root), "cashflow", "add", "--date", "2026-05-29", "--amount", "100000"]) == 0
        assert run(["--home", str(root), "daily"]) == 0
    finally:
        if previous is None:
            os.environ.pop("TRACKRECORD_NOW")
        else:
            os.environ["TRACKRECORD_NOW"] = previous
    return root
