"""A snapshot appended in its canonical form (``canonical_snapshot``, the replay's path) is
the same event, hash and ``snapshots`` row as the same payload appended as a dict, on
SQLite and PostgreSQL; ``verify`` rebuilds the row from the chain alone (issue 15 item 5)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from trackrecord.domain import AccountSnapshot, Position
from trackrecord.engine.recording import canonical_snapshot, snapshot_payload
from trackrecord.ledger import events as kinds
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.operations import stored_tables
from trackrecord.ledger.sql import fetch_all
from trackrecord.ledger.store import SqlLedger
from trackrecord.ledger.verify import verify_events

MOMENT = datetime(2026, 3, 2, 21, 5, tzinfo=timezone.utc)


def _payloads() -> list[dict[str, object]]:
    out = []
    for n in range(3):
        day = date(2026, 3, 2) + timedelta(days=n)
        held = tuple(Position(symbol, Decimal(10 + n), Decimal("33.10") / 3, Decimal(price), Decimal(price) * (10 + n),
                              "USD", price_date=day if n != 1 else None)
                     for symbol, price in (("XLF", "32.9850"), ("XLK", "103.75")))
        out.append(snapshot_payload(AccountSnapshot("SIM0001", True, MOMENT + timedelta(days=n), day, "USD",
                                                    Decimal("100000.00") + n, Decimal("-0.00"), held), True, "paper"))
    return out


def _written(url: str, lock: Path | None, canonical: bool) -> tuple[list[tuple], list[tuple]]:
    engine = create_db_engine(url)
    migrate(engine)
    ledger = SqlLedger(engine, lock, clock=lambda: MOMENT)
    try:
        for payload in _payloads():
            with ledger.writer() as writer:
                built = canonical_snapshot(payload) if canonical else None
                assert (built is not None) == canonical
                writer.append(kinds.SNAPSHOT_RECORDED, built or payload)
                assert not writer.may_hold_snapshot("SIM0001", payload["session_date"] + timedelta(days=1))  # type: ignore[operator]
                assert writer.may_hold_snapshot("SIM0001", payload["session_date"])  # type: ignore[arg-type]
        result = verify_events(ledger.events(), stored_tables(engine))
        assert result.ok, result.problems[:3]
        events = [(e.seq, e.recorded_at, e.kind, e.payload, e.prev_hash, e.hash) for e in ledger.events()]
        with engine.connect() as conn:
            rows = fetch_all(conn, "SELECT * FROM snapshots ORDER BY session_date")[1]
        return events, [tuple(row) for row in rows]
    finally:
        ledger.close()
        engine.dispose()


def test_a_canonical_snapshot_appends_the_same_event_and_row_as_its_dict(database_url: str, tmp_path: Path) -> None:
    as_dict = _written(f"sqlite:///{tmp_path / 'dict.db'}", tmp_path / "dict.lock", canonical=False)
    lock = tmp_path / "ledger.lock" if database_url.startswith("sqlite") else None
    assert _written(database_url, lock, canonical=True) == as_dict
