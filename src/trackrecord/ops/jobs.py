"""The scheduler's jobs as plain functions over the engine's use cases.

Each job takes a :class:`JobEnv` (what the workspace gives it: services, calendar, the
notifier, a way to open the broker) and the run it performs, and returns a
:class:`JobResult`. ``trackrecord run-job``, the scheduler and the soak test call the same
functions; :mod:`trackrecord.ops.runner` records each run's start, end and outcome.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from trackrecord.brokers.base import BrokerError
from trackrecord.domain import Mode
from trackrecord.engine.account import session_start_utc, settle_with_broker
from trackrecord.engine.execution import execute_session, run_auctions, run_daily
from trackrecord.engine.kill_switch import halt
from trackrecord.engine.rebalance import UNSENT
from trackrecord.errors import RuntimeFailure, SafetyRefusal, TrackrecordError, UserError
from trackrecord.ledger import queries
from trackrecord.market.service import build_price_source, update_prices
from trackrecord.ops.notify import Notification, Notifier
from trackrecord.ops.schedule import Job, ScheduledRun, report_period
from trackrecord.risk.rules import loss_limit_over
from trackrecord.strategy.planner import plan_id_for

if TYPE_CHECKING:
    from trackrecord.services import Services
    from trackrecord.engine.context import PlanningContext, RunContext
    from trackrecord.market.calendar import ExchangeCalendar

log = logging.getLogger("trackrecord.ops.jobs")


class Outcome(str, Enum):
    SUCCEEDED = "succeeded"
    REFUSED = "refused"  # a safety rule said no (exit 3): recorded, needs a person
    FAILED = "failed"  # broker, network, data: a rerun may succeed
    SKIPPED = "skipped"  # nothing this job can do in this workspace (and why)
    CAUGHT_UP = "caught_up"  # run late: what could still be had was recorded, the rest is a gap


@dataclass
class JobResult:
    outcome: Outcome
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)


ContextFactory = Callable[["Services", "ExchangeCalendar", Mode], "RunContext"]


class Commands(Protocol):
    """Our own command line, for the jobs that run a command (reports, flex): the CLI
    supplies it (``trackrecord.cli.ops_commands``)."""

    def has(self, name: str) -> bool: ...

    def run(self, argv: list[str]) -> tuple[int, str, str]: ...


@dataclass
class JobEnv:
    services: "Services"
    calendar: "ExchangeCalendar"
    notifier: Notifier
    open_broker: ContextFactory
    planning: Callable[["Services", "ExchangeCalendar", Mode], "PlanningContext"]
    commands: Commands | None = None

    @property
    def mode(self) -> Mode:
        return self.services.settings.mode


def _money(value: Any) -> str:
    return "n/a" if value is None else f"{Decimal(str(value)):,.2f}"


# -- rebalance ---------------------------------------------------------------------------------


def rebalance_job(env: JobEnv, run: ScheduledRun, now: datetime, back_dated: bool = False) -> JobResult:
    """The month's rebalance: signal, plan, risk and (paper, live) the orders, through the
    engine's ``execute_session`` (a rerun finds what the broker has and sends nothing twice).
    The prices are brought up to date first (a missed close job left them behind); the
    planner's gates judge them."""
    _update_prices(env, now)
    ctx = env.planning(env.services, env.calendar, env.mode) if env.mode is Mode.DRY_RUN else \
        env.open_broker(env.services, env.calendar, env.mode)
    try:
        outcome = execute_session(ctx, run.session, now, back_dated, _live_orders_gate(env))
    except SafetyRefusal as exc:
        env.notifier.send(Notification("risk_denial", f"rebalance {run.session} refused", str(exc)))
        raise
    finally:
        ctx.close()
    if outcome.report is None:
        return JobResult(Outcome.SKIPPED, f"{run.session} is not a rebalance session")
    document = outcome.report.document()
    lines = [f"{o['side']} {o['quantity']} {o['symbol']} {o['order_type']} [{o['status']}]" for o in document["orders"]]
    label = " (SIMULATED)" if ctx.simulated else ""
    env.notifier.send(Notification("rebalance_plan", f"rebalance {run.session}{label}: {len(lines)} order(s), "
                                   f"risk {document['verdict']}", "\n".join(lines) or "no orders: on target",
                                   details={"plan_id": document["plan_id"], "mode": document["mode"]}))
    return JobResult(Outcome.SUCCEEDED, f"plan {document['plan_id']}: {len(lines)} order(s), "
                     f"{len(document['already_at_broker'])} already at the broker",
                     {"plan_id": document["plan_id"], "orders": len(lines),
                      "already_at_broker": len(document["already_at_broker"]), "sent": len(outcome.report.sent)})


def _live_orders_gate(env: JobEnv) -> Callable[[Any], None] | None:
    """Unattended, nobody types the CONFIRM that ``execute --live`` asks for: in ``mode: live``
    the job sends only when ``scheduler.live_orders`` says so. Without it the plan and its risk
    decision are recorded, then the send is refused (exit 3)."""
    if env.mode is not Mode.LIVE or env.services.settings.scheduler.live_orders:
        return None

    def refuse(report: Any) -> None:
        raise SafetyRefusal(f"live orders not sent: plan {report.plan_id} ({len(report.orders)} order(s)) is "
                            "recorded, but scheduler.live_orders is false in trackrecord.yaml; send it by hand with "
                            "`trackrecord execute --live` before the cut-off, or set scheduler.live_orders: true")

    return refuse


# -- close -------------------------------------------------------------------------------------


def _update_prices(env: JobEnv, now: datetime) -> str | None:
    """prices update; a failing source is reported, never the end of the close job."""
    settings = env.services.settings
    try:
        source = build_price_source(settings, env.services.workspace.root, env.calendar)
        updated = update_prices(env.services.ledger, settings, source, env.calendar, now)
    except RuntimeFailure as exc:
        return str(exc)
    return updated.unsettled  # a close job run before the source's close settles is tried again


def close_job(env: JobEnv, run: ScheduledRun, now: datetime, back_dated: bool = False) -> JobResult:
    """After the close: prices update, gates, pull, snapshot, the daily loss check, the
    daily summary (the runner signs the checkpoint). Paper records ``run.session``; a real
    broker values the account now (its last completed session), unless a session was named."""
    price_failure = _update_prices(env, now)
    if env.mode is Mode.DRY_RUN:
        return JobResult(Outcome.SKIPPED if price_failure is None else Outcome.FAILED,
                         price_failure or "dry_run: prices updated; there is no broker to pull from or snapshot")
    ctx = env.open_broker(env.services, env.calendar, env.mode)
    try:
        settled = _settle_rebalance(ctx, run.session, now)
        daily = run_daily(ctx, run.session if ctx.mode is Mode.PAPER or back_dated else None, now)
        halted = _daily_loss_check(ctx, daily.report.session, daily.report.nav)
    finally:
        ctx.close()
    report = daily.report
    report.new_fills += settled
    label = " (SIMULATED)" if ctx.simulated else ""
    summary = (f"NAV {_money(report.nav)} {env.services.settings.account.base_currency}, {report.new_fills} new "
               f"fill(s), the session's price gates {'passed' if report.gates_passed else 'FAILED: ' + report.gate_message}")
    if report.new_fills:
        env.notifier.send(Notification("fills", f"{report.new_fills} fill(s) on {report.session}{label}", summary))
    if halted:
        env.notifier.send(Notification("kill_switch", f"trading HALTED on {report.session}", halted))
    env.notifier.send(Notification("daily_summary", f"{report.session}{label}: NAV {_money(report.nav)}", summary,
                                   details={"session": report.session.isoformat(), "nav": str(report.nav)}))
    problems = [p for p in (price_failure, daily.blocked_rebalance) if p]
    outcome = Outcome.FAILED if price_failure else Outcome.REFUSED if daily.blocked_rebalance else Outcome.SUCCEEDED
    return JobResult(outcome, "; ".join([summary, *problems]),
                     {"session": report.session.isoformat(), "nav": report.nav, "new_fills": report.new_fills,
                      "snapshot_written": report.snapshot_written, "halted": bool(halted)})


def _settle_rebalance(ctx: "RunContext", session: date, now: datetime) -> int:
    """On a rebalance session whose orders are out and open, the engine's own rerun settles
    them (auction, final states, fills): it finds every order at the broker and sends none.
    An order whose intent has no answer yet is left to the pull: never sent after the close.
    Returns the fills it recorded."""
    with queries.reading(ctx.ledger.engine) as conn:
        statuses = queries.order_statuses(conn, plan_id_for(ctx.account_id, session))
    if statuses and not any(s in UNSENT for s in statuses.values()) and \
            not all(s.is_terminal for s in statuses.values()):
        report = execute_session(ctx, session, now, back_dated=True).report
        return 0 if report is None else report.fills
    return 0


def _daily_loss_check(ctx: "RunContext", session: date, nav: str | None) -> str | None:
    """HALT the kill switch when NAV fell beyond ``risk.daily_loss_limit`` (scaled to the
    gap since the last snapshot) net of flows; returns the reason when it halted."""
    if nav is None:
        return None
    with ctx.ledger.writer() as writer:
        before = queries.nav_and_flows_before(writer.conn, ctx.account_id, session,
                                              ctx.settings.account.account_id or ctx.settings.broker.sim.account_id)
        if before.nav is None or before.nav <= 0 or before.session_date is None:
            return None
        change = (Decimal(nav) - before.flows - before.nav) / before.nav
        gap = max(1, len(ctx.calendar.sessions_between(before.session_date, session)) - 1)
        limit = loss_limit_over(gap, Decimal(str(ctx.settings.risk.daily_loss_limit)))
        if -change <= limit:
            return None
        reason = (f"daily loss check: NAV {_money(nav)} is down {-change:.2%} since {before.session_date} "
                  f"({_money(before.nav)}), beyond {limit:.2%} (risk.daily_loss_limit)")
        return reason if halt(writer, reason) is not None else None


def catch_up_close(env: JobEnv, run: ScheduledRun, now: datetime) -> JobResult:
    """A close run too late for its snapshot: what the broker can still give is recorded
    (the prices, the session's executions, a simulated market's auction of that session),
    and the snapshot is a gap, never invented."""
    price_failure = _update_prices(env, now)
    gap = (f"no snapshot of {run.session}: its close job ran at {now:%Y-%m-%d %H:%M}Z, after the session's evening; "
           "the broker values the account now, not at that close")
    if env.mode is Mode.DRY_RUN:
        return JobResult(Outcome.CAUGHT_UP, price_failure or "dry_run: prices updated", gaps=[gap])
    ctx = env.open_broker(env.services, env.calendar, env.mode)
    try:
        since = run_auctions(ctx, run.session)  # an earlier session settled now has fills of its own
        with ctx.ledger.writer() as writer:
            pulled = settle_with_broker(writer, ctx, session_start_utc(since)).pulled
    finally:
        ctx.close()
    if pulled.new_fills:
        env.notifier.send(Notification("fills", f"{pulled.new_fills} fill(s) found for {run.session} (caught up)",
                                       f"recorded late from the broker's executions; {gap}"))
    message = f"caught up {run.session}: {pulled.new_fills} new fill(s)" + (f"; {price_failure}" if price_failure else "")
    return JobResult(Outcome.CAUGHT_UP, message, {"new_fills": pulled.new_fills}, gaps=[gap])


# -- reports and flex: built by their own commands -------------------------------------------------


def _has_command(env: JobEnv, name: str) -> bool:
    return env.commands is not None and env.commands.has(name)


def _unavailable(what: str, command: str, details: dict[str, Any] | None = None) -> JobResult:
    return JobResult(Outcome.SKIPPED, f"{what}: `trackrecord {command}` is not available to this run", details or {})


def monthly_report_job(env: JobEnv, run: ScheduledRun, now: datetime, back_dated: bool = False) -> JobResult:
    first, last = report_period(env.calendar, run)
    period = f"{first:%Y-%m}"
    if not _has_command(env, "report"):
        return _unavailable(f"monthly report {period} not built", "report", {"period": period})
    document = _run_command(env, ["report", period, "--json"])
    pdf = _report_path(env, document)
    env.notifier.send(Notification("monthly_report", f"monthly report {period}", f"The report of {period} is attached.",
                                   attachments=(pdf,) if pdf is not None else ()))
    return JobResult(Outcome.SUCCEEDED, f"monthly report {period} built", {"period": period,
                                                                           "path": None if pdf is None else str(pdf)})


def weekly_report_job(env: JobEnv, run: ScheduledRun, now: datetime, back_dated: bool = False) -> JobResult:
    first, _ = report_period(env.calendar, run)
    week = f"{first.isocalendar()[0]}-W{first.isocalendar()[1]:02d}"
    if not _has_command(env, "weekly-report"):
        return _unavailable(f"weekly report {week} not built", "weekly-report", {"week": week})
    _run_command(env, ["weekly-report", "--week", week, "--json"])
    return JobResult(Outcome.SUCCEEDED, f"weekly report {week} built", {"week": week})


def flex_job(env: JobEnv, run: ScheduledRun, now: datetime, back_dated: bool = False) -> JobResult:
    """Fetch the configured Flex statement and reconcile it (``trackrecord flex fetch``)."""
    if not _has_command(env, "flex"):
        return _unavailable("flex statement not fetched", "flex fetch")
    if env.services.settings.flex.query_id is None:
        return JobResult(Outcome.SKIPPED, "flex statement not fetched: flex.query_id is not set in trackrecord.yaml")
    document = _run_command(env, ["flex", "fetch", "--json"])
    breaks = document.get("breaks") if isinstance(document, dict) else None
    count = len(breaks) if isinstance(breaks, list) else breaks
    return JobResult(Outcome.SUCCEEDED, f"flex statement fetched and reconciled: {count} break(s)",
                     {"breaks": count})


def _run_command(env: JobEnv, args: list[str]) -> Any:
    """Run one of our own commands (the report and flex commands own their use cases); its
    JSON document, or RuntimeFailure with what it printed."""
    assert env.commands is not None
    code, out, err = env.commands.run(["--home", str(env.services.workspace.root), *args])
    if code != 0:
        raise RuntimeFailure(f"`trackrecord {' '.join(args)}` exited {code}: {err.strip()[-400:]}")
    try:
        return json.loads(out)
    except ValueError:
        return None


def _report_path(env: JobEnv, document: Any) -> Path | None:
    """The PDF a report command says it wrote, when it is there."""
    if not isinstance(document, dict):
        return None
    for key in ("path", "pdf", "out"):
        if isinstance(document.get(key), str):
            path = Path(document[key])
            path = path if path.is_absolute() else env.services.workspace.root / path
            return path if path.is_file() else None
    return None


JOBS: dict[Job, Callable[[JobEnv, ScheduledRun, datetime, bool], JobResult]] = {
    Job.REBALANCE: rebalance_job,
    Job.CLOSE: close_job,
    Job.MONTHLY_REPORT: monthly_report_job,
    Job.WEEKLY_REPORT: weekly_report_job,
    Job.FLEX: flex_job,
}


def failure_outcome(exc: BaseException) -> tuple[Outcome, str]:
    """How an exception ends a job: refused (exit 3 class), failed otherwise."""
    if isinstance(exc, SafetyRefusal):
        return Outcome.REFUSED, str(exc)
    if isinstance(exc, BrokerError) and not isinstance(exc, TrackrecordError):
        return Outcome.FAILED, f"broker: {exc}"
    if isinstance(exc, (RuntimeFailure, UserError, TrackrecordError)):
        return Outcome.FAILED, str(exc)
    return Outcome.FAILED, f"{type(exc).__name__}: {exc}"

