#!/usr/bin/env python
"""Manual smoke test against a real IB *paper* account. Never run in CI.

What it answers, for every instrument in trackrecord.yaml (see docs/ib-paper-smoke.md):
  1. which LSE lines IB lists for the symbol (GBP, USD, ...), with conId and primary exchange;
  2. the price unit IB quotes the configured line in (pence or pounds), from a market-data
     snapshot next to the configured ``price_unit``;
  3. whether IB accepts MOC orders for the line (ContractDetails.orderTypes);
and, with ``--round-trip SYMBOL``, buys then sells one share at market through IbkrBroker
and prints both executions with their commission (waiting for late commission reports).

Usage:
  python scripts/ib_paper_smoke.py --config trackrecord.yaml [--port 7497] [--client-id 99]
                                   [--round-trip SXLK]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from trackrecord.config import load_settings
from trackrecord.domain import Instrument, OrderRequest, OrderType, Side


def main() -> int:
    args = parse_args()
    settings = load_settings(Path(args.config))
    instruments = settings.universe.domain_instruments()
    ib_settings = settings.broker.ibkr
    port = args.port or ib_settings.port
    print(f"Connecting to {ib_settings.host}:{port} as client {args.client_id}")
    survey_lines(ib_settings.host, port, args.client_id, instruments)
    if args.round_trip:
        round_trip(settings, port, args.client_id, instruments, args.round_trip)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="trackrecord.yaml")
    parser.add_argument("--port", type=int, default=None, help="TWS paper 7497, Gateway paper 4002")
    parser.add_argument("--client-id", type=int, default=99, help="a client id no other program uses")
    parser.add_argument("--round-trip", metavar="SYMBOL", help="buy then sell one share of SYMBOL")
    return parser.parse_args()


def survey_lines(host: str, port: int, client_id: int, instruments: list[Instrument]) -> None:
    from ib_async import IB, Stock

    ib = IB()
    ib.RaiseRequestErrors = True
    ib.RequestTimeout = 20
    ib.connect(host, port, clientId=client_id, timeout=10, readonly=True)
    try:
        ib.reqMarketDataType(3)  # delayed data is enough to tell pence from pounds
        for instrument in instruments:
            print(f"\n== {instrument.symbol}: configured {instrument.ib.currency} on "
                  f"{instrument.ib.primary_exchange}, quotes in {instrument.price_unit}")
            every_line = ib.reqContractDetails(Stock(instrument.ib.symbol, "SMART", ""))
            for details in every_line:
                c = details.contract
                moc = "MOC" in details.orderTypes.split(",")
                chosen = "  <- configured" if (c.currency, c.primaryExchange) == (
                    instrument.ib.currency, instrument.ib.primary_exchange) else ""
                print(f"   conId {c.conId:>10}  {c.currency}  {c.primaryExchange:<8} minTick {details.minTick} "
                      f"priceMagnifier {details.priceMagnifier}  MOC {'yes' if moc else 'NO'}  {details.longName}{chosen}")
            configured = Stock(instrument.ib.symbol, "SMART", instrument.ib.currency,
                               primaryExchange=instrument.ib.primary_exchange or "")
            [ticker] = ib.reqTickers(configured)
            price = ticker.last if ticker.last == ticker.last else ticker.close
            print(f"   IB price of the configured line: {price} {instrument.ib.currency} "
                  f"(IB's own unit; compare with a quote in {instrument.price_unit}: a 100x gap means pence)")
    finally:
        ib.disconnect()


def round_trip(settings, port: int, client_id: int, instruments: list[Instrument], symbol: str) -> None:
    from trackrecord.brokers.ibkr import IbkrBroker

    ib = settings.broker.ibkr
    broker = IbkrBroker(
        host=ib.host, port=port, client_id=client_id + 1, account_id=settings.account.account_id,
        base_currency=settings.account.base_currency, connect_timeout=ib.connect_timeout,
        request_timeout=ib.request_timeout, max_connect_attempts=ib.max_connect_attempts,
        read_only=False, instruments=instruments,
    )
    try:
        if not broker.is_paper:
            print(f"Refusing: account {broker.account_id} is not a paper account (DU...)")
            sys.exit(3)
        qualified = broker.qualify([i for i in instruments if i.symbol == symbol])
        instrument = qualified[symbol]
        print(f"\nRound trip of 1 {symbol} (conId {instrument.ib.con_id}) in {broker.account_id}")
        started = datetime.now(timezone.utc) - timedelta(seconds=5)
        stamp = started.strftime("%Y%m%dT%H%M%S")
        for side in (Side.BUY, Side.SELL):
            request = OrderRequest(
                order_ref=f"smoke-{stamp}-{side.value}", plan_id=f"smoke-{stamp}", symbol=symbol, side=side,
                quantity=Decimal(1), order_type=OrderType.MARKET, intended_price=Decimal(0),
                currency=instrument.currency,
            )
            print(f"   {side.value}: {broker.place_order(request)}")
            print(f"   final: {broker.wait_for_terminal([request.order_ref], ib.order_timeout)[0]}")
        for attempt in range(10):
            fills = broker.executions_since(started)
            if fills and all(f.commission is not None for f in fills):
                break
            print(f"   waiting for commission reports ({attempt + 1}/10) ...")
            time.sleep(3)
        for fill in fills:
            print(f"   fill {fill.exec_id}: {fill.side.value} {fill.quantity} @ {fill.price} {fill.currency} "
                  f"commission {fill.commission} {fill.commission_currency} at {fill.executed_at.isoformat()}")
        print(f"\nSnapshot: {broker.snapshot(datetime.now(timezone.utc))}")
    finally:
        broker.close()


if __name__ == "__main__":
    sys.exit(main())
