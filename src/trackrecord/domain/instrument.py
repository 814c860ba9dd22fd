"""Tradable instruments: what the strategy ranks and the broker trades."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class IbContract:
    symbol: str
    exchange: str
    currency: str
    sec_type: str = "STK"
    primary_exchange: str | None = None
    con_id: int | None = None


@dataclass(frozen=True, slots=True)
class Instrument:
    """An instrument states its currency and the unit its quotes come in.

    ``price_unit`` is the currency code of quotes (``GBX`` means pence for a GBP
    instrument); prices are converted to ``currency`` on the way in, never later.
    """

    symbol: str
    data_symbol: str
    sector: str
    currency: str
    price_unit: str
    calendar: str
    ib: IbContract

    @property
    def quote_divisor(self) -> Decimal:
        """What a quote is divided by to be in ``currency`` (100 for pence)."""
        return Decimal(100) if self.price_unit.upper() in ("GBX", "GBP_PENCE", "GBPENCE") else Decimal(1)
