"""How often a record was observed: daily, weekly, monthly or irregular.

A record's frequency is detected from its snapshot dates and the exchange calendar's
sessions, never assumed. Each snapshot stands for the session on or before its date (a
month-end NAV dated Saturday the 31st is Friday's close), and each return spans
``k >= 1`` sessions. The frequency is the first of these that fits every return:

* ``daily``: each return spans one session; a few missing sessions are allowed
  (at most ``max(2, 5 %)`` of the sessions the record spans) and are named as gaps.
* ``weekly``: one snapshot per calendar week (Monday to Sunday), each return spanning
  3 to 7 sessions (5 ± 2 per week when a week is missing).
* ``monthly``: one snapshot per calendar month (month ends, or the same point of each
  month), each return spanning 15 to 27 sessions (21 ± 6 per month).
* ``irregular``: anything else (two snapshots on one session, uneven spacing).

Weekly and monthly records allow missing weeks or months as daily records allow
missing sessions. A return that spans more than one period (a gap) enters the total
return, the CAGR and the drawdown, but never a per-period figure: it is never annualised
as one period. ``gaps`` lists the sessions without a snapshot where one was expected
(for an irregular record: every run of sessions between two snapshots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

import numpy as np

from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.returns import DateArray, DateLike, as_dates

MIN_ALLOWED_MISSING = 2
MISSING_SHARE = 20  # up to 1 period in 20 may be missing
_MONDAY_OFFSET = 3  # 1970-01-01 was a Thursday: (days + 3) // 7 numbers Monday-based weeks


class Frequency(str, Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    IRREGULAR = "irregular"


PERIODS_PER_YEAR: dict[Frequency, int] = {Frequency.DAILY: 252, Frequency.WEEKLY: 52, Frequency.MONTHLY: 12}
PERIOD_NAME: dict[Frequency, str] = {Frequency.DAILY: "session", Frequency.WEEKLY: "week", Frequency.MONTHLY: "month"}
# sessions one period spans: (typical, tolerance); a return of p periods spans p * typical ± tolerance
_SESSIONS_PER_PERIOD: dict[Frequency, tuple[int, int]] = {Frequency.WEEKLY: (5, 2), Frequency.MONTHLY: (21, 6)}


@dataclass(frozen=True, slots=True)
class Gap:
    """A run of sessions without a snapshot: ``first`` .. ``last``, ``sessions`` of them."""

    first: date
    last: date
    sessions: int

    def to_dict(self) -> dict[str, object]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "sessions": self.sessions}


@dataclass(frozen=True, slots=True)
class RecordFrequency:
    """The detected frequency. ``spans``: sessions each return spans; ``periods``: periods
    of the frequency each return spans (sessions for daily and irregular records);
    ``positions``: each snapshot's session index, from 0 at the first snapshot."""

    frequency: Frequency
    spans: tuple[int, ...]
    periods: tuple[int, ...]
    positions: tuple[int, ...]
    gaps: tuple[Gap, ...]

    @property
    def periods_per_year(self) -> int | None:
        return PERIODS_PER_YEAR.get(self.frequency)

    @property
    def regular(self) -> bool:
        return self.frequency is not Frequency.IRREGULAR

    def one_period(self) -> np.ndarray:
        """Boolean mask over the returns: True where a return spans exactly one period
        (False everywhere for an irregular record)."""
        periods = np.asarray(self.periods, dtype=np.int64)
        return (periods == 1) & self.regular


def detect_frequency(snapshot_dates: Sequence[DateLike] | DateArray, sessions: Sequence[DateLike] | DateArray) -> RecordFrequency:
    """The frequency of a record with snapshots on ``snapshot_dates`` (strictly increasing)
    given the calendar's ``sessions`` (strictly increasing, covering the record). Pure:
    the caller passes the sessions in. Raises ``AnalyticsInputError`` when a snapshot is
    dated before the first session given."""
    days = as_dates(snapshot_dates)
    calendar = as_dates(sessions)
    if days.size and (calendar.size == 0 or days[0] < calendar[0]):
        raise AnalyticsInputError(f"the calendar's sessions do not cover the first snapshot {days[0] if days.size else ''}")
    position = np.searchsorted(calendar, days, side="right") - 1
    spans = np.diff(position)
    first = int(position[0]) if position.size else 0
    positions = tuple(int(p) - first for p in position)
    if spans.size == 0:
        return RecordFrequency(Frequency.DAILY, (), (), positions, ())
    observed = calendar[position]
    for frequency in (Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY):
        periods = spans if frequency is Frequency.DAILY else _periods(frequency, observed)
        if _fits(frequency, periods, spans):
            gaps = _gaps(calendar, position, periods, frequency)
            return RecordFrequency(frequency, _ints(spans), _ints(periods), positions, gaps)
    gaps = _gaps(calendar, position, spans, Frequency.IRREGULAR)
    return RecordFrequency(Frequency.IRREGULAR, _ints(spans), _ints(spans), positions, gaps)


def _periods(frequency: Frequency, observed: DateArray) -> np.ndarray:
    """How many weeks or months each return spans (``observed``: session-mapped dates)."""
    if frequency is Frequency.WEEKLY:
        return np.diff((observed.astype(np.int64) + _MONDAY_OFFSET) // 7)
    return np.diff(observed.astype("datetime64[M]").astype(np.int64))


def _fits(frequency: Frequency, periods: np.ndarray, spans: np.ndarray) -> bool:
    if np.any(periods < 1):
        return False
    missing = int((periods - 1).sum())
    if missing > max(MIN_ALLOWED_MISSING, int(periods.sum()) // MISSING_SHARE):
        return False
    if frequency is Frequency.DAILY:
        return True
    typical, tolerance = _SESSIONS_PER_PERIOD[frequency]
    return bool(np.all(np.abs(spans - periods * typical) <= tolerance * periods))


def _gaps(calendar: DateArray, position: np.ndarray, periods: np.ndarray, frequency: Frequency) -> tuple[Gap, ...]:
    gaps: list[Gap] = []
    for i in np.flatnonzero(periods > 1):
        start, end = int(position[i]) + 1, int(position[i + 1]) - 1
        if frequency in _SESSIONS_PER_PERIOD:
            start, end = _missing_periods(calendar, frequency, start, end)
        if end >= start:
            gaps.append(Gap(calendar[start].item(), calendar[end].item(), end - start + 1))
    return tuple(gaps)


def _missing_periods(calendar: DateArray, frequency: Frequency, start: int, end: int) -> tuple[int, int]:
    """Narrow the sessions between two snapshots to the whole weeks or months without one."""
    window = calendar[start - 1 : end + 2]
    if frequency is Frequency.WEEKLY:
        label = (window.astype(np.int64) + _MONDAY_OFFSET) // 7
    else:
        label = window.astype("datetime64[M]").astype(np.int64)
    inside = (label > label[0]) & (label < label[-1])
    if not inside.any():
        return start, start - 1
    hits = np.flatnonzero(inside)
    return start - 1 + int(hits[0]), start - 1 + int(hits[-1])


def _ints(values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in values)
