"""Append 100,000 events in batches and verify them, on SQLite in a temporary folder.

Targets (issue 2): append >= 20,000 events/s in batches, verify >= 100,000 events/s.
Two event mixes: annotations (no projection) and fills (each with a projection row).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from trackrecord.ledger import events as kinds
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.operations import stored_tables
from trackrecord.ledger.store import SqlLedger
from trackrecord.ledger.verify import verify_events

TOTAL = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
BATCH = 1_000
MOMENT = datetime(2026, 3, 2, 16, 35, tzinfo=timezone.utc)


def annotation(i: int) -> tuple[str, dict[str, object]]:
    return kinds.ANNOTATION_ADDED, {"text": f"note {i}", "n": i}


def fill(i: int) -> tuple[str, dict[str, object]]:
    return kinds.FILL_RECORDED, {
        "exec_id": f"0000e0d5.{i:08x}.01.01", "account_id": "U1234567", "order_ref": f"tr-{i}", "symbol": "SXLK",
        "side": "BUY", "quantity": Decimal(10 + i % 90), "price": Decimal("101.25"), "currency": "GBP",
        "executed_at": MOMENT, "commission": Decimal("3"), "commission_currency": "GBP", "simulated": False,
    }


def run(name: str, make) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate(engine)
        ledger = SqlLedger(engine, Path(folder) / "bench.lock")
        started = time.perf_counter()
        for start in range(0, TOTAL, BATCH):
            ledger.append_many([make(i) for i in range(start, min(start + BATCH, TOTAL))])
        append_seconds = time.perf_counter() - started
        started = time.perf_counter()
        result = verify_events(ledger.events(), stored_tables(engine))
        verify_seconds = time.perf_counter() - started
        assert result.ok and result.events == TOTAL, result.problems[:3]
        print(f"{name:<12} append {TOTAL:,} events in batches of {BATCH:,}: {append_seconds:6.2f} s "
              f"= {TOTAL / append_seconds:>9,.0f} events/s (target >= 20,000)")
        print(f"{name:<12} verify {TOTAL:,} events (chain + projections): {verify_seconds:6.2f} s "
              f"= {TOTAL / verify_seconds:>9,.0f} events/s (target >= 100,000)")
        engine.dispose()


if __name__ == "__main__":
    run("annotations", annotation)
    run("fills", fill)
