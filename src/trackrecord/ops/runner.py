"""Run jobs and record them: every run's start, end and outcome is a ledger event, and
runs that were missed (machine off, crash, broker down) are dealt with explicitly.

On every tick the runner reads what the ledger says about past runs, lists the runs that
were due since and are not resolved, and for each decides (:func:`late_action`):

- a run on time runs;
- a ``close`` too late for its snapshot (after its session's evening) is caught up: the
  executions and prices are recorded, the snapshot is a gap (``job.missed``), never invented;
- a ``rebalance`` after its time is not sent late unless ``scheduler.late_rebalance`` says so
  or it had started (a crash, a restart): then only before its session's order cut-off; past
  the cut-off it is recorded as missed, with the decision;
- reports and flex run late: their period does not move.

A failed run stays unresolved and is tried again at the next tick.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from trackrecord.ledger import events as kinds
from trackrecord.ledger.operations import seal
from trackrecord.ops.jobs import JOBS, JobEnv, JobResult, Outcome, catch_up_close, failure_outcome
from trackrecord.ops.notify import Notification
from trackrecord.ops.schedule import Job, JobTimes, ScheduledRun, runs_between

if TYPE_CHECKING:
    from trackrecord.ledger.chain import StoredEvent

log = logging.getLogger("trackrecord.ops.runner")
ON_TIME = timedelta(minutes=5)
MAX_CATCH_UP = timedelta(days=100)
RESOLVED = {Outcome.SUCCEEDED.value, Outcome.REFUSED.value, Outcome.SKIPPED.value, Outcome.CAUGHT_UP.value}


class Action(str, Enum):
    RUN = "run"
    CATCH_UP = "catch_up"
    MISS = "miss"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class RecordedRun:
    key: str
    job: str
    session: str
    state: str  # started | succeeded | failed | ... | missed
    scheduled_for: str
    recorded_at: str
    message: str = ""

    def document(self) -> dict[str, str]:
        return {"session": self.session, "outcome": self.state, "scheduled_for": self.scheduled_for,
                "recorded_at": self.recorded_at, "message": self.message}


@dataclass
class JobHistory:
    """What the ledger says about job runs, read incrementally (``refresh``)."""

    after_seq: int = 0
    runs: dict[str, RecordedRun] = field(default_factory=dict)
    latest: dict[str, RecordedRun] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    failures_told: set[str] = field(default_factory=set)
    first_scheduled: datetime | None = None

    def refresh(self, events: "list[StoredEvent]") -> list["StoredEvent"]:
        """Take in new events; returns them (the runner notifies kill-switch changes)."""
        for event in events:
            self.after_seq = event.seq
            if not event.kind.startswith("job."):
                continue
            data = json.loads(event.payload)
            key = f"{data['job']}:{data['session']}"
            state = {kinds.JOB_STARTED: "started", kinds.JOB_MISSED: "missed", kinds.JOB_SKIPPED: "skipped"}.get(
                event.kind, data.get("outcome", ""))
            if event.kind == kinds.JOB_STARTED:
                self.started.add(key)
            if event.kind == kinds.JOB_MISSED and key in self.runs and self.runs[key].state in RESOLVED:
                continue  # a caught-up close's snapshot gap: the run itself is resolved
            run = RecordedRun(key, data["job"], data["session"], state, data.get("scheduled_for", ""),
                              event.recorded_at, data.get("message", data.get("reason", "")))
            self.runs[key] = run
            if event.kind != kinds.JOB_STARTED:
                self.latest[data["job"]] = run
            if run.scheduled_for:
                moment = _utc(run.scheduled_for)
                self.first_scheduled = moment if self.first_scheduled is None else min(self.first_scheduled, moment)
        return events

    def is_resolved(self, run: ScheduledRun) -> bool:
        recorded = self.runs.get(run.key)
        return recorded is not None and (recorded.state in RESOLVED or recorded.state == "missed")


def cut_off(env: JobEnv, session: date) -> datetime:
    return env.calendar.close_time(session) - timedelta(minutes=env.services.settings.risk.moc_cutoff_minutes)


def evening_end(env: JobEnv, session: date) -> datetime:
    """Until when a close job still values the account at its session's close: the end of
    the session's own day in exchange time (the broker's marks move at the next open)."""
    zone = ZoneInfo(env.calendar.timezone)
    return datetime.combine(session + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(timezone.utc)


def late_action(env: JobEnv, run: ScheduledRun, now: datetime, started: bool) -> tuple[Action, str]:
    """What to do with ``run`` at ``now`` (see the module docstring), and why."""
    if run.job is Job.REBALANCE:
        if now <= run.at + ON_TIME:
            return Action.RUN, "on time"
        deadline = cut_off(env, run.session)
        if now >= deadline:
            return Action.MISS, (f"not sent: {_iso(now)} is past the {run.session} order cut-off {_iso(deadline)} "
                                 "(risk.moc_cutoff_minutes before the close)")
        if started:
            return Action.RUN, "resumed: the run had started before a crash or restart; still before the cut-off"
        if env.services.settings.scheduler.late_rebalance:
            return Action.RUN, "sent late, before the cut-off, as scheduler.late_rebalance allows"
        return Action.MISS, ("not sent late: the rebalance was due at " + _iso(run.at) +
                             " and scheduler.late_rebalance is false (`trackrecord run-job rebalance` sends it "
                             "by hand before the cut-off)")
    if run.job is Job.CLOSE and now >= evening_end(env, run.session):
        return Action.CATCH_UP, "too late for the snapshot of its session"
    return Action.RUN, "on time" if now <= run.at + ON_TIME else "late; its period does not move"


class Runner:
    """Runs due jobs and records each run. ``clock`` is injectable (the scheduler's shifted
    clock, the soak test's fake one)."""

    def __init__(self, env: JobEnv, times: JobTimes, clock: Callable[[], datetime], started_at: datetime,
                 trigger: str = "scheduler") -> None:
        self.env = env
        self.times = times
        self.clock = clock
        self.started_at = started_at
        self.trigger = trigger
        self.history = JobHistory()
        self._own: list[tuple[int, int]] = []  # seq ranges this runner's jobs wrote
        self.stopping: Callable[[], bool] = lambda: False  # SIGTERM: no new run after the current one

    @property
    def ledger(self):  # type: ignore[no-untyped-def]
        return self.env.services.ledger

    def refresh(self) -> None:
        for event in self.history.refresh(list(self.ledger.events(after_seq=self.history.after_seq))):
            if event.kind == kinds.KILL_SWITCH_CHANGED:
                self._tell_kill_switch(event)

    def _tell_kill_switch(self, event: "StoredEvent") -> None:
        """A change made outside this runner's jobs (the CLI, the dashboard) since it started;
        a job tells its own (the close job's daily loss halt)."""
        if _utc(event.recorded_at) < self.started_at or any(lo < event.seq <= hi for lo, hi in self._own):
            return
        data = json.loads(event.payload)
        self.env.notifier.send(Notification("kill_switch", f"kill switch {data.get('state')}",
                                            f"{data.get('previous_state')} -> {data.get('state')}: "
                                            f"{data.get('reason')}"))

    def pending(self, now: datetime) -> list[ScheduledRun]:
        anchor = self.started_at if self.history.first_scheduled is None else \
            min(self.started_at, self.history.first_scheduled - timedelta(seconds=1))
        anchor = max(anchor, now - MAX_CATCH_UP)
        return [r for r in runs_between(self.env.calendar, self.times, anchor, now) if not self.history.is_resolved(r)]

    def tick(self) -> list[tuple[ScheduledRun, JobResult | None]]:
        """Deal with every run due by now, oldest first."""
        self.refresh()
        done: list[tuple[ScheduledRun, JobResult | None]] = []
        for run in self.pending(self.clock()):
            if self.stopping():
                break
            now = self.clock()
            action, reason = late_action(self.env, run, now, run.key in self.history.started)
            done.append((run, self.perform(run, now, action, reason)))
            self.refresh()
        return done

    def perform(self, run: ScheduledRun, now: datetime, action: Action, reason: str,
                back_dated: bool = False) -> JobResult | None:
        """One run, recorded: ``job.missed`` alone for a miss; otherwise ``job.started``,
        the job, ``job.finished`` (with any gap as ``job.missed``), then one checkpoint."""
        since = self.ledger.head()[0]
        base = {"job": run.job.value, "session": run.session, "scheduled_for": _iso(run.at), "trigger": self.trigger}
        try:
            if action is Action.MISS:
                self._append(kinds.JOB_MISSED, {**base, "decision": "not run", "reason": reason})
                self._tell_failure(run, f"{run.job.value} {run.session} missed", reason)
                return None
            self._append(kinds.JOB_STARTED, {**base, "started_at": _iso(now), "decision": reason})
            result = self._call(run, now, action, back_dated)
            finished = {**base, "outcome": result.outcome.value, "message": result.message[:2000],
                        "details": {k: v for k, v in result.details.items() if v is not None}}
            self._append_many([(kinds.JOB_FINISHED, finished)] + [
                (kinds.JOB_MISSED, {**base, "decision": "snapshot gap", "reason": gap}) for gap in result.gaps])
            if result.outcome in (Outcome.FAILED, Outcome.REFUSED) and not (
                    run.job is Job.REBALANCE and result.outcome is Outcome.REFUSED):
                self._tell_failure(run, f"{run.job.value} {run.session} {result.outcome.value}", result.message)
            return result
        finally:
            self._own.append((since, self.ledger.head()[0]))
            seal(self.ledger, self.env.services.workspace.private_key_path, since)

    def _call(self, run: ScheduledRun, now: datetime, action: Action, back_dated: bool) -> JobResult:
        try:
            if action is Action.CATCH_UP:
                return catch_up_close(self.env, run, now)
            return JOBS[run.job](self.env, run, now, back_dated)
        except Exception as exc:  # a job's failure is its outcome; a crash (BaseException) is not caught
            outcome, message = failure_outcome(exc)
            log.info("job %s %s %s: %s", run.job.value, run.session, outcome.value, message)
            return JobResult(outcome, message)

    def _tell_failure(self, run: ScheduledRun, subject: str, message: str) -> None:
        if run.key in self.history.failures_told:
            return
        self.history.failures_told.add(run.key)
        self.env.notifier.send(Notification("job_failed", subject, message,
                                            details={"job": run.job.value, "session": run.session.isoformat()}))

    def _append(self, kind: str, payload: dict[str, Any]) -> None:
        self._append_many([(kind, payload)])

    def _append_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        with self.ledger.writer() as writer:
            writer.append_many(items)
