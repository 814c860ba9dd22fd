"""The 12-1 cross-sectional momentum signal: pure array work, no I/O, no clock.

For a rebalance in month M the formation window runs from the last session of month
``M - 1 - lookback_months`` to the last session of month ``M - 1 - skip_months``;
with 12 and 1 that is ``close(last session of M-2) / close(last session of M-13) - 1``
on adjusted closes (rebalance 2026-03-02: close of 2026-01-30 over close of 2025-02-28).
The result depends only on the month, never on the day it is computed, and reads no
price after the formation end (Jegadeesh & Titman 1993; Moskowitz & Grinblatt 1999).

A month counts once it is over: the data holds a later bar, or (``closed_session``) its
last bar is the close of the session just before the decision. The engine decides on the
first session of month M before its close, so month M-1 ended with yesterday's close and a
``skip_months`` 0 signal uses the month ends M-1-L .. M-1 (12-0 on 2026-03-02: close of
2026-02-27 over close of 2025-02-28).

Use :func:`prepare_month_ends` once per history and :func:`signal_for_month` per month;
:func:`compute_signal` does both for a single month.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Collection, Mapping

import numpy as np

History = tuple[np.ndarray, np.ndarray]
"""(session dates as datetime64[D], adjusted closes as float64), ascending, unique dates."""


class SignalError(ValueError):
    """No symbol can be ranked for the month asked (no history covers its formation window)."""


@dataclass(frozen=True, slots=True)
class SignalParams:
    lookback_months: int = 12
    skip_months: int = 1
    top_n: int = 3
    exit_rank: int = 5
    min_momentum: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.skip_months < self.lookback_months:
            raise ValueError("need 0 <= skip_months < lookback_months")
        if not 1 <= self.top_n <= self.exit_rank:
            raise ValueError("need 1 <= top_n <= exit_rank")

    def document(self) -> dict[str, object]:
        return {
            "lookback_months": self.lookback_months, "skip_months": self.skip_months, "top_n": self.top_n,
            "exit_rank": self.exit_rank,
            "min_momentum": None if self.min_momentum is None else repr(float(self.min_momentum)),
        }


@dataclass(frozen=True, slots=True)
class RankedSymbol:
    """One ranked symbol. ``momentum`` is a fraction (0.243 = +24.3%)."""

    rank: int
    symbol: str
    momentum: float
    start_date: date
    start_close: float
    end_date: date
    end_close: float
    held: bool
    target_weight: float
    reason: str


@dataclass(frozen=True, slots=True)
class Signal:
    """The ranking and target weights for the rebalance of one month.

    ``inputs_sha256`` is the SHA-256 of the exact price points used, one line
    ``SYMBOL,YYYY-MM-DD,repr(close)\\n`` per point, sorted by symbol then date.
    Weights not given to a symbol are cash (``cash_weight``).
    """

    month: date
    formation_start: date
    formation_end: date
    ranks: tuple[RankedSymbol, ...]
    excluded: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]
    params: SignalParams
    inputs_sha256: str

    @property
    def target_weights(self) -> dict[str, float]:
        return {r.symbol: r.target_weight for r in self.ranks if r.target_weight > 0}

    @property
    def cash_weight(self) -> float:
        return max(0.0, 1.0 - sum(self.target_weights.values()))

    def price_point_count(self) -> int:
        """``len(price_points())``: a start and an end close per ranked symbol."""
        return 2 * len(self.ranks)

    def price_points(self) -> list[tuple[str, date, float]]:
        points = [(r.symbol, r.start_date, r.start_close) for r in self.ranks]
        points += [(r.symbol, r.end_date, r.end_close) for r in self.ranks]
        return sorted(points)


@dataclass(frozen=True, slots=True)
class MonthEndTable:
    """Last close of every calendar month per symbol, computed once per history.

    ``closes[i, j]`` is the close of the last bar of month ``first_month + i`` for
    ``symbols[j]`` (NaN when the symbol has no bar that month); ``complete[i, j]`` says the
    symbol has a bar in a later month, so that month is over in the data.
    """

    symbols: tuple[str, ...]
    first_month: int
    closes: np.ndarray
    dates: np.ndarray
    complete: np.ndarray


def month_number(day: date | np.datetime64 | str) -> int:
    """Months since 1970-01 (the numpy datetime64[M] epoch)."""
    return int(np.datetime64(day, "M").astype(np.int64))


def month_start(number: int) -> date:
    return np.datetime64(number, "M").astype("datetime64[D]").item()


def prepare_month_ends(histories: Mapping[str, History]) -> MonthEndTable:
    """Index every history by calendar month; dates must be ascending and unique."""
    symbols = tuple(sorted(histories))
    per_symbol = []
    for symbol in symbols:
        dates, closes = histories[symbol]
        dates = np.asarray(dates, dtype="datetime64[D]")
        closes = np.asarray(closes, dtype=np.float64)
        if dates.shape != closes.shape:
            raise ValueError(f"{symbol}: {dates.size} dates but {closes.size} closes")
        if dates.size > 1 and not bool(np.all(dates[1:] > dates[:-1])):
            raise ValueError(f"{symbol}: dates must be ascending without duplicates")
        months = dates.astype("datetime64[M]").astype(np.int64)
        last = np.flatnonzero(np.diff(months, append=np.iinfo(np.int64).max))
        per_symbol.append((months[last], dates[last], closes[last]))
    populated = [m for m, _, _ in per_symbol if m.size]
    first = int(min(m[0] for m in populated)) if populated else 0
    count = int(max(m[-1] for m in populated)) - first + 1 if populated else 0
    closes = np.full((count, len(symbols)), np.nan)
    dates = np.full((count, len(symbols)), np.datetime64("NaT"), dtype="datetime64[D]")
    complete = np.zeros((count, len(symbols)), dtype=bool)
    for column, (months, month_dates, month_closes) in enumerate(per_symbol):
        rows = months - first
        closes[rows, column] = month_closes
        dates[rows, column] = month_dates
        complete[rows[:-1], column] = True
    return MonthEndTable(symbols, first, closes, dates, complete)


def formation_months(month: int, params: SignalParams) -> tuple[int, int]:
    """(start month, end month) numbers of the formation window for rebalance month ``month``."""
    return month - 1 - params.lookback_months, month - 1 - params.skip_months


def signal_for_month(
    table: MonthEndTable, month: date | str | np.datetime64, params: SignalParams, held: Collection[str] = (),
    closed_session: date | None = None,
) -> Signal:
    """Rank, select and weigh for the rebalance of the month containing ``month``.

    ``closed_session`` is the last session whose close is known when deciding: the session
    before the decision session, which lies in ``month``. A month-end bar dated on it is
    final although the data has no later bar yet (its month ended with that close).

    Ranking: momentum descending, ties by symbol. Selection: the top ``top_n`` at
    ``1/top_n`` each; a held symbol stays while its rank is within ``exit_rank``; a symbol
    under ``min_momentum`` is never selected and its slot stays in cash, as does a slot
    left empty because fewer symbols than ``top_n`` have history (with a warning).
    Raises SignalError when no symbol has prices for the window.
    """
    number = month_number(month)
    start, end = formation_months(number, params)
    i, j = start - table.first_month, end - table.first_month
    inside = 0 <= i and j < table.closes.shape[0]
    start_closes = table.closes[i] if inside else np.full(len(table.symbols), np.nan)
    end_closes = table.closes[j] if inside else start_closes
    usable = np.isfinite(start_closes) & np.isfinite(end_closes) & (start_closes > 0)
    if inside:
        final = table.complete[j]
        if closed_session is not None:
            final = final | (table.dates[j] == np.datetime64(closed_session, "D"))
        usable &= final
    window = f"{_month_label(start)} .. {_month_label(end)}"
    if not usable.any():
        raise SignalError(f"no symbol has complete prices for the formation window {window} "
                          f"(rebalance month {_month_label(number)}): update or import prices")
    columns = np.flatnonzero(usable)
    momentum = end_closes[columns] / start_closes[columns] - 1.0
    order = columns[np.argsort(-momentum, kind="stable")]  # columns are sorted by symbol: ties by symbol
    excluded = tuple((table.symbols[c], f"not enough history for the formation window {window}")
                     for c in np.flatnonzero(~usable))
    return _select(table, order, i, j, number, params, frozenset(held), excluded)


def compute_signal(
    histories: Mapping[str, History], month: date | str | np.datetime64, params: SignalParams,
    held: Collection[str] = (), closed_session: date | None = None,
) -> Signal:
    """:func:`signal_for_month` over histories indexed on the fly."""
    return signal_for_month(prepare_month_ends(histories), month, params, held, closed_session)


def _select(
    table: MonthEndTable, order: np.ndarray, i: int, j: int, number: int, params: SignalParams,
    held: frozenset[str], excluded: tuple[tuple[str, str], ...],
) -> Signal:
    symbols = [table.symbols[c] for c in order]
    start_closes, end_closes = table.closes[i, order], table.closes[j, order]
    moms = (end_closes / start_closes - 1.0).tolist()
    starts, ends = start_closes.tolist(), end_closes.tolist()
    floor = params.min_momentum
    passes = [floor is None or m >= floor for m in moms]
    kept = [k for k, s in enumerate(symbols) if s in held and k < params.exit_rank and passes[k]]
    chosen = set(kept[: params.top_n])
    for k in range(len(symbols)):
        if len(chosen) >= params.top_n:
            break
        if passes[k]:
            chosen.add(k)
    weight = 1.0 / params.top_n
    start_dates = table.dates[i, order].tolist()
    end_dates = table.dates[j, order].tolist()
    ranks = tuple(
        RankedSymbol(k + 1, s, moms[k], start_dates[k], starts[k], end_dates[k], ends[k],
                     s in held, weight if k in chosen else 0.0, _reason(k, s, chosen, held, passes, params))
        for k, s in enumerate(symbols)
    )
    warnings = [f"{s} left out: {why}" for s, why in excluded]
    if len(chosen) < params.top_n:
        warnings.append(f"{params.top_n - len(chosen)} of {params.top_n} slots held in cash "
                        f"({len(symbols)} ranked, {sum(passes)} above the momentum floor)")
    return Signal(
        month=month_start(number), formation_start=max(start_dates), formation_end=max(end_dates),
        ranks=ranks, excluded=excluded, warnings=tuple(warnings), params=params,
        inputs_sha256=price_points_sha256(zip(symbols * 2, [*start_dates, *end_dates], [*starts, *ends])),
    )


def _reason(k: int, symbol: str, chosen: set[int], held: frozenset[str], passes: list[bool],
            params: SignalParams) -> str:
    if not passes[k]:
        return "below min_momentum"
    if k not in chosen:
        return "not selected"
    if symbol in held and k >= params.top_n:
        return f"kept: rank {k + 1} within exit_rank {params.exit_rank}"
    return "kept" if symbol in held else "top_n"


def price_points_sha256(points) -> str:  # type: ignore[no-untyped-def]
    """SHA-256 of ``SYMBOL,YYYY-MM-DD,repr(float(value))\\n`` lines sorted by symbol, date."""
    lines = sorted(f"{s},{d.isoformat()},{float(v)!r}\n" for s, d, v in points)
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def _month_label(number: int) -> str:
    return str(np.datetime64(number, "M"))
