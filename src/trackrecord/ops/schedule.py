"""When each job runs: a pure function of the exchange calendar and the configured times.

Every run belongs to an exchange session and is placed relative to that session's own
close (``ExchangeCalendar.close_time``, early closes included), so a Christmas Eve half-day
moves the rebalance and the close job with it, and the clock changes in March and October
move nothing in exchange time. No weekend, no bank holiday ever gets a run: only sessions do.

- ``rebalance``: the first session of the month, ``rebalance_minutes_before_close`` before its close;
- ``close``: every session, ``close_minutes_after_close`` after its close;
- ``monthly-report``: the first session of the month, after its close, for the previous month;
- ``weekly-report``: the last session of each ISO week, after its close, for that week;
- ``flex``: every session at ``flex_time`` (exchange time), for the statement of the session before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Iterable
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from trackrecord.config import SchedulerConfig
    from trackrecord.market.calendar import ExchangeCalendar


class Job(str, Enum):
    REBALANCE = "rebalance"
    CLOSE = "close"
    MONTHLY_REPORT = "monthly-report"
    WEEKLY_REPORT = "weekly-report"
    FLEX = "flex"


@dataclass(frozen=True)
class JobTimes:
    jobs: tuple[Job, ...]
    rebalance_before_close: timedelta = timedelta(minutes=60)
    close_after_close: timedelta = timedelta(minutes=30)
    reports_after_close: timedelta = timedelta(minutes=60)
    flex_time: time = time(8, 0)

    @classmethod
    def of(cls, config: "SchedulerConfig") -> "JobTimes":
        hours, minutes = config.flex_time.split(":")
        return cls(tuple(Job(name) for name in config.jobs),
                   timedelta(minutes=config.rebalance_minutes_before_close),
                   timedelta(minutes=config.close_minutes_after_close),
                   timedelta(minutes=config.reports_minutes_after_close),
                   time(int(hours), int(minutes)))


@dataclass(frozen=True, order=True)
class ScheduledRun:
    """One run of a job: ``at`` (UTC) and the session it belongs to."""

    at: datetime
    job: Job
    session: date

    @property
    def key(self) -> str:
        return f"{self.job.value}:{self.session.isoformat()}"

    def document(self, exchange_tz: str, local_tz: str | None = None) -> dict[str, str]:
        local = self.at.astimezone(ZoneInfo(local_tz)) if local_tz else self.at.astimezone()
        return {"job": self.job.value, "session": self.session.isoformat(),
                "at_utc": self.at.isoformat().replace("+00:00", "Z"),
                "at_exchange": self.at.astimezone(ZoneInfo(exchange_tz)).isoformat(),
                "at_local": local.isoformat()}


def is_month_start(calendar: "ExchangeCalendar", session: date) -> bool:
    return calendar.rebalance_session(session) == session


def is_week_end(calendar: "ExchangeCalendar", session: date) -> bool:
    """The last session of its ISO week (Friday, or Thursday before Good Friday...). At the
    calendar's horizon the next session is unknown: not a week end."""
    following = calendar.next_sessions(session, 1, include_day=False)
    return bool(following) and following[0].isocalendar()[:2] != session.isocalendar()[:2]


def runs_on(calendar: "ExchangeCalendar", times: JobTimes, session: date) -> list[ScheduledRun]:
    """The runs that belong to ``session`` (a session of ``calendar``), in time order."""
    close = calendar.close_time(session)
    runs: list[ScheduledRun] = []
    for job in times.jobs:
        if job is Job.REBALANCE and is_month_start(calendar, session):
            runs.append(ScheduledRun(close - times.rebalance_before_close, job, session))
        elif job is Job.CLOSE:
            runs.append(ScheduledRun(close + times.close_after_close, job, session))
        elif job is Job.MONTHLY_REPORT and is_month_start(calendar, session):
            runs.append(ScheduledRun(close + times.reports_after_close, job, session))
        elif job is Job.WEEKLY_REPORT and is_week_end(calendar, session):
            runs.append(ScheduledRun(close + times.reports_after_close, job, session))
        elif job is Job.FLEX:
            local = datetime.combine(session, times.flex_time, tzinfo=ZoneInfo(calendar.timezone))
            runs.append(ScheduledRun(local.astimezone(timezone.utc), job, session))
    return sorted(runs)


def _sessions(calendar: "ExchangeCalendar", start: date, end: date) -> Iterable[date]:
    first, last = max(start, calendar.first_session), min(end, calendar.last_session)
    if first > last:
        return []
    return calendar.sessions_between(first, last).tolist()


def runs_between(calendar: "ExchangeCalendar", times: JobTimes, start: datetime, end: datetime) -> list[ScheduledRun]:
    """Every run with ``start < at <= end``, in time order."""
    margin = timedelta(days=2)  # a run may sit up to a day away from its session's date (flex at 00:30 UTC...)
    days = _sessions(calendar, (start - margin).date(), (end + margin).date())
    return [run for day in days for run in runs_on(calendar, times, day) if start < run.at <= end]


def next_run(calendar: "ExchangeCalendar", times: JobTimes, job: Job, after: datetime,
             horizon_days: int = 62) -> ScheduledRun | None:
    """The first run of ``job`` after ``after``, or None when there is none in the calendar
    within ``horizon_days`` (the job is off, or the calendar ends)."""
    if job not in times.jobs:
        return None
    for run in runs_between(calendar, times, after, after + timedelta(days=horizon_days)):
        if run.job is job:
            return run
    return None


def report_period(calendar: "ExchangeCalendar", run: ScheduledRun) -> tuple[date, date]:
    """The period a report run covers: the previous calendar month (monthly) or the run's
    ISO week (weekly), as first and last day."""
    if run.job is Job.MONTHLY_REPORT:
        last = date(run.session.year, run.session.month, 1) - timedelta(days=1)
        return date(last.year, last.month, 1), last
    monday = run.session - timedelta(days=run.session.weekday())
    return monday, monday + timedelta(days=6)
