"""The contract harness for IbkrBroker: the fake TWS over TCP, with the real ib_async client.

The fake's market prints prices on demand (market orders wait for the next print, as the
simulated broker's do) and stamps executions with the harness's clock, so the contract's
time filters see the same instants as on the simulated broker.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Mapping

from tests.integration.fake_tws import ContractSpec, FakeTws, Scenario
from trackrecord.brokers.ibkr import IbkrBroker
from trackrecord.domain import IbContract, Instrument

START = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)
ACCOUNT = "DU7000001"


def _line(con_id: int, symbol: str) -> tuple[ContractSpec, Instrument]:
    spec = ContractSpec(con_id=con_id, symbol=symbol, exchange="SMART", primary_exchange="LSEETF", currency="GBP",
                        long_name=f"SPDR {symbol} UCITS ETF", price=Decimal(100), close_price=Decimal(100))
    instrument = Instrument(symbol=symbol, data_symbol=f"{symbol}.L", sector=symbol, currency="GBP", price_unit="GBP",
                            calendar="XLON", ib=IbContract(symbol=symbol, exchange="SMART", currency="GBP",
                                                           primary_exchange="LSEETF"))
    return spec, instrument


LINES = [_line(400_000_001, "SXLK"), _line(400_000_002, "SXLF")]


class IbkrHarness:
    base_currency = "GBP"
    commission_minimum = Decimal(3)  # the fake charges a flat 3.00 per execution
    max_slippage_bps = Decimal(0)  # the fake fills at the printed price
    expects_paper = True

    def __init__(self) -> None:
        self.now = START
        scenario = Scenario(accounts=(ACCOUNT,), cash={"GBP": Decimal(0)}, contracts=tuple(s for s, _ in LINES),
                            fill_on_print=True, clock=lambda: self.now)
        self.server = FakeTws(scenario).start()
        self.broker = self._build()

    def _build(self) -> IbkrBroker:
        broker = IbkrBroker(host=self.server.host, port=self.server.port, client_id=5, account_id=ACCOUNT,
                            connect_timeout=2.0, request_timeout=2.0, max_connect_attempts=2, backoff_seconds=0.01)
        broker.qualify([instrument for _, instrument in LINES])
        return broker

    def deposit(self, amount: Decimal) -> None:
        self.server.deposit(amount, "GBP")

    def quote(self, symbol: str, price: Decimal) -> None:
        self.now += timedelta(minutes=1)
        self.server.print_price(symbol, price)

    def close_session(self, closes: Mapping[str, Decimal]) -> None:
        close_at = max(self.now.replace(hour=16, minute=35, second=0, microsecond=0), self.now + timedelta(minutes=1))
        self.now = close_at
        for symbol, price in closes.items():
            self.server.set_close(symbol, price)
        self.server.close_auction()
        self.now = (close_at + timedelta(days=1)).replace(hour=9, minute=0)

    def restart(self) -> IbkrBroker:
        self.broker.close()
        self.broker = self._build()
        return self.broker

    def close(self) -> None:
        self.broker.close()
        self.server.stop()
