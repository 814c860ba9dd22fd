"""Commission and slippage of the simulated broker: exact decimals, deterministic."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from trackrecord.domain import Side

PENNY = Decimal("0.01")
PRICE_STEP = Decimal("0.0001")
_BPS = Decimal(10_000)
_TWO_64 = Decimal(2**64)


@dataclass(frozen=True, slots=True)
class CommissionModel:
    """A percentage of trade value with a minimum per order, in base currency.

    The default is close to IBKR's UK fixed pricing for LSE ETFs: 0.05% of value,
    minimum £3 per order. Rounded to the penny.
    """

    rate: Decimal = Decimal("0.0005")
    minimum: Decimal = Decimal(3)

    def commission(self, value: Decimal) -> Decimal:
        return max(abs(value) * self.rate, self.minimum).quantize(PENNY, ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """Every fill moves against the order by a seeded draw uniform in [0, 2·bps] basis
    points (mean ``bps``). The draw is a hash of (seed, key), not a stateful generator,
    so a restarted broker draws exactly what an uninterrupted one would."""

    bps: Decimal = Decimal(2)
    seed: int = 1

    def fraction(self, key: str) -> Decimal:
        if not self.bps:
            return Decimal(0)
        digest = hashlib.sha256(f"{self.seed}:{key}".encode("utf-8")).digest()
        uniform = Decimal(int.from_bytes(digest[:8], "big")) / _TWO_64
        return 2 * self.bps * uniform / _BPS

    def fill_price(self, price: Decimal, side: Side, key: str) -> Decimal:
        moved = price * (1 + side.sign * self.fraction(key))
        return moved.quantize(PRICE_STEP, ROUND_HALF_EVEN)
