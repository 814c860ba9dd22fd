"""A seeded synthetic market for demos and tests. Everything it produces is SIMULATED.

Daily log returns are ``beta * market + sector factor + idiosyncratic + drift``:

- a market factor (about 14% a year, 7% a year premium) with per-symbol betas 0.7..1.3,
- one factor per sector name (instruments in the same sector move together),
- total volatility per symbol drawn in 15%..30% a year,
- a persistent drift per symbol (AR(1), half-life about 4 months, spread about 15% a
  year) so that winners keep winning for a while and then turn: momentum regimes.

Series start at 100 on the first session. A path is a pure function of the seed, the
symbol, its sector and the session list, and a longer session list extends a shorter one
without changing it (incremental updates are consistent).
"""

from __future__ import annotations

import zlib
from datetime import date, timedelta
from typing import Mapping, Sequence

import numpy as np

from trackrecord.domain import Instrument
from trackrecord.market.base import PriceRow

SOURCE = "synthetic"
TRADING_DAYS = 252
MARKET_VOL = 0.14
SECTOR_VOL = 0.06
DRIFT_SPREAD = 0.15
DRIFT_HALF_LIFE = 84
EQUITY_PREMIUM = 0.07


def _rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *(zlib.crc32(k.encode()) for k in keys)]))


def generate_synthetic_history(
    instruments: Sequence[Instrument | str], sessions: Sequence[date] | np.ndarray, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """symbol -> (dates datetime64[D], closes float64 in the instrument's currency), SIMULATED."""
    dates = np.asarray(sessions, dtype="datetime64[D]")
    n = dates.size
    daily = 1.0 / np.sqrt(TRADING_DAYS)
    market = _rng(seed, "market").standard_normal(n) * MARKET_VOL * daily
    phi = 0.5 ** (1.0 / DRIFT_HALF_LIFE)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for item in instruments:
        symbol = item if isinstance(item, str) else item.symbol
        sector = symbol if isinstance(item, str) else item.sector
        rng = _rng(seed, "symbol", symbol)
        beta, vol = rng.uniform(0.7, 1.3), rng.uniform(0.15, 0.30)
        idio_vol = np.sqrt(max(vol**2 - (beta * MARKET_VOL) ** 2 - SECTOR_VOL**2, 0.05**2))
        sector_moves = _rng(seed, "sector", sector).standard_normal(n) * SECTOR_VOL * daily
        noise = rng.standard_normal((n, 2))
        drift = _ar1(noise[:, 1] * DRIFT_SPREAD * np.sqrt(1 - phi**2), phi) / TRADING_DAYS
        returns = beta * market + sector_moves + noise[:, 0] * idio_vol * daily + drift + EQUITY_PREMIUM / TRADING_DAYS
        returns -= 0.5 * (vol * daily) ** 2
        if n:
            returns[0] = 0.0
        out[symbol] = (dates.copy(), 100.0 * np.exp(np.cumsum(returns)))
    return out


def _ar1(innovations: np.ndarray, phi: float) -> np.ndarray:
    level = np.empty_like(innovations)
    current = 0.0
    for index, shock in enumerate(innovations):
        current = phi * current + shock
        level[index] = current
    return level


class SyntheticSource:
    """A PriceSource producing the synthetic market over the given sessions; provenance ``synthetic``."""

    name = SOURCE
    simulated = True
    close_settles = timedelta(0)

    def __init__(self, seed: int, sessions: np.ndarray) -> None:
        self.seed = seed
        self.sessions = np.asarray(sessions, dtype="datetime64[D]")

    def fetch(self, instruments: Sequence[Instrument], start: Mapping[str, date], end: date) -> list[PriceRow]:
        sessions = self.sessions[self.sessions <= np.datetime64(end, "D")]
        history = generate_synthetic_history(instruments, sessions, self.seed)
        rows: list[PriceRow] = []
        for instrument in instruments:
            dates, closes = history[instrument.symbol]
            keep = dates >= np.datetime64(start.get(instrument.symbol, date.min), "D")
            rows += [PriceRow(instrument.symbol, d, float(c), float(c))
                     for d, c in zip(dates[keep].tolist(), closes[keep])]
        return rows
