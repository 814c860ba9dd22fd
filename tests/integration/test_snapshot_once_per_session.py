"""A snapshot identical to the one recorded for its session adds nothing (issue 15 item 5):
the close of day asks the ledger only when the session may have one, which the writer knows
without a query once it has read the account's latest session in its transaction and
followed every snapshot appended since, by any path. On SQLite and PostgreSQL, and through
the CLI: a rerun of ``daily`` or ``snapshot`` for a session writes no second snapshot."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.record_integrity import as_json, clock, copy_workspace, events, make_unfunded_paper
from trackrecord.brokers.sim import PriceTape, SimulatedBroker
from trackrecord.domain import Mode
from trackrecord.engine.account import record_snapshot
from trackrecord.engine.recording import snapshot_payload
from trackrecord.ledger import events as kinds
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.store import SqlLedger

D1, D2, D3 = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 21, 5, tzinfo=timezone.utc)


def snapshots(ledger: SqlLedger) -> list[tuple[str, str]]:
    return [(json.loads(e.payload)["session_date"], json.loads(e.payload)["nav"])
            for e in ledger.events(kinds.SNAPSHOT_RECORDED)]


def test_a_snapshot_repeating_its_sessions_record_adds_nothing_in_its_transaction_or_after(
        database_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(database_url, durable=False)
    migrate(engine)
    ledger = SqlLedger(engine, tmp_path / "ledger.lock", clock=lambda: at(D3))
    broker = SimulatedBroker(engine, PriceTape(), account_id="SIM1", base_currency="USD")

    def snap(writer, day: date) -> bool:  # type: ignore[no-untyped-def]
        return record_snapshot(writer, broker, at(day), day, True, Mode.PAPER)[0]

    try:
        broker.deposit(Decimal(10_000), at(D1) - timedelta(hours=8))
        with ledger.writer() as writer:
            assert snap(writer, D1) is True
            assert snap(writer, D1) is False  # the writer followed its own append
            assert snap(writer, D2) is True
            again = snapshot_payload(broker.snapshot(at(D3)), True, "paper")
            writer.append_many([(kinds.SNAPSHOT_RECORDED, {**again, "session_date": D3.isoformat()})])  # another path
            assert snap(writer, D3) is False
        with ledger.writer() as writer:  # a later transaction reads the latest session first
            assert [snap(writer, day) for day in (D1, D2, D3)] == [False, False, False]
        broker.deposit(Decimal(5_000), at(D3) + timedelta(hours=1))
        with ledger.writer() as writer:  # a different valuation of a recorded session supersedes it
            assert snap(writer, D2) is True
            assert snap(writer, D2) is False
        assert snapshots(ledger) == [("2024-03-04", "10000"), ("2024-03-05", "10000"), ("2024-03-06", "10000"),
                                     ("2024-03-05", "15000")]
    finally:
        broker.close()
        ledger.close()
        engine.dispose()


@pytest.fixture(scope="module")
def funded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = make_unfunded_paper(tmp_path_factory.mktemp("once") / "ws")
    with clock("2026-08-22T00:00:00Z"):
        assert run(["--home", str(root), "cashflow", "add", "--date", "2026-07-01", "--amount", "100000"]) == 0
    return root


def test_a_rerun_of_daily_or_snapshot_for_a_session_writes_no_second_snapshot(
        funded_template: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    home = copy_workspace(funded_template, tmp_path / "ws")
    with clock("2026-08-22T00:00:00Z"):
        assert as_json(cli("--home", home, "daily", "--as-of", "2026-07-01", "--json"))["snapshot_written"] is True
        assert as_json(cli("--home", home, "daily", "--as-of", "2026-07-02", "--json"))["snapshot_written"] is True
        before = len(events(cli, home, kinds.SNAPSHOT_RECORDED))
        assert as_json(cli("--home", home, "daily", "--as-of", "2026-07-02", "--json"))["snapshot_written"] is False
        assert as_json(cli("--home", home, "snapshot", "--as-of", "2026-07-02", "--json"))["written"] is False
        assert len(events(cli, home, kinds.SNAPSHOT_RECORDED)) == before == 2
        assert cli("--home", home, "verify").code == 0
