"""What a backtest records (issue 15.5): its sessions' bars and daily gates once a month,
at the month's last close, and still nothing a decision could not have seen; the
snapshots and every decision session by session as a paper replay records them."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from tests.integration.test_backtest_transactions import backtest, home  # noqa: F401  (the fixture)
from trackrecord.engine.held_sessions import HeldSessions
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.store import SqlLedger
from trackrecord.market.base import PriceRow
from trackrecord.market.quality import check_session_bars

SYMBOLS = ["XLK", "XLF"]


def events(root: Path) -> list[tuple[int, str, dict[str, Any]]]:
    with sqlite3.connect(root / "trackrecord.db") as conn:
        return [(seq, kind, json.loads(payload))
                for seq, kind, payload in conn.execute("SELECT seq, kind, payload FROM events ORDER BY seq")]


def test_a_backtest_records_each_months_bars_and_gates_once_at_its_last_close(  # type: ignore[no-untyped-def]
        home: Path, tmp_path: Path, shared_data: Path, cli) -> None:  # noqa: F811
    from trackrecord.bootstrap import backtest_workspace

    result = backtest(home, tmp_path / "bt", shared_data, backtest_workspace)
    recorded = events(tmp_path / "bt")
    snapshots = [data["session_date"] for _, kind, data in recorded if kind == "snapshot.recorded"]
    months: dict[str, list[str]] = defaultdict(list)
    for session in snapshots:
        months[session[:7]].append(session)
    # the account is funded on the session before the first rebalance (2023-12-29): a month of its own
    assert len(snapshots) == result.replay.sessions and list(months) == ["2023-12", "2024-01", "2024-02",
                                                                      "2024-03", "2024-04"]
    assert months["2023-12"] == ["2023-12-29"]

    batches = [data for _, kind, data in recorded if kind == "prices.updated" and data.get("purpose") == "replay"]
    assert [(b["first"], b["last"], b["rows"]) for b in batches] == \
        [(days[0], days[-1], 9 * len(days)) for days in months.values()]
    assert all(data.get("purpose") in ("history", "replay") for _, kind, data in recorded if kind == "prices.updated")
    gates = [data for _, kind, data in recorded if kind == "quality.checked" and data["purpose"] == "daily"]
    assert [(g["first"], g["session"], g["passed"]) for g in gates] == \
        [(days[0], days[-1], True) for days in months.values()]

    # every bar up to the session before a decision is in the ledger before it, and none after
    last_bars, decisions = "", 0
    for _, kind, data in recorded:
        if kind == "prices.updated":
            last_bars = max(last_bars, data["last"])
        elif kind == "signal.computed":
            decided = data["rebalance_date"]
            assert last_bars == max([d for d in snapshots if d < decided], default=last_bars) < decided
            assert max(rank["end_date"] for rank in data["ranks"]) <= last_bars
            decisions += 1
    assert decisions == 4
    assert cli("--home", tmp_path / "bt", "verify").code == 0


def test_a_months_held_gates_are_recorded_with_each_failure_dated(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'held.db'}")
    migrate(engine)
    ledger = SqlLedger(engine, tmp_path / "held.lock")
    held = HeldSessions("csv", True, SYMBOLS, "XNYS")
    first, second, before = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 1)
    day_one = [PriceRow("XLK", first, 100.0, 100.0), PriceRow("XLF", first, 40.0, 40.0)]
    day_two = [PriceRow("XLK", second, 150.0, 150.0)]  # a 50 % jump, and XLF missing
    held.hold(day_one, datetime(2024, 3, 4, 21, 30, tzinfo=timezone.utc))
    held.hold_gates(check_session_bars({"XLK": (before, 99.0), "XLF": (before, 40.5)},
                                       {"XLK": (100.0, 100.0), "XLF": (40.0, 40.0)}, SYMBOLS, first, before))
    held.hold(day_two, datetime(2024, 3, 5, 21, 30, tzinfo=timezone.utc))
    held.hold_gates(check_session_bars({"XLK": (first, 100.0), "XLF": (first, 40.0)}, {"XLK": (150.0, 150.0)},
                                       SYMBOLS, second, first))
    try:
        with ledger.writer() as writer:
            held.record(writer)
            held.record(writer)  # nothing held any more: nothing written
        (_, prices_kind, prices), (_, gates_kind, gates) = [(e.seq, e.kind, json.loads(e.payload))
                                                            for e in ledger.events()]
    finally:
        ledger.close()
        engine.dispose()
    assert (prices_kind, prices["purpose"], prices["rows"], prices["fetched_at"]) == \
        ("prices.updated", "replay", 3, "2024-03-05T21:30:00Z")
    assert (gates_kind, gates["first"], gates["session"], gates["passed"]) == \
        ("quality.checked", "2024-03-04", "2024-03-05", False)
    assert sorted((f["gate"], f["symbol"], f["session_date"]) for f in gates["failures"]) == \
        [("daily_move", "XLK", "2024-03-05"), ("missing", "XLF", "2024-03-05")]
