"""Prices as the engine decides on them: exact decimals, not floats."""

from __future__ import annotations

from decimal import Decimal

PRICE_STEP = Decimal("0.0001")


def decision_price(close: float) -> Decimal:
    """A stored close as an exact price: float noise beyond 1/10,000 of a unit dropped."""
    return Decimal(repr(close)).quantize(PRICE_STEP)
