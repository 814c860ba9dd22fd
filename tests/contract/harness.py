"""What the broker contract needs from each implementation's test set-up.

A harness drives one broker and the market behind it: for the simulated broker a price
tape and its simulated clock (``sim_harness.py``); for the IBKR adapter the fake TWS over
TCP, scripted to print the same prices (``ibkr_harness.py``). Contract tests speak only to the harness and the ``Broker`` port.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Mapping, Protocol

from trackrecord.brokers.base import Broker


class BrokerHarness(Protocol):
    base_currency: str
    commission_minimum: Decimal
    max_slippage_bps: Decimal  # how far a fill may move from the printed price, against the order
    expects_paper: bool

    @property
    def broker(self) -> Broker: ...

    @property
    def now(self) -> datetime:
        """The market's current time (what an order placed now is stamped with)."""
        ...

    def deposit(self, amount: Decimal) -> None: ...

    def quote(self, symbol: str, price: Decimal) -> None:
        """A new price prints a moment later; the broker sees it (market orders fill)."""
        ...

    def close_session(self, closes: Mapping[str, Decimal]) -> None:
        """Today's closing auction prints ``closes``; the next session begins."""
        ...

    def restart(self) -> Broker:
        """A fresh broker object on the same account and storage (a process restart)."""
        ...
