"""The weekly report's use case: choose the week (the last complete ISO week of the account's
exchange calendar unless one is named), freeze the report's inputs, build the report as of the
ledger's head, write ``reports/weekly/YYYY-Www.pdf`` and record ``report.generated``
(``kind: weekly``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrecord.engine.reporting import (
    ReportIdentity,
    ReportVerdict,
    check_destination,
    count_pages,
    freeze_report_inputs,
    rebuild_and_compare,
    record_generated,
)
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.backtest_mark import backtest_of, chain_backtest_section, last_session_of
from trackrecord.reports.record import report_head
from trackrecord.reports.weekly import Week
from trackrecord.user_files import write_whole

if TYPE_CHECKING:
    from trackrecord.market.calendar import ExchangeCalendar
    from trackrecord.services import Services


@dataclass(frozen=True, slots=True)
class WeeklyMade:
    path: Path
    sha256: str
    pages: int
    week: Week
    account: str
    label: str
    ledger_seq: int
    ledger_hash: str
    next_rebalance: date | None
    figures: dict[str, dict[str, float | None]]
    recorded_seq: int | None

    def document(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "pages": self.pages, "week": self.week.label,
                "from": self.week.first.isoformat(), "to": self.week.last.isoformat(), "account": self.account,
                "label": self.label, "ledger_seq": self.ledger_seq, "ledger_hash": self.ledger_hash,
                "next_rebalance": None if self.next_rebalance is None else self.next_rebalance.isoformat(),
                "figures": self.figures}


def last_complete_week(calendar: "ExchangeCalendar", now: datetime) -> Week:
    """The latest ISO week whose every session has closed by ``now``."""
    from trackrecord.market.service import last_completed_session

    done = last_completed_session(calendar, now)
    week = Week.of(done)
    return week if _last_session(calendar, week) == done else week.previous


def _last_session(calendar: "ExchangeCalendar", week: Week) -> date | None:
    sessions = calendar.sessions_between(week.first, week.last)
    return None if not len(sessions) else sessions[-1].item()


def chosen_week(calendar: "ExchangeCalendar", text: str | None, now: datetime) -> Week:
    """``--week`` checked (an ISO week that has ended, with a session), or the default."""
    latest = last_complete_week(calendar, now)
    if text is None:
        return latest
    week = Week.parse(text)
    if week.first > latest.first:
        raise UserError(f"--week {week.label}: that week has not ended yet (the last complete week is {latest.label})")
    if _last_session(calendar, week) is None:
        raise UserError(f"--week {week.label}: no {calendar.code} session in that week")
    return week


def make_weekly_report(services: "Services", calendar: "ExchangeCalendar", week: Week, account_id: str | None,
                       out: Path | None) -> WeeklyMade:
    from trackrecord.reports.weekly import build_weekly_content, weekly_pdf

    path = (out if out is not None else services.workspace.root / "reports" / "weekly" / f"{week.label}.pdf")
    path = path.expanduser().resolve()
    check_destination(path, path)
    account = freeze_report_inputs(services, week.period, account_id, what="--week")
    events = list(services.ledger.events())
    head_seq, head_hash = report_head(events)
    next_rebalance = next_rebalance_after(calendar, week, events)
    content = build_weekly_content(events, account, week, head_seq, next_rebalance)
    pdf = weekly_pdf(content)
    write_whole(path, pdf)
    digest = hashlib.sha256(pdf).hexdigest()
    recorded = record_generated(services, events, path, {
        "kind": "weekly", "period": week.label, "account_id": account, "head_seq": head_seq,
        "head_hash": head_hash, "sha256": digest, "next_rebalance": next_rebalance})
    return WeeklyMade(path, digest, count_pages(pdf), week, account, content.label, head_seq, head_hash,
                      next_rebalance, content.figures_document(), recorded)


def verify_weekly_report(services: "Services", calendar: "ExchangeCalendar", pdf_path: Path) -> ReportVerdict:
    """Rebuild the weekly report ``pdf_path`` names (account, week, head) from this ledger and
    compare bytes; the next rebalance session is the one its ``report.generated`` recorded.
    ``UserError`` when the file is no weekly report of this workspace's ledger."""
    from trackrecord.reports.weekly import IDENTITY, build_weekly_report

    def rebuild(events: list[Any], identity: ReportIdentity) -> bytes:
        week = Week.parse(identity.period)
        digest = hashlib.sha256(pdf_path.read_bytes()).hexdigest()
        next_rebalance = _recorded_next_rebalance(events, week, identity.head_seq, digest) \
            or next_rebalance_after(calendar, week, events)
        return build_weekly_report(events, identity.account, week, identity.head_seq, next_rebalance)

    return rebuild_and_compare(services, pdf_path, IDENTITY, f"--verify {pdf_path}", "weekly", rebuild)


def next_rebalance_after(calendar: "ExchangeCalendar", week: Week, events: list[Any]) -> date | None:
    """The rebalance session after ``week``; None for a backtest whose record ends before it
    (the replay stopped there: no rebalance will follow)."""
    following = calendar.next_rebalance_session(week.last + timedelta(days=1))
    ended = last_session_of(chain_backtest_section(events))
    return None if ended is not None and following is not None and following > ended else following


def record_clock(services: "Services", calendar: "ExchangeCalendar", now: datetime) -> datetime:
    """The clock the default week is the last complete one of: ``now``, or for a backtest the
    close of its last session (its record ends there: a later week has no snapshot of it)."""
    with services.engine.connect() as conn:
        ended = last_session_of(backtest_of(conn))
    return now if ended is None else calendar.close_time(ended) + timedelta(hours=1)


def _recorded_next_rebalance(events: list[Any], week: Week, head_seq: int, sha256: str) -> date | None:
    """The next rebalance the ``report.generated`` of this file recorded (the one with its
    sha256; else the latest of its week and head: the same report made again by a later
    version may say otherwise)."""
    made = [data for data in (e.data() for e in events if e.kind == kinds.REPORT_GENERATED)
            if data.get("kind") == "weekly" and data.get("period") == week.label and data.get("head_seq") == head_seq]
    chosen = next((data for data in made if data.get("sha256") == sha256), made[-1] if made else {})
    return date.fromisoformat(chosen["next_rebalance"]) if chosen.get("next_rebalance") else None
