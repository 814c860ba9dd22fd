"""The close of day's bookkeeping against the simulated broker: a pull records each
execution once, whether it runs in the transaction that recorded the fills (a backtest's
month: answered without a query) or in a later one (asked of the ledger)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from trackrecord.brokers.sim import PriceTape, SimulatedBroker
from trackrecord.domain import OrderRequest, OrderType, Side
from trackrecord.engine.account import pull_executions
from trackrecord.ledger.db import create_db_engine, migrate
from trackrecord.ledger.store import SqlLedger

DAY = date(2024, 3, 4)
OPEN = datetime(2024, 3, 4, 14, 30, tzinfo=timezone.utc)
CLOSE = datetime(2024, 3, 4, 21, 0, tzinfo=timezone.utc)
SINCE = datetime(2024, 3, 1, tzinfo=timezone.utc)


def fills_recorded(ledger: SqlLedger) -> list[str]:
    import json

    return [json.loads(e.payload)["exec_id"] for e in ledger.events("fill.recorded")]


def test_a_pull_records_each_execution_once_in_the_transaction_that_recorded_it_and_after(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'book.db'}", durable=False)
    migrate(engine)
    ledger = SqlLedger(engine, tmp_path / "ledger.lock", clock=lambda: CLOSE)
    tape = PriceTape()
    broker = SimulatedBroker(engine, tape, account_id="SIM1", base_currency="USD")
    open_writer: list = []  # type: ignore[type-arg]
    broker.join_transaction(lambda: open_writer[0].conn.connection.driver_connection if open_writer else None)

    def trade(ref: str, day: int) -> None:
        broker.advance_to(OPEN + timedelta(days=day))
        broker.place_order(OrderRequest(ref, "plan", "XLK", Side.BUY, Decimal(10), OrderType.MARKET_ON_CLOSE,
                                        Decimal(100), "USD"))
        tape.record_close("XLK", DAY + timedelta(days=day), CLOSE + timedelta(days=day), Decimal(100 + day))
        broker.on_session_close(DAY + timedelta(days=day), CLOSE + timedelta(days=day))

    try:
        broker.deposit(Decimal(10_000), OPEN - timedelta(hours=1))
        with ledger.writer() as writer:
            open_writer.append(writer)
            trade("R1", 0)
            assert pull_executions(writer, broker, SINCE, True).new_fills == 1
            again = pull_executions(writer, broker, SINCE, True)
            assert (again.new_fills, again.repeated) == (0, 1)
            trade("R2", 1)  # a new execution in the same transaction is still recorded
            third = pull_executions(writer, broker, SINCE, True)
            assert (third.new_fills, third.repeated) == (1, 1)
            open_writer.clear()
        with ledger.writer() as writer:  # a later transaction asks the ledger
            later = pull_executions(writer, broker, SINCE, True)
            assert (later.new_fills, later.repeated) == (0, 2)
        assert fills_recorded(ledger) == ["SIM-1-1", "SIM-2-1"]
    finally:
        broker.close()
        ledger.close()
        engine.dispose()
