"""The monthly report's entry point, for the ``report`` command and the bundle verifier.

    build_monthly_report(events, account_id, period, head_seq) -> bytes

``events``: the ledger's events (``StoredEvent``, any order; those after ``head_seq`` are
ignored), e.g. ``SqlLedger.events()`` or the lines of a bundle's ``events.jsonl``.
``account_id``: the account reported on; ``period``: the month, ``"YYYY-MM"``;
``head_seq``: the seq the report is built as of (a ``report.generated`` event names it).
Returns the PDF's bytes: the same events always give the same bytes, whatever the
clock, ``TZ``, locale or working directory. Raises ``UserError`` when the chain does not
reach ``head_seq``, holds no report inputs (``report.inputs_recorded``) for the account up
to it, or no snapshot of the account up to the period's end.
"""

from __future__ import annotations

from collections.abc import Iterable

from trackrecord.ledger.chain import StoredEvent
from trackrecord.analytics.errors import AnalyticsInputError
from trackrecord.analytics.periods import Period
from trackrecord.errors import UserError
from trackrecord.reports.content import MonthlyReport, build_content
from trackrecord.reports.record import rebuild_record


def parse_period(text: str, what: str = "PERIOD") -> Period:
    """``Period.parse`` with the user's error (exit 2)."""
    try:
        return Period.parse(text, what)
    except AnalyticsInputError as exc:
        raise UserError(str(exc)) from None


def build_monthly_content(events: Iterable[StoredEvent], account_id: str, period: str, head_seq: int) -> MonthlyReport:
    """The report's typed model (what ``build_monthly_report`` draws)."""
    record = rebuild_record(events, account_id, head_seq)
    try:
        return build_content(record, parse_period(period))
    finally:
        record.close()


def build_monthly_report(events: Iterable[StoredEvent], account_id: str, period: str, head_seq: int) -> bytes:
    from trackrecord.reports.pdf import monthly_pdf

    return monthly_pdf(build_monthly_content(events, account_id, period, head_seq))
