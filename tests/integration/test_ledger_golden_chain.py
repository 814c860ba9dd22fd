"""Golden chains: the hashes of ledgers written through the store and the command line,
pinned as constants, so that any change of the bytes that are hashed (canonical JSON, the
envelope, the chain) fails here, whatever the speed work on the append path does.

A ledger's hashes are a function of its recorded_at stamps and its signing key too; the
store's clock is fixed here, and through the command line (whose clock is the wall clock)
the payload texts are pinned with the few values that are the key's or the clock's masked.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from trackrecord.domain.enums import Mode, Side, TradingState
from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import GENESIS_HASH, event_hash
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.operations import stored_tables
from trackrecord.ledger.signing import signed_checkpoint
from trackrecord.ledger.store import SqlLedger
from trackrecord.ledger.verify import verify_events

START = datetime(2026, 3, 2, 21, 5, 0, 123456, tzinfo=timezone.utc)


def _stepping_clock():  # type: ignore[no-untyped-def]
    """A fixed clock that moves on by a millisecond at every read (each transaction's stamp differs)."""
    reads = [0]

    def now() -> datetime:
        reads[0] += 1
        return START + timedelta(milliseconds=reads[0])

    return now


def _positions(day: date, scale: int) -> list[dict[str, object]]:
    return [{"symbol": symbol, "quantity": Decimal(quantity * scale), "avg_cost": Decimal(cost),
             "market_price": Decimal(price), "market_value": Decimal(quantity * scale) * Decimal(price),
             "currency": "USD", "price_date": day}
            for symbol, quantity, cost, price in (("XLK", 120, "101.2500", "103.75"), ("XLF", 300, "33.10", "32.985"),
                                                  ("XLE", 77, "88.123456789", "90"))]


def _session(day: date, seq_hint: int) -> list[tuple[str, dict[str, object]]]:
    close = datetime(day.year, day.month, day.day, 21, 0, tzinfo=timezone.utc)
    return [
        (kinds.PRICES_UPDATED, {"fetched_at": close, "first": day, "last": day, "replaced": [], "rows": 3,
                                "rows_per_symbol": 1, "sha256": hashlib.sha256(str(day).encode()).hexdigest(),
                                "simulated": True, "source": "csv", "symbols": ("XLK", "XLF", "XLE")}),
        (kinds.QUALITY_CHECKED, {"calendar": "XNYS", "failures": [], "gates": ["missing", "bad_price"],
                                 "max_daily_move": Decimal("0.25"), "passed": True, "purpose": "daily",
                                 "session": day, "symbols": ["XLK", "XLF", "XLE"]}),
        (kinds.SNAPSHOT_RECORDED, {"account_id": "SIM0001", "base_currency": "USD", "cash": Decimal("-0.00"),
                                   "is_paper": True, "nav": Decimal("1E+5") + seq_hint, "positions": _positions(day, 1 + seq_hint % 2),
                                   "session_date": day, "simulated": True, "source": "paper", "taken_at": close}),
    ]


def _rebalance(day: date) -> list[list[tuple[str, dict[str, object]]]]:
    plan_id = f"tr-SIM0001-{day:%Y%m%d}"
    ref = f"{plan_id}-XLK-B"
    decided = datetime(day.year, day.month, day.day, 20, 30, tzinfo=timezone.utc)
    return [
        [(kinds.PLAN_CREATED, {"plan_id": plan_id, "mode": Mode.PAPER, "execution": True, "nav": Decimal("100000.0"),
                               "lines": [{"symbol": "XLK", "quantity": Decimal("10"), "weight": Decimal("0.333333")}]}),
         (kinds.RISK_DECIDED, {"plan_id": plan_id, "mode": "paper", "approved": True, "decided_at": decided,
                               "results": [{"rule": "max_turnover", "passed": True, "details": {"limit": Decimal("1")}}]})],
        [(kinds.ORDER_SUBMITTED, {"order_ref": ref, "plan_id": plan_id, "mode": Mode.PAPER, "symbol": "XLK",
                                  "side": Side.BUY, "quantity": Decimal("10"), "order_type": "MOC",
                                  "intended_price": Decimal("103.7500"), "currency": "USD", "status": "pending_submit",
                                  "broker_order_id": None, "message": "", "limit_price": None})],
        [(kinds.ORDER_STATUS, {"order_ref": ref, "status": "submitted", "broker_order_id": "7", "message": ""}),
         (kinds.FILL_RECORDED, {"exec_id": "SIM-7-1", "account_id": "SIM0001", "order_ref": ref, "symbol": "XLK",
                                "side": Side.BUY, "quantity": Decimal("10"), "price": Decimal("103.80"),
                                "currency": "USD", "executed_at": decided + timedelta(minutes=30),
                                "commission": Decimal("1.0375"), "commission_currency": "USD",
                                "intended_price": Decimal("103.75"), "order_type": "MOC", "supersedes": None,
                                "simulated": True}),
         (kinds.ORDER_STATUS, {"order_ref": ref, "status": "filled", "broker_order_id": "7", "message": "",
                               "filled_quantity": Decimal("10"), "average_fill_price": Decimal("103.80")}),
         (kinds.COMMISSION_RECORDED, {"exec_id": "SIM-7-1", "commission": Decimal("1.04"), "currency": "USD"})],
    ]


def golden_sequence() -> list[list[tuple[str, dict[str, object]]]]:
    """Transactions of (kind, payload): every projected kind, batches of one and of many."""
    day = date(2026, 3, 2)
    transactions: list[list[tuple[str, dict[str, object]]]] = [
        [(kinds.CASHFLOW_RECORDED, {"flow_date": day, "amount": Decimal("100000.00"), "currency": "USD",
                                    "note": "initial — déposit", "source": "cli"})],
        [(kinds.IMPORT_RECORDED, {"content_hash": "ab" * 32, "kind": "prices", "source": "XLK.csv", "rows": 250})],
    ]
    sessions: list[tuple[str, dict[str, object]]] = []
    for offset in range(12):
        sessions.extend(_session(day + timedelta(days=offset), offset))
    transactions.append(sessions[:1])
    transactions.append(sessions[1:20])
    transactions.extend(_rebalance(day + timedelta(days=12)))
    transactions.append(sessions[20:])
    transactions.append([
        (kinds.CASHFLOW_RECORDED, {"flow_date": day + timedelta(days=13), "amount": Decimal("-2500"), "currency": "USD",
                                   "note": "", "source": "cli"}),
        (kinds.CASHFLOW_VOIDED, {"seq": 1, "reason": "typed twice"}),
        (kinds.KILL_SWITCH_CHANGED, {"state": TradingState.HALTED, "previous": "ACTIVE", "reason": "test"}),
        (kinds.ANNOTATION_ADDED, {"text": "📈 ok", "tags": (), "empty": {}}),
    ])
    return transactions


def fixed_key(folder: Path) -> Path:
    """An Ed25519 key from fixed bytes (its signatures are deterministic), as a PEM file."""
    import base64

    from trackrecord.ledger.signing import _PEM_BEGIN, _PEM_END, _PKCS8_ED25519_PREFIX

    body = base64.b64encode(_PKCS8_ED25519_PREFIX + bytes(range(32))).decode("ascii")
    path = folder / "fixed.pem"
    path.write_text(f"{_PEM_BEGIN}\n{body}\n{_PEM_END}\n", encoding="ascii")
    return path


GOLDEN_EVENTS = 50
GOLDEN_HEAD = "2a7a228d9d07cba625adc2c57143c27617b21d1410895aea7fa7e4312ee6fdcf"
GOLDEN_ALL_HASHES = "5017a9995201bde0da9a58ed43400dfb72f7e59bbe01f0ecb7a5a3aa635726c8"  # sha256 of "seq hash" lines of the whole chain


def _digest_of(chain: list[tuple[int, str]]) -> str:
    return hashlib.sha256("\n".join(f"{seq} {digest}" for seq, digest in chain).encode()).hexdigest()


def test_chain_hashes_of_a_store_written_ledger_are_pinned(database_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(database_url)
    migrate(engine)
    lock = tmp_path / "ledger.lock" if database_url.startswith("sqlite") else None
    ledger = SqlLedger(engine, lock, clock=_stepping_clock())
    try:
        for items in golden_sequence():
            ledger.append_many(items)
        ledger.append(kinds.CHECKPOINT_SIGNED, signed_checkpoint(fixed_key(tmp_path), *ledger.head()))
        chain = [(event.seq, event.hash) for event in ledger.events()]
        assert (len(chain), chain[-1][1], _digest_of(chain)) == (GOLDEN_EVENTS, GOLDEN_HEAD, GOLDEN_ALL_HASHES)
        assert ledger.head() == chain[-1]
        result = verify_events(ledger.events(), stored_tables(engine))
        assert result.ok, result.problems[:3]
    finally:
        ledger.close()
        engine.dispose()


def test_one_writer_many_appends_give_the_same_chain_as_one_batch_each(tmp_path: Path) -> None:
    """The chain depends on the events and their stamps alone, not on how they were batched."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'one.db'}")
    migrate(engine)
    moment = START
    ledger = SqlLedger(engine, tmp_path / "one.lock", clock=lambda: moment)
    try:
        with ledger.writer() as writer:
            for items in golden_sequence():
                for kind, payload in items:
                    writer.append(kind, payload)
        one_by_one = [(e.seq, e.hash) for e in ledger.events()]
    finally:
        ledger.close()
        engine.dispose()
    engine = create_db_engine(f"sqlite:///{tmp_path / 'batched.db'}")
    migrate(engine)
    ledger = SqlLedger(engine, tmp_path / "batched.lock", clock=lambda: moment)
    try:
        ledger.append_many([item for items in golden_sequence() for item in items])
        assert [(e.seq, e.hash) for e in ledger.events()] == one_by_one
    finally:
        ledger.close()
        engine.dispose()


# --- through the command line: a one-year backtest on the real prices -------------------

# A backtest records its bars and daily gates once a month (engine.daily.HeldSessions): 425 events, 907 before.
# It funds its account on the session before the first rebalance (2019-12-31): 428, the three more being that
# session's snapshot (all cash, the record's base), its bars and its daily gate.
BACKTEST_EVENTS = 428
BACKTEST_PAYLOADS = "3cfb1e3a57547104531f84f8fa34665657da3c1eae289a4d661201da1219bc7d"  # sha256 of the "kind payload" lines, key- and clock-dependent values masked
BACKTEST_RECHAINED_HEAD = "518496073a16931ca4070d15ac82c95218935ef3903661f5ea5a89da2d55c7b9"  # the chain of those lines with one fixed recorded_at
_KEY_OR_CLOCK = re.compile(r'"(public_key|signature|head_hash)":"[^"]*"')
_HISTORY_FETCHED_AT = re.compile(r'"fetched_at":"[^"]*"(?=.*"purpose":"history")')
_CHECKOUT_PATH = re.compile(r'"location":"[^"]*"')  # the prices folder as typed: where the checkout sits, not what was written


def _masked(kind: str, payload: str) -> str:
    payload = _CHECKOUT_PATH.sub('"location":"?"', _KEY_OR_CLOCK.sub(r'"\1":"?"', payload))
    return _HISTORY_FETCHED_AT.sub('"fetched_at":"?"', payload)


def test_payload_bytes_of_a_backtest_written_through_the_cli_are_pinned(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                        shared_data: Path) -> None:
    home, out = tmp_path / "ws", tmp_path / "bt"
    assert cli("init", home, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    result = cli("--home", home, "backtest", "--from", "2020-01-01", "--to", "2020-12-31",
                 "--prices-dir", shared_data / "prices", "--out", out)
    assert result.code == 0, result
    assert cli("--home", out, "verify").code == 0
    connection = sqlite3.connect(out / "trackrecord.db")
    try:
        rows = connection.execute("SELECT seq, kind, payload FROM events ORDER BY seq").fetchall()
    finally:
        connection.close()
    lines = [f"{kind} {_masked(kind, payload)}" for _, kind, payload in rows]
    head = GENESIS_HASH
    for seq, kind, payload in rows:
        head = event_hash(head, seq, "2020-12-31T21:00:00Z", kind, _masked(kind, payload))
    assert (len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest(), head) == \
        (BACKTEST_EVENTS, BACKTEST_PAYLOADS, BACKTEST_RECHAINED_HEAD)
