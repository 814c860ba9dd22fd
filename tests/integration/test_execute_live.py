"""``execute --live``, ``pull`` and ``snapshot`` through the real command line against the fake
TWS, with the real ib_async client over TCP: every scripted fault of the fake, the kill
switch, the typed confirmation and the account check.

The workspace is the default one (9 SPDR sector lines on the LSE) on synthetic prices,
quoted in GBP here so that the fake's booking (price x quantity in the line's currency)
is the account's; the fake's prices are the stored closes, so the plan, the fills and
the snapshot agree.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml


from tests.integration.fake_tws import (  # noqa: E402
    ContractSpec,
    DisconnectOnPlace,
    FakeTws,
    LateCommission,
    PartialFill,
    Reject,
    Scenario,
)
from tests.integration.fake_tws.protocol import In  # noqa: E402

REBALANCE = "2026-06-01"
PREVIOUS_SESSION = "2026-05-29"
DECIDED_AT = "2026-06-01T14:30:00Z"  # an hour before the close: live runs trade today's session only
ACCOUNT = "DU1234567"
CLIENT_ID = 31


# ---------------------------------------------------------------- workspace


def _config(root: Path) -> dict[str, Any]:
    return yaml.safe_load((root / "trackrecord.yaml").read_text())


def _write_config(root: Path, document: dict[str, Any]) -> None:
    (root / "trackrecord.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def _edit(root: Path, **sections: dict[str, Any]) -> None:
    """Merge ``section={key: value}`` into trackrecord.yaml (one level deep)."""
    document = _config(root)
    for name, values in sections.items():
        if isinstance(values, dict) and isinstance(document.get(name), dict):
            document[name].update(values)
        else:
            document[name] = values
    _write_config(root, document)


def _stored_closes(root: Path, session: str) -> dict[str, Decimal]:
    with sqlite3.connect(root / "trackrecord.db") as db:
        rows = db.execute("SELECT symbol, close FROM prices WHERE session_date = ?", (session,)).fetchall()
    return {symbol: Decimal(repr(close)).quantize(Decimal("0.01")) for symbol, close in rows}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A live workspace on synthetic prices, everything but the fake's port configured."""
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("live-template") / "ws"
    assert run(["init", str(root), "--prices", "synthetic"]) == 0
    document = _config(root)
    document["mode"] = "live"
    document["account"]["account_id"] = ACCOUNT
    document["prices"]["history_start"] = "2024-06-01"
    for instrument in document["universe"]["instruments"]:
        instrument["price_unit"] = "GBP"
    document["strategy"]["order_type"] = "MKT"
    document["broker"]["ibkr"].update(connect_timeout=2.0, request_timeout=3.0, order_timeout=3.0,
                                      max_connect_attempts=1, client_id=CLIENT_ID)
    _write_config(root, document)
    assert run(["--home", str(root), "prices", "update"]) == 0
    return root


def _contracts(root: Path) -> tuple[ContractSpec, ...]:
    """One GBP line per configured instrument, trading at the last stored close before the
    rebalance; its closing auction prints that session's stored close."""
    before, on = _stored_closes(root, PREVIOUS_SESSION), _stored_closes(root, REBALANCE)
    symbols = [i["symbol"] for i in _config(root)["universe"]["instruments"]]
    return tuple(
        ContractSpec(con_id=300_000_001 + n, symbol=s, exchange="SMART", primary_exchange="LSEETF", currency="GBP",
                     long_name=f"SPDR {s} UCITS ETF", price=before[s], close_price=on[s])
        for n, s in enumerate(symbols)
    )


@pytest.fixture
def fake(template: Path, ib_decoder_guard: Any) -> Iterator[FakeTws]:  # noqa: F811
    server = FakeTws(Scenario(contracts=_contracts(template))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ws(template: Path, fake: FakeTws, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    document = _config(root)
    document["broker"]["ibkr"].update(host=fake.host, port=fake.port)
    _write_config(root, document)
    return root


# ---------------------------------------------------------------- helpers


def _run(cli: Any, root: Path, *args: str) -> Any:
    return cli("--home", root, *args)


def _json(result: Any) -> Any:
    assert result.code == 0, result
    return json.loads(result.out)


@contextlib.contextmanager
def _on_the_rebalance_day() -> Iterator[None]:
    """The wall clock at DECIDED_AT (bootstrap's TRACKRECORD_NOW), for one in-process command."""
    before = os.environ.get("TRACKRECORD_NOW")
    os.environ["TRACKRECORD_NOW"] = DECIDED_AT
    try:
        yield
    finally:
        if before is None:
            del os.environ["TRACKRECORD_NOW"]
        else:
            os.environ["TRACKRECORD_NOW"] = before


def _execute(cli: Any, root: Path, *extra: str) -> Any:
    with _on_the_rebalance_day():
        return _run(cli, root, "execute", "--live", "--yes", "--as-of", REBALANCE, "--json", *extra)


def _subprocess(root: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(root), *args], capture_output=True,
                          text=True, timeout=60, input=stdin,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", "TRACKRECORD_NOW": DECIDED_AT})


def _events(root: Path, kind: str) -> list[dict[str, Any]]:
    with sqlite3.connect(root / "trackrecord.db") as db:
        rows = db.execute("SELECT payload FROM events WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
    return [json.loads(payload) for (payload,) in rows]


def _rows(root: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(root / "trackrecord.db") as db:
        return db.execute(query).fetchall()


def _placed(fake: FakeTws) -> list[str]:
    """Order refs of every placeOrder the fake received, in order (resends included)."""
    return [o.order_ref for o in fake.orders()]


def _verify(cli: Any, root: Path) -> None:
    result = _run(cli, root, "verify")
    assert result.code == 0, result


# ---------------------------------------------------------------- execute --live


def test_live_rebalance_sends_the_plan_once_and_records_fills_and_snapshot(cli, ws, fake):
    document = _json(_execute(cli, ws))
    assert document["mode"] == "live" and document["verdict"] == "approved"
    planned = [o["order_ref"] for o in document["orders"]]
    assert len(planned) == 3 and all(o["side"] == "BUY" and o["order_type"] == "MKT" for o in document["orders"])
    assert sorted(_placed(fake)) == sorted(planned) == sorted(document["sent"])
    assert {o["status"] for o in document["orders"]} == {"filled"}
    assert document["fills"] == 3
    fills = _rows(ws, "SELECT exec_id, order_ref, commission FROM fills ORDER BY exec_id")
    assert sorted(f[0] for f in fills) == sorted(fake.execution_ids())
    assert all(Decimal(f[2]) == Decimal(3) for f in fills)
    [snapshot] = _events(ws, "snapshot.recorded")
    assert snapshot["account_id"] == ACCOUNT and snapshot["is_paper"] is True
    assert len(snapshot["positions"]) == 3
    _verify(cli, ws)


def test_rerun_finds_every_order_at_the_broker_and_sends_nothing(cli, ws, fake):
    first = _json(_execute(cli, ws))
    again = _json(_execute(cli, ws))
    assert again["reused_plan"] is True and again["sent"] == []
    assert sorted(again["already_at_broker"]) == sorted(first["sent"])
    assert len(_placed(fake)) == 3 and len(fake.messages(In.PLACE_ORDER)) == 3
    assert again["fills"] == 0 and len(_rows(ws, "SELECT exec_id FROM fills")) == 3
    assert len(_events(ws, "plan.created")) == 1
    _verify(cli, ws)


def test_orders_command_shows_the_live_orders_with_intended_prices(cli, ws, fake):
    planned = {o["order_ref"]: o for o in _json(_execute(cli, ws))["orders"]}
    rows = {r["order_ref"]: r for r in _json(_run(cli, ws, "orders", "--json"))}
    assert set(rows) == set(planned)
    closes = _stored_closes(ws, PREVIOUS_SESSION)
    for ref, row in rows.items():
        assert (row["mode"], row["status"], row["order_type"]) == ("live", "filled", "MKT")
        assert Decimal(row["intended_price"]).quantize(Decimal("0.01")) == closes[row["symbol"]]


def test_market_on_close_orders_wait_for_the_auction_and_fill_at_the_close(cli, ws, fake):
    _edit(ws, strategy={"order_type": "MOC"})

    def auction() -> None:  # the exchange's closing auction, once the three orders are in
        deadline = time.monotonic() + 4
        while len(fake.orders()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        fake.close_auction()

    closer = threading.Thread(target=auction)
    closer.start()
    try:
        document = _json(_execute(cli, ws))
    finally:
        closer.join()
    assert {o["order_type"] for o in document["orders"]} == {"MOC"}
    assert {o["status"] for o in document["orders"]} == {"filled"}
    closes = {c.symbol: c.close_price for c in fake.scenario.contracts}
    for symbol, price, order_type in _rows(ws, "SELECT symbol, price, order_type FROM fills"):
        assert (Decimal(price), order_type) == (closes[symbol], "MOC")
    _verify(cli, ws)


def test_moc_still_working_at_the_timeout_is_picked_up_by_pull_and_never_resent(cli, ws, fake):
    document = _config(ws)
    document["strategy"]["order_type"] = "MOC"
    document["broker"]["ibkr"]["order_timeout"] = 0.3  # the run ends before the closing auction
    _write_config(ws, document)
    first = _json(_execute(cli, ws))
    assert {o["status"] for o in first["orders"]} == {"submitted"} and first["fills"] == 0
    assert fake.close_auction() == 3
    pulled = _json(_run(cli, ws, "pull", "--json"))
    assert (pulled["new_fills"], pulled["pending_commissions"]) == (3, 0)
    again = _json(_execute(cli, ws))
    assert again["sent"] == [] and len(again["already_at_broker"]) == 3
    assert len(fake.messages(In.PLACE_ORDER)) == 3
    _verify(cli, ws)


# ---------------------------------------------------------------- scripted faults


def test_duplicated_exec_details_record_each_fill_once(cli, ws, fake):
    fake.faults.duplicate_exec_details = True
    document = _json(_execute(cli, ws))
    assert document["fills"] == 3
    assert sorted(r[0] for r in _rows(ws, "SELECT exec_id FROM fills")) == sorted(fake.execution_ids())
    pulled = _json(_run(cli, ws, "pull", "--json"))
    assert (pulled["new_fills"], pulled["repeated"]) == (0, 3)
    assert len(_events(ws, "fill.recorded")) == 3
    _verify(cli, ws)


def test_late_commission_is_pending_then_completed_never_zero(cli, ws, fake):
    fake.faults.late_commission = LateCommission(withhold_requests=1)
    document = _json(_execute(cli, ws))
    assert document["fills"] == 3
    assert [r[0] for r in _rows(ws, "SELECT commission FROM fills")] == [None, None, None]
    assert all(e["commission"] is None for e in _events(ws, "fill.recorded"))
    pulled = _json(_run(cli, ws, "pull", "--json"))
    assert (pulled["new_fills"], pulled["completed_commissions"], pulled["pending_commissions"]) == (0, 3, 0)
    commissions = _events(ws, "commission.recorded")
    assert len(commissions) == 3 and {(Decimal(c["commission"]), c["currency"]) for c in commissions} == {
        (Decimal(3), "GBP")}
    assert {Decimal(r[0]) for r in _rows(ws, "SELECT commission FROM fills")} == {Decimal(3)}
    assert _json(_run(cli, ws, "pull", "--json"))["completed_commissions"] == 0  # once only
    _verify(cli, ws)


def test_execution_correction_supersedes_the_original_fill(cli, ws, fake):
    _json(_execute(cli, ws))
    original = sorted(fake.execution_ids())[0]
    corrected = fake.correct_execution(original, price=Decimal("1.23"))
    pulled = _json(_run(cli, ws, "pull", "--json"))
    assert (pulled["new_fills"], pulled["repeated"]) == (1, 3)
    rows = {r[0]: r[1:] for r in _rows(ws, "SELECT exec_id, price, supersedes, superseded_by FROM fills")}
    assert rows[corrected] == ("1.23", original, None)
    assert rows[original][1:] == (None, corrected)
    assert _json(_run(cli, ws, "pull", "--json"))["new_fills"] == 0
    _verify(cli, ws)


def test_rejected_order_is_recorded_and_the_run_fails(cli, ws, fake):
    fake.faults.reject = Reject(code=201)
    result = _execute(cli, ws)
    assert result.code == 1, result
    document = json.loads(result.out)  # the report is still printed: what was sent, what was refused
    [rejected] = document["rejected"]
    assert "rejected 1 order(s)" in result.err and rejected in result.err
    assert len(document["sent"]) == 2 and rejected not in document["sent"]
    statuses = {o["order_ref"]: o["status"] for o in document["orders"]}
    assert statuses[rejected] == "rejected" and sorted(statuses.values()) == ["filled", "filled", "rejected"]
    [event] = [e for e in _events(ws, "order.status_changed") if e["status"] == "rejected"]
    assert (event["order_ref"], event["code"]) == (rejected, 201) and "EQUITY WITH LOAN" in event["message"]
    assert dict(_rows(ws, "SELECT order_ref, status FROM orders"))[rejected] == "rejected"
    again = _execute(cli, ws)  # a rerun does not send the rejected order again
    assert again.code == 0, again
    assert [o.order_ref for o in fake.orders()].count(rejected) == 1 and len(fake.messages(In.PLACE_ORDER)) == 3
    _verify(cli, ws)


def test_disconnect_mid_order_then_rerun_finds_it_and_does_not_resend(cli, ws, fake):
    fake.faults.disconnect_on_place = DisconnectOnPlace(accepted=True)
    failed = _execute(cli, ws)
    assert failed.code == 1, failed
    assert "Do not resend" in failed.err and "rerun `trackrecord execute`" in failed.err
    [first] = _placed(fake)
    document = _json(_execute(cli, ws))
    assert document["reused_plan"] is True and document["already_at_broker"] == [first]
    assert first not in document["sent"] and len(document["sent"]) == 2
    assert sorted(_placed(fake)) == sorted(o["order_ref"] for o in document["orders"])  # each exactly once
    assert len(fake.messages(In.PLACE_ORDER)) == 3
    assert {o["status"] for o in document["orders"]} == {"filled"}
    assert len(_rows(ws, "SELECT exec_id FROM fills")) == 3
    [found] = [e for e in _events(ws, "order.submitted") if e["order_ref"] == first and e["status"] != "pending_submit"]
    assert "found at the broker" in found["message"]
    _verify(cli, ws)


def test_order_lost_with_the_connection_is_sent_once_on_rerun(cli, ws, fake):
    fake.faults.disconnect_on_place = DisconnectOnPlace(accepted=False)
    assert _execute(cli, ws).code == 1
    assert fake.orders() == [] and len(fake.messages(In.PLACE_ORDER)) == 1  # it never reached the exchange
    document = _json(_execute(cli, ws))
    assert len(document["sent"]) == 3 and document["already_at_broker"] == []
    assert sorted(_placed(fake)) == sorted(document["sent"])
    _verify(cli, ws)


# ---------------------------------------------------------------- safety


def test_kill_switch_halted_blocks_every_live_order(cli, ws, fake):
    assert _run(cli, ws, "kill-switch", "activate", "stop everything").code == 0
    result = _execute(cli, ws)
    assert result.code == 3, result
    assert "kill" in result.err.lower()
    assert fake.messages(In.PLACE_ORDER) == [] and fake.orders() == []
    [decision] = _events(ws, "risk.decided")
    assert decision["approved"] is False
    assert any(r["rule"] == "kill_switch" and not r["passed"] for r in decision["results"])
    assert _events(ws, "order.submitted") == []
    _verify(cli, ws)


def test_kill_switch_activated_between_two_orders_stops_the_rest(cli, ws, fake):
    from trackrecord.cli.kill_switch_fast import run_fast

    arrived: list[str] = []

    def halt_on_the_first(order_ref: str) -> None:  # runs on the fake's loop
        if not arrived:  # the first order arrives: someone hits the kill switch
            assert run_fast(["--home", str(ws), "kill-switch", "activate", "operator stop", "--json"]) == 0
        arrived.append(order_ref)

    fake.before_place = halt_on_the_first
    result = _execute(cli, ws)
    assert result.code == 3, result
    assert "2 order(s) not sent" in result.err
    [sent] = _placed(fake)
    assert len(fake.messages(In.PLACE_ORDER)) == 1
    denied = _events(ws, "order.denied")
    assert len(denied) == 2 and sent not in {d["order_ref"] for d in denied}
    assert all(d["rule"] == "kill_switch" for d in denied)
    _verify(cli, ws)


def _live_without_yes(root: Path, answer: str) -> subprocess.CompletedProcess[str]:
    return _subprocess(root, "execute", "--live", "--as-of", REBALANCE, "--json", stdin=answer)


@pytest.mark.slow
def test_live_without_yes_needs_the_typed_word(ws, fake):
    refused = _live_without_yes(ws, "yes\n")
    assert refused.returncode == 3, refused.stderr
    assert "not confirmed" in refused.stderr and "CONFIRM" in refused.stderr and refused.stdout == ""
    assert fake.orders() == [] and fake.messages(In.PLACE_ORDER) == []
    assert len(_events(ws, "plan.created")) == 1 and len(_events(ws, "risk.decided")) == 1
    confirmed = _live_without_yes(ws, "CONFIRM\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert len(json.loads(confirmed.stdout)["sent"]) == 3 and len(fake.orders()) == 3


@pytest.mark.slow
def test_yes_is_not_enough_unless_the_config_says_live(ws, fake):
    _edit(ws, mode="paper")
    refused = _subprocess(ws, "execute", "--live", "--yes", "--as-of", REBALANCE, stdin="")
    assert refused.returncode == 2, refused.stderr
    assert "mode: live" in refused.stderr and refused.stderr.count("\n") == 1
    assert fake.received == []


def test_another_account_is_refused_before_anything_is_sent(cli, ws, fake):
    _edit(ws, account={"account_id": "DU7654321"})
    result = _execute(cli, ws)
    assert result.code == 3, result
    assert "DU7654321 is not managed" in result.err and ACCOUNT in result.err
    assert fake.messages(In.PLACE_ORDER) == [] and fake.orders() == []
    assert _events(ws, "order.submitted") == [] and _events(ws, "plan.created") == []
    for command in ("pull", "snapshot"):  # not read either
        refused = _run(cli, ws, command, "--json")
        assert refused.code == 3 and "DU7654321" in refused.err and refused.out == "", refused
    assert _events(ws, "snapshot.recorded") == []


def test_broker_down_is_a_runtime_failure_with_a_clear_message(cli, ws, fake):
    document = _config(ws)
    document["broker"]["ibkr"]["port"] = 1
    _write_config(ws, document)
    for args in (("pull", "--json"), ("snapshot", "--json"), ("execute", "--live", "--yes", "--as-of", REBALANCE)):
        with _on_the_rebalance_day():
            result = _run(cli, ws, *args)
        assert result.code == 1, result
        assert "Cannot connect to TWS/IB Gateway" in result.err and "Traceback" not in result.err
        assert result.out == ""
    assert _events(ws, "snapshot.recorded") == [] and _events(ws, "fill.recorded") == []


# ---------------------------------------------------------------- pull and snapshot


def test_snapshot_of_an_ib_paper_account_is_labelled_paper(cli, ws, fake):
    document = _json(_run(cli, ws, "snapshot", "--json"))
    assert document["account_id"] == ACCOUNT and document["is_paper"] is True
    assert document["simulated"] is True  # synthetic prices: still labelled simulated
    assert (Decimal(document["nav"]), Decimal(document["cash"]), document["positions"]) == (
        Decimal(100000), Decimal(100000), [])
    assert document["written"] is True
    assert _json(_run(cli, ws, "snapshot", "--json"))["written"] is False  # same session, same account
    text = _run(cli, ws, "snapshot")
    assert text.code == 0 and text.out.startswith("SIMULATED snapshot DU1234567"), text


def test_snapshot_on_real_prices_says_paper_not_simulated(cli, ws, fake, tmp_path):
    _edit(ws, prices={"source": "csv", "csv_dir": str(tmp_path)})
    text = _run(cli, ws, "snapshot")
    assert text.code == 0, text
    assert text.out.startswith("paper snapshot DU1234567") and "SIMULATED" not in text.out
    [recorded] = _events(ws, "snapshot.recorded")
    assert (recorded["is_paper"], recorded["simulated"]) == (True, False)


def test_snapshot_after_the_rebalance_values_the_positions(cli, ws, fake):
    _json(_execute(cli, ws))
    document = _json(_run(cli, ws, "snapshot", "--json"))
    prices = {c.symbol: c.price for c in fake.scenario.contracts}
    positions = {p["symbol"]: p for p in document["positions"]}
    assert len(positions) == 3
    for symbol, position in positions.items():
        assert Decimal(position["market_price"]) == prices[symbol]
        assert Decimal(position["market_value"]) == Decimal(position["quantity"]) * prices[symbol]
    invested = sum(Decimal(p["market_value"]) for p in positions.values())
    assert Decimal(document["cash"]) + invested == Decimal(document["nav"])
    assert Decimal(document["nav"]) == Decimal(100000) - 3 * Decimal(3)  # bought at these prices, 3 x £3 commission


def test_pull_is_idempotent_and_sees_fills_made_elsewhere(cli, ws, fake):
    empty = _json(_run(cli, ws, "pull", "--json"))
    assert empty == {"new_fills": 0, "completed_commissions": 0, "pending_commissions": 0, "repeated": 0,
                     "orders_changed": {}, "order_warnings": []}
    _json(_execute(cli, ws))
    for _ in range(2):
        pulled = _json(_run(cli, ws, "pull", "--json"))
        assert (pulled["new_fills"], pulled["repeated"]) == (0, 3)
    text = _run(cli, ws, "pull")
    assert text.code == 0 and "0 new fill(s)" in text.out and "3 already recorded" in text.out
    assert len(_events(ws, "fill.recorded")) == 3
    _verify(cli, ws)


def test_stats_of_a_live_ib_paper_record_say_paper(cli, ws, fake, tmp_path):
    _edit(ws, prices={"source": "csv", "csv_dir": str(tmp_path)})  # not the synthetic market
    assert _execute(cli, ws).code == 0
    assert _run(cli, ws, "snapshot").code == 0
    document = _json(_run(cli, ws, "stats", "--json"))
    assert (document["account"], document["paper"], document["simulated"]) == (ACCOUNT, True, False)
    text = _run(cli, ws, "stats")
    assert text.code == 0 and "IB paper account" in text.out and "SIMULATED" not in text.out, text


def test_stats_on_synthetic_prices_stay_simulated(cli, ws, fake):
    assert _execute(cli, ws).code == 0
    assert _run(cli, ws, "snapshot").code == 0
    document = _json(_run(cli, ws, "stats", "--json"))
    assert (document["paper"], document["simulated"]) == (True, True)
    assert "SIMULATED" in _run(cli, ws, "stats").out


def test_daily_job_after_the_auction_records_the_fills_and_the_snapshot(cli, ws, fake):
    document = _config(ws)
    document["strategy"]["order_type"] = "MOC"
    document["broker"]["ibkr"]["order_timeout"] = 0.3  # the run ends before the closing auction
    _write_config(ws, document)
    assert _json(_execute(cli, ws))["fills"] == 0
    fake.faults.late_commission = LateCommission(withhold_requests=2)  # ib_async's own request on connect, then ours
    fake.close_auction()
    daily = _json(_run(cli, ws, "daily", "--json"))
    assert (daily["gates_passed"], daily["new_fills"], daily["snapshot_written"]) == (True, 3, True)
    assert [r[0] for r in _rows(ws, "SELECT commission FROM fills")] == [None, None, None]  # pending, not zero
    again = _json(_run(cli, ws, "daily", "--json"))
    assert again["new_fills"] == 0
    assert {Decimal(r[0]) for r in _rows(ws, "SELECT commission FROM fills")} == {Decimal(3)}
    assert len(fake.messages(In.PLACE_ORDER)) == 3
    _verify(cli, ws)


def test_daily_job_still_pulls_and_snapshots_when_the_price_source_fails(cli, ws, fake):
    assert _execute(cli, ws).code == 0
    document = _config(ws)
    document["prices"]["source"] = "csv"
    document["prices"]["csv_dir"] = str(ws / "no-such-folder")
    _write_config(ws, document)
    result = _run(cli, ws, "daily", "--json")
    assert result.code == 1 and "price folder" in result.err and "incomplete" in result.err
    daily = json.loads(result.out)
    assert daily["price_update_failure"] and daily["snapshot_written"] is True
    _verify(cli, ws)


# ---------------------------------------------------------------- IB forgets finished orders


def test_rerun_of_a_finished_run_when_ib_forgets_completed_orders(cli, ws, fake):
    first = _json(_execute(cli, ws))
    fake.faults.no_completed_orders = True  # e.g. TWS after its daily restart
    statuses_before = len(_events(ws, "order.status_changed"))
    again = _execute(cli, ws)
    assert again.code == 0, again
    document = json.loads(again.out)
    assert document["sent"] == [] and sorted(document["already_at_broker"]) == sorted(first["sent"])
    assert {o["status"] for o in document["orders"]} == {"filled"}
    assert len(_events(ws, "order.status_changed")) == statuses_before  # nothing changed, nothing recorded
    assert len(fake.messages(In.PLACE_ORDER)) == 3
    _verify(cli, ws)


def test_moc_fills_during_a_reconnect_are_recorded_when_ib_forgets_completed_orders(cli, ws, fake):
    _edit(ws, strategy={"order_type": "MOC"})
    fake.faults.no_completed_orders = True

    def auction_while_away() -> None:
        deadline = time.monotonic() + 4
        while len(fake.orders()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        fake.close_auction(disconnect_first=True)

    closer = threading.Thread(target=auction_while_away)
    closer.start()
    try:
        document = _json(_execute(cli, ws))
    finally:
        closer.join()
    assert {o["status"] for o in document["orders"]} == {"filled"} and document["fills"] == 3
    assert {Decimal(r[0]) for r in _rows(ws, "SELECT commission FROM fills")} == {Decimal(3)}
    assert set(dict(_rows(ws, "SELECT order_ref, status FROM orders")).values()) == {"filled"}
    _verify(cli, ws)


def test_orders_gone_from_the_broker_are_recorded_unknown_once_with_a_warning(cli, ws, fake):
    document = _config(ws)
    document["strategy"]["order_type"] = "MOC"
    document["broker"]["ibkr"]["order_timeout"] = 0.3  # the run ends before the closing auction
    _write_config(ws, document)
    first = _json(_execute(cli, ws))
    assert {o["status"] for o in first["orders"]} == {"submitted"}
    assert fake.end_session() == 3  # IB cancels the day's orders; then forgets them
    fake.faults.no_completed_orders = True
    for run in range(2):
        before = len(_events(ws, "order.status_changed"))
        result = _execute(cli, ws)
        assert result.code == 0, result
        report = json.loads(result.out)
        assert {o["status"] for o in report["orders"]} == {"unknown_at_broker"}
        assert report["sent"] == [] and len(fake.messages(In.PLACE_ORDER)) == 3  # never resent
        warnings = [m for m in report["messages"] if "shows it nowhere" in m]
        assert len(warnings) == 3 and "shows it nowhere" in result.err
        assert len(_events(ws, "order.status_changed")) == before + (3 if run == 0 else 0)  # recorded once
    assert set(dict(_rows(ws, "SELECT order_ref, status FROM orders")).values()) == {"unknown_at_broker"}
    with _on_the_rebalance_day():
        text = _run(cli, ws, "execute", "--live", "--yes", "--as-of", REBALANCE)
    assert text.code == 0 and "shows it nowhere" in text.out, text
    _verify(cli, ws)


# ---------------------------------------------------------------- pence lines and bad numbers from IB


@pytest.fixture
def pence(template: Path, ib_decoder_guard: Any, tmp_path: Path) -> Iterator[tuple[Path, FakeTws]]:  # noqa: F811
    """The workspace with every line quoted in pence at IB (price_unit GBX), and a fake
    that quotes, fills and values them in pence (``price_magnifier`` 100)."""
    from dataclasses import replace

    contracts = tuple(replace(c, price=c.price * 100, close_price=c.close_price * 100, price_magnifier=100)
                      for c in _contracts(template))
    server = FakeTws(Scenario(contracts=contracts)).start()
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    document = _config(root)
    document["broker"]["ibkr"].update(host=server.host, port=server.port)
    for instrument in document["universe"]["instruments"]:
        instrument["price_unit"] = "GBX"
    _write_config(root, document)
    try:
        yield root, server
    finally:
        server.stop()


def test_pence_positions_are_recorded_in_pounds_with_ibs_raw_values(cli, pence):
    ws, fake = pence
    assert _json(_execute(cli, ws))["fills"] == 3
    closes = _stored_closes(ws, PREVIOUS_SESSION)
    for symbol, price in _rows(ws, "SELECT symbol, price FROM fills"):
        assert Decimal(price) == closes[symbol]  # pounds, not pence
    document = _json(_run(cli, ws, "snapshot", "--json"))
    assert Decimal(document["nav"]) == Decimal(100000) - 3 * Decimal(3)
    recorded = _events(ws, "snapshot.recorded")[-1]
    assert len(recorded["positions"]) == 3
    for position in recorded["positions"]:
        quantity, price, value = (Decimal(position[k]) for k in ("quantity", "market_price", "market_value"))
        assert value == quantity * price and price == closes[position["symbol"]]
        raw = position["reported"]
        assert Decimal(raw["market_price"]) == price * 100 and Decimal(raw["market_value"]) == value * 100
        assert (Decimal(raw["price_divisor"]), Decimal(raw["value_divisor"])) == (Decimal(100), Decimal(100))
    invested = sum(Decimal(p["market_value"]) for p in recorded["positions"])
    assert Decimal(recorded["cash"]) + invested == Decimal(recorded["nav"])
    _verify(cli, ws)


def test_a_position_value_that_is_not_quantity_times_price_records_no_snapshot(cli, pence):
    ws, fake = pence
    assert _execute(cli, ws).code == 0
    snapshots = len(_events(ws, "snapshot.recorded"))
    fake.faults.garbled = {"position.market_value": "1.00"}
    result = _run(cli, ws, "snapshot", "--json")
    assert result.code == 1 and "is not quantity x price" in result.err and "IB position " in result.err, result
    assert "Traceback" not in result.err and result.out == ""
    assert len(_events(ws, "snapshot.recorded")) == snapshots


@pytest.mark.parametrize("text", ["nan", "inf", "-8.12"])
def test_a_bad_execution_price_from_ib_is_refused_and_nothing_is_recorded(cli, ws, fake, text):
    fake.faults.garbled = {"execution.price": text}
    events = len(_json(_run(cli, ws, "ledger", "log", "--json")))
    result = _execute(cli, ws)
    assert result.code == 1, result
    assert f"price = {text}" in result.err.replace("'", "") and "Traceback" not in result.err, result
    assert _events(ws, "fill.recorded") == []
    fake.faults.garbled = {}
    pulled = _json(_run(cli, ws, "pull", "--json"))  # once IB sends sane numbers, the fills arrive
    assert pulled["new_fills"] == 3
    assert len(_json(_run(cli, ws, "ledger", "log", "--json"))) > events
    _verify(cli, ws)


# ---------------------------------------------------------------- partial fills and TWS's link to IB


def test_partial_fills_are_each_recorded_and_the_orders_end_filled(cli, ws, fake):
    fake.faults.partial_fill = PartialFill(first=Decimal(1), rest_after_seconds=0.2)
    document = _json(_execute(cli, ws))
    assert {o["status"] for o in document["orders"]} == {"filled"}
    assert document["fills"] == 6 and len(_events(ws, "fill.recorded")) == 6
    per_order: dict[str, Decimal] = {}
    for ref, quantity in _rows(ws, "SELECT order_ref, quantity FROM fills"):
        per_order[ref] = per_order.get(ref, Decimal(0)) + Decimal(quantity)
    assert per_order == {o["order_ref"]: Decimal(o["quantity"]) for o in document["orders"]}
    _verify(cli, ws)


def test_partial_fill_at_the_timeout_is_recorded_then_followed_to_its_end(cli, ws, fake):
    _edit(ws, broker={"ibkr": {**_config(ws)["broker"]["ibkr"], "order_timeout": 0.5}})
    fake.faults.partial_fill = PartialFill(first=Decimal(1), rest_after_seconds=None)
    first = _json(_execute(cli, ws))
    assert {o["status"] for o in first["orders"]} == {"partially_filled"} and first["fills"] == 3
    assert set(dict(_rows(ws, "SELECT order_ref, status FROM orders")).values()) == {"partially_filled"}
    assert fake.end_session() == 3  # the rest is cancelled at the end of the day
    again = _json(_execute(cli, ws))
    assert {o["status"] for o in again["orders"]} == {"cancelled"} and again["sent"] == []
    assert len(_events(ws, "fill.recorded")) == 3 and len(fake.messages(In.PLACE_ORDER)) == 3
    _verify(cli, ws)


def test_nothing_is_sent_while_tws_has_lost_its_link_to_ib(cli, ws, fake):
    fake.connectivity(1100)
    result = _execute(cli, ws)
    assert result.code == 1, result
    assert "(error 1100" in result.err and "refusing to" in result.err and "Traceback" not in result.err
    assert fake.messages(In.PLACE_ORDER) == [] and _events(ws, "order.submitted") == []
    refused = _run(cli, ws, "snapshot", "--json")
    assert refused.code == 1 and "error 1100" in refused.err and _events(ws, "snapshot.recorded") == []
    fake.connectivity(1102)
    document = _json(_execute(cli, ws))
    assert len(document["sent"]) == 3 and {o["status"] for o in document["orders"]} == {"filled"}
    _verify(cli, ws)
