"""The ledger on real databases: SQLite and PostgreSQL run the same suite."""

from __future__ import annotations

import json
import multiprocessing
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from trackrecord.ledger import events as kinds
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.operations import stored_tables
from trackrecord.ledger.store import SqlLedger
from trackrecord.ledger.verify import verify_events

FIXED = datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)


def _ledger(url: str, tmp_path: Path) -> SqlLedger:
    engine = create_db_engine(url)
    migrate(engine)
    lock = tmp_path / "ledger.lock" if url.startswith("sqlite") else None
    return SqlLedger(engine, lock, clock=lambda: FIXED)


def _fill(exec_id: str, qty: str = "10") -> dict[str, object]:
    return {"exec_id": exec_id, "account_id": "U1", "order_ref": "r", "symbol": "SXLK", "side": "BUY",
            "quantity": Decimal(qty), "price": Decimal("101.25"), "currency": "GBP", "executed_at": FIXED,
            "commission": None, "commission_currency": None, "simulated": False}


def _populate(ledger: SqlLedger) -> None:
    ledger.append_many([
        (kinds.CASHFLOW_RECORDED, {"flow_date": "2026-03-02", "amount": Decimal("1000"), "currency": "GBP", "note": "a"}),
        (kinds.FILL_RECORDED, _fill("E1")),
        (kinds.COMMISSION_RECORDED, {"exec_id": "E1", "commission": Decimal("3"), "currency": "GBP"}),
        (kinds.SNAPSHOT_RECORDED, {"account_id": "U1", "session_date": "2026-03-02", "taken_at": FIXED,
                                   "base_currency": "GBP", "nav": Decimal("1000"), "cash": Decimal("0"), "positions": []}),
        (kinds.SNAPSHOT_RECORDED, {"account_id": "U1", "session_date": "2026-03-02", "taken_at": FIXED,
                                   "base_currency": "GBP", "nav": Decimal("1001"), "cash": Decimal("0"), "positions": []}),
        (kinds.ANNOTATION_ADDED, {"text": "héllo"}),
    ])


def _verify(ledger: SqlLedger):  # type: ignore[no-untyped-def]
    return verify_events(ledger.events(), stored_tables(ledger.engine))


def _drop_guards(ledger: SqlLedger) -> None:
    with ledger.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER events_no_update ON events"))
            conn.execute(text("DROP TRIGGER events_no_truncate ON events"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))


def test_appended_events_chain_and_project(database_url: str, tmp_path: Path) -> None:
    ledger = _ledger(database_url, tmp_path)
    _populate(ledger)
    result = _verify(ledger)
    assert result.ok, result.problems
    assert result.events == 6 and result.head_seq == 6
    tables = stored_tables(ledger.engine)
    assert [r["commission"] for r in tables["fills"]] == ["3"]
    assert [r["nav"] for r in tables["snapshots"]] == ["1001"], "the later snapshot supersedes"
    assert json.loads(next(ledger.events(kind=kinds.ANNOTATION_ADDED)).payload) == {"text": "héllo"}


@pytest.mark.parametrize("statement", ["UPDATE events SET kind = 'x' WHERE seq = 1", "DELETE FROM events WHERE seq = 2"])
def test_database_refuses_update_and_delete(database_url: str, tmp_path: Path, statement: str) -> None:
    ledger = _ledger(database_url, tmp_path)
    _populate(ledger)
    with pytest.raises(DBAPIError, match="append-only"):
        with ledger.engine.begin() as conn:
            conn.execute(text(statement))
    assert _verify(ledger).ok


@pytest.mark.parametrize("seq", [1, 2, 3, 4, 5, 6])
def test_changing_one_byte_of_any_payload_is_found_at_that_seq(database_url: str, tmp_path: Path, seq: int) -> None:
    ledger = _ledger(database_url, tmp_path)
    _populate(ledger)
    _drop_guards(ledger)
    with ledger.engine.begin() as conn:
        payload = conn.execute(text("SELECT payload FROM events WHERE seq = :s"), {"s": seq}).scalar_one()
        position = payload.index(":") + 2
        tampered = payload[:position] + ("0" if payload[position] != "0" else "1") + payload[position + 1:]
        conn.execute(text("UPDATE events SET payload = :p WHERE seq = :s"), {"p": tampered, "s": seq})
    result = _verify(ledger)
    assert not result.ok and result.first_bad_seq == seq


def test_deleting_an_event_is_found(database_url: str, tmp_path: Path) -> None:
    ledger = _ledger(database_url, tmp_path)
    _populate(ledger)
    _drop_guards(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE seq = 3"))
    assert _verify(ledger).first_bad_seq == 3


def test_reordering_two_events_is_found(database_url: str, tmp_path: Path) -> None:
    ledger = _ledger(database_url, tmp_path)
    _populate(ledger)
    _drop_guards(ledger)
    with ledger.engine.begin() as conn:  # swap the positions of seq 2 and seq 4
        conn.execute(text("UPDATE events SET seq = -2 WHERE seq = 2"))
        conn.execute(text("UPDATE events SET seq = 2 WHERE seq = 4"))
        conn.execute(text("UPDATE events SET seq = 4 WHERE seq = -2"))
    assert _verify(ledger).first_bad_seq == 2


def test_inserting_a_forged_event_is_found(database_url: str, tmp_path: Path) -> None:
    ledger = _ledger(database_url, tmp_path)
    _populate(ledger)
    _drop_guards(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE events SET seq = seq + 100 WHERE seq >= 4"))
        conn.execute(text("UPDATE events SET seq = seq - 99 WHERE seq >= 104"))
        row = conn.execute(text("SELECT hash FROM events WHERE seq = 3")).one()
        conn.execute(text("INSERT INTO events VALUES (4, '2026-03-02T17:00:00Z', 'annotation.added', '{}', :p, :h)"),
                     {"p": row.hash, "h": "f" * 64})
    result = _verify(ledger)
    assert not result.ok and result.first_bad_seq == 4


def test_projection_edited_behind_the_ledger_is_found(database_url: str, tmp_path: Path) -> None:
    ledger = _ledger(database_url, tmp_path)
    _populate(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE cashflows SET amount = '100000'"))
    result = _verify(ledger)
    assert not result.ok and any("cashflows" in p for p in result.problems)


def _append_many_in_process(url: str, lock: str, tag: str, count: int) -> None:
    engine = create_db_engine(url)
    ledger = SqlLedger(engine, Path(lock) if lock else None)
    for i in range(count):
        ledger.append(kinds.ANNOTATION_ADDED, {"text": f"{tag}-{i}"})
    engine.dispose()


def test_two_processes_appending_at_once_keep_the_chain_valid(database_url: str, tmp_path: Path) -> None:
    ledger = _ledger(database_url, tmp_path)
    lock = str(tmp_path / "ledger.lock") if database_url.startswith("sqlite") else ""
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many_in_process, args=(database_url, lock, tag, 40)) for tag in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    result = _verify(ledger)
    assert result.ok, result.problems
    texts = [json.loads(e.payload)["text"] for e in ledger.events()]
    assert len(texts) == 80
    for tag in "ab":  # each writer's events appear in its own order
        mine = [t for t in texts if t.startswith(tag)]
        assert mine == [f"{tag}-{i}" for i in range(40)]
