"""Exchange sessions, holidays and closing-auction times (exchange_calendars, XLON by default).

The rebalance session of a month is its first session. Session dates are exchange-local
dates; close times are timezone-aware UTC datetimes (XLON's closing auction ends 16:30
Europe/London). ``exchange_calendars`` is imported lazily: it is slow to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from trackrecord.errors import UserError
from trackrecord.market import calendar_cache

DEFAULT_START = date(1990, 1, 1)


@dataclass(frozen=True)
class ExchangeCalendar:
    """Sessions of one exchange between ``first_session`` and ``last_session``."""

    code: str
    timezone: str
    sessions: np.ndarray  # datetime64[D], ascending
    closes: np.ndarray  # datetime64[s] UTC, one per session

    @property
    def first_session(self) -> date:
        return self.sessions[0].item()

    @property
    def last_session(self) -> date:
        return self.sessions[-1].item()

    @cached_property
    def _index(self) -> dict[date, int]:
        """Session date -> position in ``sessions``: the engine asks about the same few
        sessions many times a day, and a dict lookup is far cheaper than numpy on a scalar."""
        return {day: i for i, day in enumerate(self._session_dates)}

    @cached_property
    def _session_dates(self) -> list[date]:
        return self.sessions.tolist()

    @cached_property
    def _close_times(self) -> list[datetime]:
        seconds = self.closes.astype("datetime64[s]").astype(np.int64).tolist()
        return [datetime.fromtimestamp(s, tz=timezone.utc) for s in seconds]

    def _check(self, day: date) -> np.datetime64:
        point = np.datetime64(day, "D")
        if not self.sessions[0] <= point <= self.sessions[-1]:
            raise UserError(f"{day} is outside the {self.code} calendar ({self.first_session} .. {self.last_session})")
        return point

    def date_at(self, moment: datetime) -> date:
        """The exchange's local date at ``moment`` (timezone-aware)."""
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo(self.timezone)).date()

    def is_session(self, day: date) -> bool:
        if day in self._index:
            return True
        point = self._check(day)
        index = int(np.searchsorted(self.sessions, point))
        return index < self.sessions.size and self.sessions[index] == point

    def sessions_between(self, start: date, end: date) -> np.ndarray:
        """Sessions ``start <= s <= end`` as datetime64[D]."""
        lo = np.searchsorted(self.sessions, np.datetime64(start, "D"), side="left")
        hi = np.searchsorted(self.sessions, np.datetime64(end, "D"), side="right")
        return self.sessions[lo:hi]

    def count_sessions(self, start: date, end: date) -> int:
        """``sessions_between(start, end).size`` without the array when both days are sessions
        (the risk rules count the sessions since a price's date a few times an order)."""
        index = self._index
        first, last = index.get(start), index.get(end)
        if first is not None and last is not None:
            return max(last - first + 1, 0)
        return int(self.sessions_between(start, end).size)

    def previous_session(self, day: date) -> date:
        """The last session strictly before ``day``."""
        known = self._index.get(day)
        if known is not None and known > 0:
            return self._session_dates[known - 1]
        index = int(np.searchsorted(self.sessions, self._check(day), side="left")) - 1
        if index < 0:
            raise UserError(f"no {self.code} session before {day}")
        return self.sessions[index].item()

    def session_on_or_before(self, day: date) -> date:
        index = int(np.searchsorted(self.sessions, self._check(day), side="right")) - 1
        if index < 0:
            raise UserError(f"no {self.code} session on or before {day}")
        return self.sessions[index].item()

    def next_sessions(self, day: date, count: int, include_day: bool = True) -> list[date]:
        """The next ``count`` sessions from ``day`` (inclusive when it is one)."""
        known = self._index.get(day)
        if known is not None:
            start = known if include_day else known + 1
            return self._session_dates[start:start + count]
        side = "left" if include_day else "right"
        index = int(np.searchsorted(self.sessions, self._check(day), side=side))
        return self.sessions[index:index + count].tolist()

    def rebalance_session(self, day: date) -> date:
        """The first session of the month containing ``day``."""
        first = date(day.year, day.month, 1)
        found = self.next_sessions(first, 1)
        if not found or (found[0].year, found[0].month) != (day.year, day.month):
            raise UserError(f"no {self.code} session in {day:%Y-%m}")
        return found[0]

    def next_rebalance_session(self, day: date) -> date:
        """The first rebalance session on or after ``day``."""
        this_month = self.rebalance_session(day)
        if this_month >= day:
            return this_month
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return self.rebalance_session(following)

    def close_time(self, session: date) -> datetime:
        """The session's closing-auction time (UTC), early closes included."""
        index = self._index.get(session)
        if index is None:
            self._check(session)
            raise UserError(f"{session} is not a {self.code} session")
        return self._close_times[index]

    def holidays(self, start: date, end: date) -> list[date]:
        """Weekdays in ``start..end`` without a session."""
        weekdays = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
        weekdays = weekdays[np.is_busday(weekdays)]
        at = np.minimum(np.searchsorted(self.sessions, weekdays), self.sessions.size - 1)
        return weekdays[self.sessions[at] != weekdays].tolist()

    def local_close(self, session: date) -> datetime:
        from zoneinfo import ZoneInfo

        return self.close_time(session).astimezone(ZoneInfo(self.timezone))


_BUILT: dict[str, list[tuple[date, date | None, ExchangeCalendar]]] = {}


@lru_cache(maxsize=32)
def open_calendar(code: str = "XLON", start: date = DEFAULT_START, end: date | None = None) -> ExchangeCalendar:
    """Load the exchange_calendars calendar ``code`` (e.g. XLON, XNYS) as plain arrays.

    ``end`` defaults to the library's horizon (about a year ahead). Kept per process: the
    same arguments, or a range inside one already built (sliced from it: building one from
    exchange_calendars costs a tenth of a second or more, a second for a long range). Kept
    on disk too (``calendar_cache``): a later process loads the calendar to the horizon in
    a millisecond, without importing exchange_calendars or pandas.
    """
    for built_start, built_end, built in _BUILT.get(code, ()):
        if built_start <= start and (built_end is None if end is None else end <= built.last_session):
            return _sliced(built, start, end)
    wide = _to_horizon(code, start)
    if end is None or end <= wide.last_session:
        return _sliced(wide, start, end)
    calendar = _build(code, start, end)  # beyond the library's horizon: rare, not kept on disk
    _BUILT.setdefault(code, []).append((start, end, calendar))
    return calendar


def _to_horizon(code: str, start: date) -> ExchangeCalendar:
    """The calendar from ``start`` (or 1990, if earlier) to the library's horizon: from the
    disk cache when it holds one built from that early, else built and stored there."""
    cached = calendar_cache.load(code)
    if cached is not None and cached.start <= start:
        built_from = cached.start
        wide = ExchangeCalendar(code, cached.timezone, cached.sessions, cached.closes)
    else:
        built_from = min(start, DEFAULT_START)
        wide = _build(code, built_from, None)
        calendar_cache.store(calendar_cache.CachedCalendar(code, built_from, wide.timezone, wide.sessions,
                                                           wide.closes))
    _BUILT.setdefault(code, []).append((built_from, None, wide))
    return wide


def _sliced(calendar: ExchangeCalendar, start: date, end: date | None) -> ExchangeCalendar:
    first = int(np.searchsorted(calendar.sessions, np.datetime64(start, "D"), "left"))
    last = calendar.sessions.size if end is None else int(
        np.searchsorted(calendar.sessions, np.datetime64(end, "D"), "right"))
    return ExchangeCalendar(calendar.code, calendar.timezone, calendar.sessions[first:last], calendar.closes[first:last])


def _build(code: str, start: date, end: date | None) -> ExchangeCalendar:
    import exchange_calendars as xcals
    from exchange_calendars.errors import InvalidCalendarName

    try:
        options: dict[str, Any] = {"start": start.isoformat()}
        if end is not None:
            options["end"] = end.isoformat()
        source = xcals.get_calendar(code, **options)
    except InvalidCalendarName:
        raise UserError(f"universe.calendar {code!r} is not an exchange_calendars code (e.g. XLON, XNYS)") from None
    sessions = source.sessions.values.astype("datetime64[D]")
    closes = source.closes.values.astype("datetime64[s]")
    return ExchangeCalendar(code, str(source.tz), sessions, closes)

