"""The ledger's append path against its floor: the same rows written with bare ``sqlite3``.

Appends N representative events (an account snapshot with 3 positions, a prices.updated,
a fill: the three kinds a replay writes most) through ``SqlLedger``

- one event per transaction (``ledger.append``: lock, BEGIN IMMEDIATE, head read, commit);
- 64 per transaction (``writer.append`` of each inside one ``ledger.writer()``, as a replay's batch);

and the peer: the same payload texts, the same hash computation, the same event and
projection rows inserted with the standard library's ``sqlite3`` in one transaction.
Prints events/s of each (CPU time of this process: the machine may be busy) and the
ratio to the peer. SQLite as a backtest opens it
(``durable=False``: ``synchronous=OFF``); ``--durable`` for ``synchronous=FULL`` (every live
and paper ledger), where the one-per-transaction figure is the disk's fsync.

    python benchmarks/bench_ledger_append.py [N] [--durable]
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import canonical_json
from trackrecord.ledger.chain import GENESIS_HASH
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.projections import positions_text
from trackrecord.ledger.store import SqlLedger

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
TOTAL = int(ARGS[0]) if ARGS else 30_000
DURABLE = "--durable" in sys.argv
BATCH = 64
START = date(2001, 7, 2)
SYMBOLS = ("XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")
Item = tuple[str, dict[str, Any]]


def _close(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 21, 0, tzinfo=timezone.utc)


def snapshot(i: int, day: date) -> Item:
    positions = [{"symbol": symbol, "quantity": Decimal(100 + i % 50), "avg_cost": Decimal("101.2534"),
                  "market_price": Decimal("103.75") + Decimal(i % 7), "market_value": Decimal(100 + i % 50) * Decimal("103.75"),
                  "currency": "USD", "price_date": day} for symbol in SYMBOLS[i % 3:i % 3 + 3]]
    return kinds.SNAPSHOT_RECORDED, {
        "account_id": "SIM0001", "base_currency": "USD", "cash": Decimal("573.6896"), "is_paper": True,
        "nav": Decimal("166415.5624") + i, "positions": positions, "session_date": day, "simulated": True,
        "source": "paper", "taken_at": _close(day)}


def prices(i: int, day: date) -> Item:
    return kinds.PRICES_UPDATED, {
        "fetched_at": _close(day), "first": day, "last": day, "replaced": [], "rows": 9, "rows_per_symbol": 1,
        "sha256": hashlib.sha256(str(i).encode()).hexdigest(), "simulated": True, "source": "csv",
        "symbols": list(SYMBOLS)}


def fill(i: int, day: date) -> Item:
    return kinds.FILL_RECORDED, {
        "account_id": "SIM0001", "commission": Decimal("1.0375"), "commission_currency": "USD", "currency": "USD",
        "exec_id": f"SIM-{i}-1", "executed_at": _close(day), "intended_price": Decimal("377.2430"),
        "order_ref": f"tr-SIM0001-{day:%Y%m%d}-XLP-B-{i}", "order_type": "MOC", "price": Decimal("383.1977"),
        "quantity": Decimal("11"), "side": "BUY", "simulated": True, "supersedes": None, "symbol": "XLP"}


def representative(total: int) -> list[Item]:
    makers: tuple[Callable[[int, date], Item], ...] = (prices, snapshot, fill)
    return [makers[i % 3](i, START + timedelta(days=i // 3)) for i in range(total)]


def _ledger(folder: Path) -> SqlLedger:
    engine = create_db_engine(f"sqlite:///{folder / 'bench.db'}", durable=DURABLE)
    migrate(engine)
    return SqlLedger(engine, folder / "bench.lock")


def one_per_transaction(items: list[Item], folder: Path) -> float:
    ledger = _ledger(folder)
    started = time.process_time()
    for kind, payload in items:
        ledger.append(kind, payload)
    seconds = time.process_time() - started
    assert ledger.head()[0] == len(items)
    ledger.close()
    ledger.engine.dispose()
    return seconds


def batched(items: list[Item], folder: Path) -> float:
    ledger = _ledger(folder)
    started = time.process_time()
    for start in range(0, len(items), BATCH):
        with ledger.writer() as writer:
            for kind, payload in items[start:start + BATCH]:
                writer.append(kind, payload)
    seconds = time.process_time() - started
    assert ledger.head()[0] == len(items)
    ledger.close()
    ledger.engine.dispose()
    return seconds


def stdlib_peer(items: list[Item], folder: Path) -> float:
    """The floor: payload texts made beforehand, then hashing and the same inserts (events,
    snapshots upserted, fills inserted) in one transaction on a bare sqlite3 connection."""
    engine = create_db_engine(f"sqlite:///{folder / 'peer.db'}", durable=DURABLE)
    migrate(engine)
    engine.dispose()
    texts = [(kind, canonical_json(payload), payload) for kind, payload in items]
    stamp = "2026-03-02T21:05:00.123456Z"
    conn = sqlite3.connect(folder / "peer.db", isolation_level=None)
    conn.execute(f"PRAGMA synchronous={'FULL' if DURABLE else 'OFF'}")
    started = time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    prev, rows, snapshots, fills = GENESIS_HASH, [], [], []
    for seq, (kind, text, payload) in enumerate(texts, start=1):
        envelope = f'[{seq},"{stamp}","{kind}",{text}]'
        digest = hashlib.sha256(prev.encode("ascii") + envelope.encode("utf-8")).hexdigest()
        rows.append((seq, stamp, kind, text, prev, digest))
        prev = digest
        if kind == kinds.SNAPSHOT_RECORDED:
            snapshots.append((payload["account_id"], str(payload["session_date"]), seq, stamp, "USD",
                              str(payload["nav"]), str(payload["cash"]), 1, 1, positions_text([])))
        elif kind == kinds.FILL_RECORDED:
            fills.append((payload["exec_id"], seq, "SIM0001", payload["order_ref"], "XLP", "BUY", "11", "383.1977",
                          "USD", stamp, "1.0375", "USD", "377.243", "MOC", None, None, 1))
    conn.executemany("INSERT INTO events (seq, recorded_at, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO snapshots (account_id, session_date, seq, taken_at, base_currency, nav, cash, is_paper, "
                     "simulated, positions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, session_date) "
                     "DO UPDATE SET seq = excluded.seq", snapshots)
    conn.executemany("INSERT INTO fills (exec_id, seq, account_id, order_ref, symbol, side, quantity, price, currency, "
                     "executed_at, commission, commission_currency, intended_price, order_type, supersedes, superseded_by, "
                     "simulated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", fills)
    conn.execute("COMMIT")
    seconds = time.process_time() - started
    conn.close()
    return seconds


def main() -> None:
    items = representative(TOTAL)
    results = {}
    for name, run in (("stdlib sqlite3, one transaction", stdlib_peer),
                      (f"SqlLedger, {BATCH} per transaction", batched),
                      ("SqlLedger, one per transaction", one_per_transaction)):
        with tempfile.TemporaryDirectory() as folder:
            results[name] = run(items, Path(folder))
    peer = results["stdlib sqlite3, one transaction"]
    print(f"{TOTAL:,} events (snapshot with 3 positions, prices.updated, fill), SQLite synchronous="
          f"{'FULL' if DURABLE else 'OFF'}")
    for name, seconds in results.items():
        print(f"  {name:<36} {seconds:6.2f} s CPU = {TOTAL / seconds:>9,.0f} events/s  ({seconds / peer:5.1f}x the stdlib peer)")


if __name__ == "__main__":
    main()
