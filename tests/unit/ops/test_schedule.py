"""The schedule is a pure function of the XLON calendar and the configured times: sessions
only, the session's own close (half-days), exchange time across the clock changes."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from trackrecord.config import SchedulerConfig, parse_settings
from trackrecord.errors import UserError
from trackrecord.market.calendar import open_calendar
from trackrecord.ops.schedule import Job, JobTimes, next_run, report_period, runs_between, runs_on

ALL = JobTimes.of(SchedulerConfig(jobs=["rebalance", "close", "monthly-report", "weekly-report", "flex"]))


@pytest.fixture(scope="module")
def xlon():  # type: ignore[no-untyped-def]
    return open_calendar("XLON", start=date(2024, 1, 1))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_rebalance_runs_on_the_first_session_of_the_month_an_hour_before_the_close(xlon) -> None:  # type: ignore[no-untyped-def]
    runs = {r.job: r for r in runs_on(xlon, ALL, date(2026, 6, 1))}
    assert runs[Job.REBALANCE].at == _utc("2026-06-01T14:30:00")  # 15:30 BST
    assert runs[Job.CLOSE].at == _utc("2026-06-01T16:00:00")
    assert runs[Job.MONTHLY_REPORT].at == _utc("2026-06-01T16:30:00")
    assert Job.REBALANCE not in {r.job for r in runs_on(xlon, ALL, date(2026, 6, 2))}


def test_clock_changes_keep_exchange_time(xlon) -> None:  # type: ignore[no-untyped-def]
    before = {r.job: r.at for r in runs_on(xlon, ALL, date(2026, 3, 27))}  # GMT
    after = {r.job: r.at for r in runs_on(xlon, ALL, date(2026, 3, 30))}  # BST from 29 March
    assert before[Job.CLOSE] == _utc("2026-03-27T17:00:00") and after[Job.CLOSE] == _utc("2026-03-30T16:00:00")
    assert before[Job.FLEX] == _utc("2026-03-27T08:00:00") and after[Job.FLEX] == _utc("2026-03-30T07:00:00")
    october = {r.job: r.at for r in runs_on(xlon, ALL, date(2026, 10, 26))}  # GMT again from 25 October
    assert october[Job.CLOSE] == _utc("2026-10-26T17:00:00")


def test_half_day_moves_the_close_job_with_the_early_close(xlon) -> None:  # type: ignore[no-untyped-def]
    christmas_eve = {r.job: r.at for r in runs_on(xlon, ALL, date(2026, 12, 24))}
    assert christmas_eve[Job.CLOSE] == _utc("2026-12-24T13:00:00")  # closes 12:30, job 30 minutes later


def test_no_run_on_weekends_or_bank_holidays(xlon) -> None:  # type: ignore[no-untyped-def]
    runs = runs_between(xlon, ALL, _utc("2026-12-24T14:00:00"), _utc("2027-01-04T00:00:00"))
    sessions = {r.session for r in runs}
    assert sessions == {date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)}
    may = runs_between(xlon, ALL, _utc("2026-05-22T20:00:00"), _utc("2026-05-26T00:00:00"))
    assert date(2026, 5, 25) not in {r.session for r in may}  # spring bank holiday
    with pytest.raises(UserError):
        runs_on(xlon, ALL, date(2026, 5, 23))  # a Saturday is no session


def test_weekly_report_after_the_last_session_of_the_week(xlon) -> None:  # type: ignore[no-untyped-def]
    weekly = [r for r in runs_between(xlon, ALL, _utc("2026-03-30T00:00:00"), _utc("2026-04-12T00:00:00"))
              if r.job is Job.WEEKLY_REPORT]
    assert [r.session for r in weekly] == [date(2026, 4, 2), date(2026, 4, 10)]  # Good Friday off: Thursday
    assert report_period(xlon, weekly[0]) == (date(2026, 3, 30), date(2026, 4, 5))


def test_monthly_report_covers_the_previous_month(xlon) -> None:  # type: ignore[no-untyped-def]
    run = next_run(xlon, ALL, Job.MONTHLY_REPORT, _utc("2026-01-01T00:00:00"))
    assert run is not None and run.session == date(2026, 1, 2)  # 1 January is a holiday
    assert report_period(xlon, run) == (date(2025, 12, 1), date(2025, 12, 31))


def test_a_job_left_out_never_runs(xlon) -> None:  # type: ignore[no-untyped-def]
    default = JobTimes.of(SchedulerConfig())
    assert next_run(xlon, default, Job.FLEX, _utc("2026-06-01T00:00:00")) is None


def test_scheduler_keys_are_validated() -> None:
    assert parse_settings({"scheduler": {"flex_time": 480}}, "y").scheduler.flex_time == "08:00"  # YAML's 08:00
    for bad, expected in [({"jobs": ["rebalanse"]}, "unknown job 'rebalanse'"),
                          ({"flex_time": "25:00"}, "HH:MM"),
                          ({"rebalance_minutes_before_close": 5}, "risk.moc_cutoff_minutes")]:
        with pytest.raises(UserError, match=expected):
            parse_settings({"scheduler": bad}, "trackrecord.yaml")
