"""``trackrecord doctor``: is this workspace fit to run unattended? Each check says what it
found and, when it fails, the fix. Nothing is written: the database is opened read-only
and never migrated, the broker is only asked questions, no notification is sent.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from trackrecord.config import CONFIG_FILE, check_references, load_settings
from trackrecord.errors import TrackrecordError, UserError
from trackrecord.secure_files import secret_from_env

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.config import Settings
    from trackrecord.market.calendar import ExchangeCalendar
    from trackrecord.workspace import Workspace

MAX_CLOCK_SKEW = timedelta(seconds=5)
CALENDAR_AHEAD = timedelta(days=365)
HEARTBEAT_MISSES = 3


class Status(str, Enum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def document(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status.value, "detail": self.detail, "fix": self.fix}


def _ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.FAIL, detail, fix)


def _skip(name: str, detail: str) -> Check:
    return Check(name, Status.SKIP, detail)


@dataclass
class Findings:
    """What earlier checks opened, for the later ones (None when that check failed)."""

    workspace: "Workspace | None" = None
    engine: "Engine | None" = None
    calendar: "ExchangeCalendar | None" = None
    backtest_ends: str | None = None  # a BACKTEST's last session: it is never updated nor scheduled


def check_configuration(root: Path, found: Findings) -> Check:
    from trackrecord.workspace import Workspace

    path = root / CONFIG_FILE
    try:
        settings = load_settings(path)
        check_references(settings, str(path))
    except TrackrecordError as exc:
        return _fail("configuration", str(exc), (f"edit {path} (`trackrecord config check --json` lists every problem, "
                     "each with its line, key and what was expected)"))
    found.workspace = Workspace(root, settings)
    return _ok("configuration", f"{path}: valid, mode {settings.mode.value}")


def check_database(found: Findings) -> Check:
    from trackrecord.config import masked_url
    from trackrecord.ledger.db import HEAD_REVISION, create_read_only_engine, current_revision

    if found.workspace is None:
        return _skip("database", "needs a valid configuration")
    url = found.workspace.database_url
    shown = masked_url(url)
    if url.startswith("sqlite") and not (found.workspace.root / "trackrecord.db").is_file() and \
            found.workspace.settings.database.url is None:
        return _fail("database", f"{shown}: no database file", "run `trackrecord init` in this folder, or restore "
                     "trackrecord.db from the backup (docs/operations.md)")
    engine = create_read_only_engine(url)
    try:
        revision = current_revision(engine)
    except Exception as exc:  # the server is down, refuses us, or the file is not a database
        engine.dispose()
        return _fail("database", f"{shown}: cannot connect: {str(exc).splitlines()[0][:300]}",
                     "start the database server, or fix database.url (password in the URL's environment)")
    if revision != HEAD_REVISION:
        engine.dispose()
        return _fail("database", f"{shown}: schema at revision {revision or 'none'}, this version needs "
                     f"{HEAD_REVISION}", "back the database up, then run `trackrecord ledger verify` (any "
                     "command migrates to the current schema; docs/operations.md, upgrades)")
    found.engine = engine
    found.backtest_ends = _backtest_end(engine)
    return _ok("database", f"{shown}: reachable, schema at revision {revision} (current)")


def _backtest_end(engine: "Engine") -> str | None:
    from trackrecord.ledger.backtest_mark import backtest_of

    with engine.connect() as conn:
        mark = backtest_of(conn)
    return None if mark is None else str(mark.get("to"))


def _mode_problem(path: Path) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    return None if mode & 0o077 == 0 else f"{path} is mode {mode:04o}: readable by others"


def check_keys(found: Findings) -> Check:
    from trackrecord.ledger.signing import SigningKeyError, key_fingerprint, sign_message

    if found.workspace is None:
        return _skip("keys", "needs a valid configuration")
    private, public = found.workspace.private_key_path, found.workspace.public_key_path
    if not private.is_file():
        return _fail("keys", f"the signing key {private} is missing",
                     "restore it from its backup (docs/operations.md, signing key); never make a new one for an "
                     "existing record")
    if not public.is_file():
        return _fail("keys", f"the public key {public} is missing", f"restore {public} from the export or the backup")
    problem = _mode_problem(private)
    if problem:
        return _fail("keys", problem, f"chmod 600 {private}")
    try:
        derived, _ = sign_message(private, b"trackrecord doctor")
    except SigningKeyError as exc:
        return _fail("keys", str(exc), "restore the signing key from its backup")
    recorded = public.read_text(encoding="ascii").strip()
    if derived != recorded:
        return _fail("keys", f"{private} does not match {public}: its checkpoints would not verify",
                     "restore the matching key pair from the backup")
    return _ok("keys", f"signing key {private} (0600) matches {public.name}, "
               f"fingerprint {key_fingerprint(public.read_text(encoding='ascii').strip())}")


def check_ledger(found: Findings) -> Check:
    from trackrecord.ledger.operations import verify_ledger
    from trackrecord.ledger.store import SqlLedger

    if found.workspace is None or found.engine is None:
        return _skip("ledger", "needs the database")
    result = verify_ledger(SqlLedger(found.engine), found.workspace.public_key_path)
    if not result.ok:
        return _fail("ledger", f"verify fails: {result.problems[0]}", "run `trackrecord verify`, then restore from "
                     "the last good backup (docs/operations.md); write nothing to this ledger until it verifies")
    if result.unsigned_events:
        return _fail("ledger", f"verifies, but {result.unsigned_events} event(s) after the last signed checkpoint",
                     "run `trackrecord ledger checkpoint` (and check why a command could not sign)")
    return _ok("ledger", f"verifies: {result.events} events up to its last signed checkpoint (seq {result.head_seq})")


def check_record(found: Findings) -> Check:
    """The configured account's record takes what trackrecord.yaml would now write into it
    (``ledger.record_rules``): every job would otherwise fail on its first snapshot."""
    from trackrecord.domain import Mode
    from trackrecord.ledger.queries import reading
    from trackrecord.ledger.record_rules import (
        RecordKind,
        Recorder,
        recorded_calendar,
        recorded_kind,
        refuse_a_mixed_record,
        refuse_another_calendar,
        refuse_another_currency,
    )

    if found.workspace is None or found.engine is None:
        return _skip("record", "needs the database")
    settings = found.workspace.settings
    paper = settings.mode is Mode.PAPER
    account = settings.broker.sim.account_id if paper else settings.account.account_id
    if not account:
        return _skip("record", "no account configured (account.account_id)")
    with reading(found.engine) as conn:
        recorded = recorded_kind(conn, account)
        calendar = recorded_calendar(conn)
    base = settings.account.base_currency
    try:  # a real broker's snapshot is checked for its currency only
        refuse_another_calendar(settings.universe.calendar, calendar)
        if recorded is None:
            return _ok("record", f"no snapshot of {account} yet")
        if paper:
            refuse_a_mixed_record(account, RecordKind(base, Recorder.SIMULATOR), recorded)
        else:
            refuse_another_currency(account, base, recorded)
    except UserError as exc:
        problem, _, fix = str(exc).partition("; ")
        return _fail("record", problem, fix or "see docs/ledger.md, One record, one kind")
    return _ok("record", f"{account}: in {recorded.currency}, written by {recorded.recorder.value}")


def check_broker(found: Findings, open_broker: Callable[["Settings"], Any], now: datetime) -> list[Check]:
    """Reachable, the configured account, and its clock; only a live workspace has a broker."""
    from trackrecord.domain import Mode

    if found.workspace is None:
        return [_skip("broker", "needs a valid configuration"), _skip("clock", "needs the broker")]
    settings = found.workspace.settings
    if settings.mode is not Mode.LIVE:
        return [_skip("broker", f"mode {settings.mode.value}: the simulated broker, nothing to reach"),
                _skip("clock", f"mode {settings.mode.value}: no broker clock to compare with")]
    ib = settings.broker.ibkr
    try:
        broker = open_broker(settings)
        try:
            account = broker.account_id
            server = broker.server_time()
        finally:
            broker.close()
    except Exception as exc:  # BrokerError, SafetyRefusal (wrong account), timeouts
        return [_fail("broker", f"{ib.host}:{ib.port}: {exc}", "start IB Gateway (docs/operations.md: daily "
                      "restart, weekly login), check broker.ibkr.host/port and that the API is enabled"),
                _skip("clock", "needs the broker")]
    configured = settings.account.account_id
    if configured and account != configured:
        return [_fail("broker", f"connected account {account} is not account.account_id {configured}",
                      "log IB Gateway in to the configured account, or fix account.account_id"),
                _skip("clock", "needs the configured account")]
    skew = abs(server - now)
    broker_check = _ok("broker", f"{ib.host}:{ib.port}: account {account}" + (" (paper)" if account.startswith("DU")
                                                                             else ""))
    if skew > MAX_CLOCK_SKEW:
        return [broker_check, _fail("clock", f"this machine's clock is {skew.total_seconds():.0f} s away from the "
                                    f"broker's ({server:%H:%M:%S} UTC)", "enable time synchronisation "
                                    "(`timedatectl set-ntp true`)")]
    return [broker_check, _ok("clock", f"within {skew.total_seconds():.1f} s of the broker's clock")]


def check_live_orders(found: Findings) -> Check:
    """Whether the scheduler's rebalance may send live orders unattended (a setting, not a fault)."""
    from trackrecord.domain import Mode

    if found.workspace is None:
        return _skip("live orders", "needs a valid configuration")
    settings = found.workspace.settings
    if settings.mode is not Mode.LIVE:
        return _skip("live orders", f"mode {settings.mode.value}: the scheduler sends no live orders")
    if settings.scheduler.live_orders:
        return _ok("live orders", "scheduler.live_orders: true: the rebalance job sends live orders unattended")
    return _ok("live orders", "scheduler.live_orders: false: the rebalance job plans, records and refuses to send; "
               "send by hand with `trackrecord execute --live`")


def check_calendar(found: Findings, now: datetime) -> Check:
    from trackrecord.market.service import calendar_for

    if found.workspace is None:
        return _skip("calendar", "needs a valid configuration")
    calendar = calendar_for(found.workspace.settings)
    found.calendar = calendar
    needed = (now + CALENDAR_AHEAD).date()
    if calendar.last_session < needed - timedelta(days=7):
        return _fail("calendar", f"{calendar.code} sessions end on {calendar.last_session}, before {needed}: the "
                     "scheduler would stop finding sessions", "upgrade exchange_calendars "
                     "(`pip install -U exchange_calendars`, then restart the scheduler)")
    return _ok("calendar", f"{calendar.code} sessions known up to {calendar.last_session}")


def check_freshness(found: Findings, now: datetime) -> Check:
    from trackrecord.market.service import last_completed_session
    from trackrecord.market.store import last_stored_dates

    if found.workspace is None or found.engine is None or found.calendar is None:
        return _skip("data", "needs the database and the calendar")
    if found.backtest_ends is not None:
        return _skip("data", f"a backtest: its prices end where its replay ended ({found.backtest_ends}); it is "
                     "never brought up to date")
    settings, calendar = found.workspace.settings, found.calendar
    symbols = [i.symbol for i in settings.universe.instruments]
    stored = last_stored_dates(found.engine, symbols)
    expected = last_completed_session(calendar, now)
    allowed = calendar.previous_session(expected) if settings.prices.max_gap_sessions else expected
    stale = sorted(s for s in symbols if stored.get(s) is None or stored[s] < allowed)
    if stale:
        oldest = min((stored.get(s) or date.min for s in stale))
        return _fail("data", f"prices of {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''} end "
                     f"{'never' if oldest == date.min else oldest}; the last completed session is {expected}",
                     "run `trackrecord prices update` (the close job does it daily: is the scheduler running?)")
    return _ok("data", f"prices up to {min(stored[s] for s in symbols)} (last completed session {expected})")


def check_heartbeat(found: Findings, now: datetime) -> Check:
    from trackrecord.ops.scheduler import HEARTBEAT_FILE, LOCK_FILE, holder_pid, read_heartbeat

    if found.workspace is None:
        return _skip("scheduler", "needs a valid configuration")
    if found.backtest_ends is not None:
        return _skip("scheduler", "a backtest: no scheduler runs it")
    root = found.workspace.root
    pid = holder_pid(root / LOCK_FILE)
    beat = read_heartbeat(root / "logs" / HEARTBEAT_FILE)
    fix = "start it: `systemctl start trackrecord-scheduler` (deploy/trackrecord-scheduler.service)"
    if pid is None:
        last = f"; last heartbeat {beat['at']}" if beat else ""
        return _fail("scheduler", f"no scheduler runs this workspace{last}", fix)
    interval = found.workspace.settings.scheduler.heartbeat_seconds
    if beat is None:
        return _fail("scheduler", f"pid {pid} holds the lock but wrote no heartbeat", "restart it: "
                     "`systemctl restart trackrecord-scheduler`")
    age = now - datetime.fromisoformat(str(beat["at"]).replace("Z", "+00:00"))
    if age > timedelta(seconds=interval * HEARTBEAT_MISSES):
        return _fail("scheduler", f"pid {pid}: last heartbeat {age.total_seconds():.0f} s ago (every {interval} s)",
                     "it is stuck: `systemctl restart trackrecord-scheduler`, then read logs/trackrecord.log")
    following = beat.get("next_run") or {}
    return _ok("scheduler", f"pid {pid}, heartbeat {age.total_seconds():.0f} s ago; next "
               f"{following.get('job', 'none')} {following.get('at_exchange', '')}".rstrip())


def check_notifications(found: Findings, environ: Mapping[str, str]) -> Check:
    """The channels can be used: secrets set where they are needed (no message is sent)."""
    from trackrecord.config import SECRET_ENV

    if found.workspace is None:
        return _skip("notifications", "needs a valid configuration")
    if found.backtest_ends is not None:
        return _skip("notifications", "a backtest: it runs no job to tell anyone about")
    config = found.workspace.settings.notifications
    missing = [f"notifications.webhooks[{i}].url_env: ${hook.url_env} is not set"
               for i, hook in enumerate(config.webhooks) if hook.url_env and not environ.get(hook.url_env)]
    if config.smtp_host and config.smtp_user:
        try:
            password = secret_from_env(SECRET_ENV["smtp_password"], environ)
        except UserError as exc:
            missing.insert(0, str(exc))
        else:
            if not password:
                missing.insert(0, f"notifications.smtp_user is {config.smtp_user} but ${SECRET_ENV['smtp_password']} "
                                  "is not set")
    if missing:
        return _fail("notifications", "; ".join(missing), "set it in the scheduler's environment file "
                     "(/etc/trackrecord/trackrecord.env, or a *_FILE secret in compose)")
    channels = (["e-mail to " + ", ".join(config.email_to)] if config.smtp_host else []) + \
        [f"{hook.format} webhook" for hook in config.webhooks]
    if not channels:
        return _ok("notifications", "none configured: nobody is told when a job fails (notifications: in "
                   "trackrecord.yaml)")
    return _ok("notifications", ", ".join(channels))


def run_checks(root: Path, now: datetime, open_broker: Callable[["Settings"], Any],
               environ: Mapping[str, str] | None = None) -> list[Check]:
    found = Findings()
    try:
        checks = [check_configuration(root, found), check_database(found), check_keys(found), check_ledger(found),
                  check_record(found)]
        checks += check_broker(found, open_broker, now) + [check_live_orders(found)]
        checks += [check_calendar(found, now), check_freshness(found, now), check_heartbeat(found, now),
                   check_notifications(found, os.environ if environ is None else environ)]
    finally:
        if found.engine is not None:
            found.engine.dispose()
    return checks

