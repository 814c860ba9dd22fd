"""The writer transaction (``SqlLedger.writer()``) after its speed work: the single-writer
lock is held exactly while a writer (or a nested ``write_lock``, as the simulated book takes
it) is open and released after, a body that fails leaves nothing and the ledger usable, and
the head is read inside the lock."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from trackrecord.ledger import events as kinds
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.store import SqlLedger

FIXED = datetime(2026, 3, 2, 21, 5, tzinfo=timezone.utc)
PROBE = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
         "print('free' if fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB) is None else '')")


def _lock_seen_by_another_process(lock: Path) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, str(lock)], capture_output=True, text=True)
    return "free" if done.stdout.strip() == "free" else "held"


@pytest.fixture
def ledger(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    store = SqlLedger(engine, tmp_path / "ledger.lock", clock=lambda: FIXED)
    yield store
    store.close()
    engine.dispose()


def test_the_writer_lock_is_held_while_writing_and_released_after_nested_locks(ledger: SqlLedger,
                                                                             tmp_path: Path) -> None:
    lock = tmp_path / "ledger.lock"
    for _ in range(2):  # the ledger keeps one lock object: entering it again must work the same
        with ledger.writer() as writer:
            with ledger.write_lock():  # the simulated book's writes, inside the ledger's
                writer.append(kinds.ANNOTATION_ADDED, {"text": "inside"})
            assert _lock_seen_by_another_process(lock) == "held"
        assert _lock_seen_by_another_process(lock) == "free"
    with ledger.write_lock():
        assert _lock_seen_by_another_process(lock) == "held"
    assert _lock_seen_by_another_process(lock) == "free"
    assert ledger.head()[0] == 2


def test_a_failing_body_writes_nothing_releases_the_lock_and_the_next_writer_works(ledger: SqlLedger,
                                                                                 tmp_path: Path) -> None:
    ledger.append(kinds.ANNOTATION_ADDED, {"text": "first"})
    with pytest.raises(ZeroDivisionError):
        with ledger.writer() as writer:
            writer.append(kinds.ANNOTATION_ADDED, {"text": "rolled back"})
            1 / 0
    assert _lock_seen_by_another_process(tmp_path / "ledger.lock") == "free"
    assert ledger.head()[0] == 1
    with pytest.raises(TypeError):  # a payload without a canonical form: nothing of the batch is written
        ledger.append_many([(kinds.ANNOTATION_ADDED, {"text": "ok"}), (kinds.ANNOTATION_ADDED, {"x": 1.5})])
    event = ledger.append(kinds.CASHFLOW_RECORDED, {"flow_date": "2026-03-02", "amount": Decimal("10"),
                                                    "currency": "USD", "note": ""})
    assert event.seq == 2 and [e.seq for e in ledger.events()] == [1, 2]


def test_a_writer_reads_the_head_another_process_wrote(ledger: SqlLedger, tmp_path: Path) -> None:
    ledger.append(kinds.ANNOTATION_ADDED, {"text": "here"})
    code = ("import sys; from pathlib import Path; from trackrecord.ledger.db import create_db_engine; "
            "from trackrecord.ledger.store import SqlLedger; "
            f"l = SqlLedger(create_db_engine('sqlite:///{tmp_path / 'ledger.db'}'), Path({str(tmp_path / 'ledger.lock')!r})); "
            "l.append('annotation.added', {'text': 'there'}); l.close()")
    subprocess.run([sys.executable, "-c", code], check=True)
    with ledger.writer() as writer:
        assert writer.seq == 2
        assert writer.append(kinds.ANNOTATION_ADDED, {"text": "after"}).seq == 3
