"""An account's fills and snapshots as the ledger's read side hands them to a comparison
with the broker's own records (``trackrecord.reconcile``): plain values, no SQL here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Mapping

from trackrecord.domain import Side


@dataclass(frozen=True, slots=True)
class LedgerFill:
    exec_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    currency: str
    commission: Decimal | None  # None: not reported yet
    order_ref: str
    executed_on: date


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    session_date: date
    nav: Decimal
    positions: Mapping[str, Decimal]
