"""``scheduler``, ``run-job``, ``jobs`` and ``doctor``: unattended daily operation."""

from __future__ import annotations

import signal
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

import typer

from trackrecord.cli import context

if TYPE_CHECKING:
    from trackrecord.market.calendar import ExchangeCalendar
    from trackrecord.ops.schedule import Job, JobTimes, ScheduledRun

JOB_HELP = "rebalance | close | monthly-report | weekly-report | flex"


class CliCommands:
    """Our own commands, run in-process for the report and flex jobs."""

    def has(self, name: str) -> bool:
        from trackrecord.cli.app import build_app

        app = build_app()
        names = {c.name or (c.callback.__name__.replace("_", "-") if c.callback else "")
                 for c in app.registered_commands}
        return name in names | {g.name for g in app.registered_groups}

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        import contextlib
        import io

        from trackrecord.cli.app import run

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(argv)
        return code, out.getvalue(), err.getvalue()


def _job(name: str) -> "Job":
    from trackrecord.errors import UserError
    from trackrecord.ops.schedule import Job

    try:
        return Job(name)
    except ValueError:
        raise UserError(f"run-job {name!r}: unknown job; expected one of {JOB_HELP}") from None


def _run_for(calendar: "ExchangeCalendar", times: "JobTimes", job: "Job", as_of: str | None,
             now: datetime) -> "ScheduledRun":
    """The run of ``job`` on the session named, else its latest run due by now."""
    from dataclasses import replace
    from datetime import timedelta

    from trackrecord.errors import UserError
    from trackrecord.ledger.parsing import parse_date
    from trackrecord.ops.schedule import next_run, runs_between, runs_on

    every = replace(times, jobs=(job,))
    if as_of is not None:
        session = parse_date(as_of, "--as-of")
        if not calendar.is_session(session):
            raise UserError(f"run-job {job.value} --as-of {session}: not a {calendar.code} session")
        found = [r for r in runs_on(calendar, every, session) if r.job is job]
        if not found:
            following = next_run(calendar, every, job, calendar.close_time(session))
            raise UserError(f"run-job {job.value} --as-of {session}: the {job.value} job does not run on that session "
                            f"(next: {following.session if following else 'none in the calendar'})")
        return found[0]
    past = runs_between(calendar, every, now - timedelta(days=40), now)
    if not past:
        raise UserError(f"run-job {job.value}: no {job.value} run was due in the last 40 days; name one with --as-of")
    return past[-1]


def run_job(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=JOB_HELP),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="the session of the run (default: the latest due)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Run one job now, recorded like the scheduler's runs (start, end, outcome)."""
    from trackrecord.bootstrap import connect, job_env, wall_clock
    from trackrecord.domain import Mode
    from trackrecord.engine.cashflows import configured_account_id
    from trackrecord.engine.execution import execution_mode
    from trackrecord.engine.sessions import exchange_today, refuse_out_of_order
    from trackrecord.errors import RuntimeFailure, SafetyRefusal
    from trackrecord.ops.jobs import Outcome
    from trackrecord.ops.runner import Action, Runner
    from trackrecord.ops.schedule import Job, JobTimes

    job = _job(name)
    workspace = context.workspace(ctx)
    services = connect(workspace)
    try:
        env = job_env(services)
        env.commands = CliCommands()
        now = wall_clock()
        run = _run_for(env.calendar, JobTimes.of(services.settings.scheduler), job, as_of, now)
        if as_of is not None and job in (Job.CLOSE, Job.REBALANCE):  # refused before any network call or event
            refuse_out_of_order(services.engine, configured_account_id(services.settings), services.settings.mode,
                                run.session, f"run-job {job.value} --as-of")
        if job is Job.REBALANCE and services.settings.mode is Mode.LIVE:
            execution_mode(Mode.LIVE, True, run.session, exchange_today(env.calendar, now))
        runner = Runner(env, JobTimes.of(services.settings.scheduler), wall_clock, now, trigger="run-job")
        previous = signal.signal(signal.SIGTERM, lambda *_: typer.echo("SIGTERM: finishing the job first", err=True))
        try:
            result = runner.perform(run, now, Action.RUN, "run by hand (trackrecord run-job)", as_of is not None)
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        services.close()
    assert result is not None
    document = {"job": job.value, "session": run.session.isoformat(), "outcome": result.outcome.value,
                "message": result.message, "details": result.details, "gaps": result.gaps}
    if as_json:
        context.print_json(document)
    else:
        typer.echo(f"{job.value} {run.session}: {result.outcome.value}: {result.message}")
    if result.outcome is Outcome.REFUSED:
        raise SafetyRefusal(result.message)
    if result.outcome is Outcome.FAILED:
        raise RuntimeFailure(result.message)


def jobs(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Each job's next run (local and exchange time) and its last outcome."""
    from trackrecord.bootstrap import connect, wall_clock
    from trackrecord.ledger.backtest_mark import is_backtest
    from trackrecord.market.service import calendar_for
    from trackrecord.ops.runner import JobHistory
    from trackrecord.ops.schedule import Job, JobTimes, next_run
    from trackrecord.ops.scheduler import LOCK_FILE, holder_pid

    workspace = context.workspace(ctx)
    services = connect(workspace)
    try:
        history = JobHistory()
        history.refresh(list(services.ledger.events(after_seq=0)))
        backtest = is_backtest(services.engine)
    finally:
        services.close()
    settings = workspace.settings
    calendar = calendar_for(settings)
    times = JobTimes.of(settings.scheduler)
    now = wall_clock()
    rows = []
    for job in Job:
        following = None if backtest else next_run(calendar, times, job, now)
        last = history.latest.get(job.value)
        rows.append({"job": job.value, "enabled": job in times.jobs and not backtest,
                     "next_run": None if following is None else following.document(calendar.timezone),
                     "last": None if last is None else last.document()})
    pid = holder_pid(workspace.root / LOCK_FILE)
    document = {"exchange": calendar.code, "exchange_tz": calendar.timezone, "scheduler_pid": pid,
                "backtest": backtest, "jobs": rows}
    if as_json:
        context.print_json(document)
        return
    if backtest:  # the scheduler and run-job refuse this workspace: it ended with its replay
        typer.echo("scheduler: none for a BACKTEST workspace (its record ended with its replay; `scheduler` and "
                   "`run-job` refuse it)")
    else:
        typer.echo(f"scheduler: {'running, pid ' + str(pid) if pid else 'not running'} ({calendar.code}, "
                   f"{calendar.timezone})")
    for row in rows:
        nxt = row["next_run"]
        when = "never (a backtest)" if backtest else "off" if not row["enabled"] else \
            "none in the calendar" if nxt is None else \
            f"{nxt['session']}  {nxt['at_exchange'][11:16]} exchange / {nxt['at_local'][:16].replace('T', ' ')} local"
        last = row["last"]
        told = "never run" if last is None else f"{last['session']} {last['outcome']}: {last['message'][:80]}"
        typer.echo(f"  {row['job']:<15} next {when:<52} last {told}")


def scheduler(ctx: typer.Context) -> None:
    """Run the jobs on the exchange's sessions until stopped (SIGTERM finishes the current step)."""
    from trackrecord.bootstrap import connect, job_env, wall_clock
    from trackrecord.ops.runner import Runner
    from trackrecord.ops.schedule import JobTimes
    from trackrecord.ops.scheduler import ShiftedClock, run_scheduler

    workspace = context.workspace(ctx)
    services = connect(workspace)
    try:
        clock = ShiftedClock(wall_clock())
        env = job_env(services)
        env.commands = CliCommands()
        runner = Runner(env, JobTimes.of(services.settings.scheduler), clock, clock())
        run_scheduler(runner, clock, workspace.root, services.settings.scheduler.heartbeat_seconds)
    finally:
        services.close()


def doctor(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Check that this workspace can run unattended; a fix for each failure. Exit 0 when all pass, 1 otherwise."""
    import os
    from pathlib import Path

    from trackrecord.bootstrap import live_broker, wall_clock
    from trackrecord.ops.doctor import Status, run_checks
    from trackrecord.workspace import HOME_ENV

    home = context.options(ctx).home
    root = (home or Path(os.environ.get(HOME_ENV) or Path.cwd())).expanduser().resolve()
    if not root.is_dir():
        from trackrecord.errors import UserError

        raise UserError(f"doctor: no folder {root} (from --home, ${HOME_ENV} or the current folder)")
    def open_broker(settings: Any) -> Any:  # dated by the universe's exchange, as every live run is
        from trackrecord.market.service import calendar_for

        return live_broker(settings, calendar_for(settings).timezone)

    checks = run_checks(root, wall_clock(), open_broker)
    failed = [c for c in checks if c.status is Status.FAIL]
    if as_json:
        context.print_json({"workspace": str(root), "ok": not failed, "checks": [c.document() for c in checks]})
    else:
        for check in checks:
            typer.echo(f"{check.status.value.upper():<5} {check.name:<14} {check.detail}")
            if check.fix:
                typer.echo(f"      {'':<14} fix: {check.fix}")
        typer.echo(f"{len(failed)} check(s) failed" if failed else "all checks passed")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
    app.command("scheduler")(scheduler)
    app.command("run-job")(run_job)
    app.command("jobs")(jobs)
