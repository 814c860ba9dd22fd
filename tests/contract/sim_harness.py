"""The contract harness for SimulatedBroker: a database (a SQLite file unless a URL is
given), a price tape, a clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Mapping

from trackrecord.brokers.sim import CommissionModel, PriceTape, SimulatedBroker, SlippageModel

START = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)


class SimHarness:
    base_currency = "GBP"
    commission_minimum = Decimal(3)
    max_slippage_bps = Decimal(4)  # 2 bps mean, uniform in [0, 4]
    expects_paper = True

    def __init__(self, directory: Path, seed: int = 1, slippage_bps: Decimal = Decimal(2),
                 url: str | None = None) -> None:
        from trackrecord.ledger.db import create_db_engine, migrate

        self.engine = create_db_engine(url or f"sqlite:///{directory / 'sim.db'}")
        migrate(self.engine)
        self.tape = PriceTape()
        self.seed, self.slippage_bps = seed, slippage_bps
        self.now = START
        self.broker = self._build()
        self.broker.advance_to(self.now)

    def _build(self) -> SimulatedBroker:
        return SimulatedBroker(self.engine, self.tape, account_id="SIM0001", base_currency="GBP",
                               commission=CommissionModel(Decimal("0.0005"), Decimal(3)),
                               slippage=SlippageModel(self.slippage_bps, self.seed))

    def deposit(self, amount: Decimal) -> None:
        self.broker.deposit(amount, self.now, "contract test")

    def quote(self, symbol: str, price: Decimal) -> None:
        self.now += timedelta(minutes=1)
        self.tape.record(symbol, self.now, price)
        self.broker.advance_to(self.now)

    def close_session(self, closes: Mapping[str, Decimal]) -> None:
        close_at = self.now.replace(hour=16, minute=35, second=0, microsecond=0)
        close_at = max(close_at, self.now + timedelta(minutes=1))
        for symbol, price in closes.items():
            self.tape.record_close(symbol, close_at.date(), close_at, price)
        self.broker.on_session_close(close_at.date(), close_at)
        self.now = (close_at + timedelta(days=1)).replace(hour=9, minute=0)
        self.broker.advance_to(self.now)

    def restart(self) -> SimulatedBroker:
        self.broker = self._build()
        return self.broker

    def close(self) -> None:
        self.broker.close()
        self.engine.dispose()
