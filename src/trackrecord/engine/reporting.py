"""Use cases of the monthly report: make one (freeze its inputs, build it as of the ledger's
head, write it, record ``report.generated``) and verify one (rebuild it as of the head it
names and compare bytes)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrecord.engine.annotations import freeze_month_commentary
from trackrecord.engine.attribution import model_closes
from trackrecord.engine.performance import (
    PerformanceInputs,
    benchmark_name,
    load_benchmark,
    load_performance_inputs,
    record_account,
)
from trackrecord.market.calendar import open_calendar
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.market.store import raw_closes
from trackrecord.analytics.periods import Period
from trackrecord.reports.inputs import FrozenInputs, aligned_benchmark, inputs_payload, settings_json
from trackrecord.reports.record import report_head
from trackrecord.user_files import refuse_special_file, refuse_unwritable, write_whole

if TYPE_CHECKING:
    from trackrecord.services import Services

# account, month, head seq, head hash, hash of the ledger's first event (which workspace)
KEYWORDS = re.compile(rb"trackrecord-report:v1:([^:()]+):(\d{4}-\d{2}):(\d+):([0-9a-f]{64}):([0-9a-f]{64})")
PAGE = re.compile(rb"/Type /Page\b(?!s)")


@dataclass(frozen=True, slots=True)
class ReportMade:
    path: Path
    sha256: str
    pages: int
    period: str
    account: str
    label: str
    ledger_seq: int
    ledger_hash: str
    recorded_seq: int | None

    def document(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "pages": self.pages, "period": self.period,
                "account": self.account, "label": self.label, "ledger_seq": self.ledger_seq,
                "ledger_hash": self.ledger_hash}


@dataclass(frozen=True, slots=True)
class ReportVerdict:
    equal: bool
    period: str
    account: str
    ledger_seq: int
    first_differing_page: int | None
    pages: int
    problem: str = ""


def make_monthly_report(services: "Services", period_text: str, account_id: str | None, out: Path | None) -> ReportMade:
    from trackrecord.reports.monthly import build_monthly_content, parse_period
    from trackrecord.reports.pdf import monthly_pdf

    period = parse_period(period_text)
    path = _destination(services, period, account_id, out)
    account = freeze_report_inputs(services, period, account_id, with_model=True)
    freeze_month_commentary(services.ledger, services.workspace.root, period.first)
    events = list(services.ledger.events())
    head_seq, head_hash = report_head(events)
    content = build_monthly_content(events, account, period.month, head_seq)
    pdf = monthly_pdf(content)
    write_whole(path, pdf)
    digest = hashlib.sha256(pdf).hexdigest()
    recorded = record_generated(services, events, path, {
        "kind": "monthly", "period": period.month, "account_id": account, "head_seq": head_seq,
        "head_hash": head_hash, "sha256": digest})
    return ReportMade(path, digest, count_pages(pdf), period.month, account, content.label, head_seq, head_hash,
                      recorded)


def _destination(services: "Services", period: Period, account_id: str | None, out: Path | None) -> Path:
    path = (out if out is not None else default_path(services, period, account_id)).expanduser().resolve()
    check_destination(path, out if out is not None else path)
    return path


def check_destination(path: Path, shown: object) -> None:
    """The report's resolved ``path`` (``--out`` as ``shown``) refused before anything is
    recorded: a missing folder, a folder, a device or a pipe."""
    if not path.parent.is_dir():
        raise UserError(f"--out {shown}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise UserError(f"--out {shown}: is a folder; give the PDF's file name")
    refuse_special_file(path, f"--out {shown}", "the PDF's file name (a device or a pipe would be replaced)")
    refuse_unwritable(path, f"--out {shown}")


def default_path(services: "Services", period: Period, account_id: str | None) -> Path:
    """``reports/monthly/YYYY-MM.pdf`` for the workspace's default account (the one ``stats``
    shows without ``--account``), ``YYYY-MM-ACCOUNT.pdf`` for another."""
    folder = services.workspace.root / "reports" / "monthly"
    if account_id is not None and record_account(services.engine, services.settings) != account_id:
        return folder / f"{period.month}-{account_id}.pdf"
    return folder / f"{period.month}.pdf"


def freeze_report_inputs(services: "Services", period: Period, account_id: str | None, *,
                         with_model: bool = False, what: str = "PERIOD") -> str:
    """Append ``report.inputs_recorded`` with what changed since the account's last one; the account.
    ``with_model``: also the closes of the model-vs-account attribution (the monthly report's),
    when the record has a model by the period's end."""
    settings = services.settings
    inputs = load_performance_inputs(services.engine, settings, account_id)
    dates = [d for d in inputs.dates if d <= period.last]
    if not dates:
        raise UserError(f"{what} {period.month}: account {inputs.account_id} has no snapshot up to {period.last}; "
                        f"its record starts {inputs.dates[0]}")
    name = benchmark_name(None, settings)
    closes, reason = load_benchmark(services.engine, settings, name, dates[0], dates[-1])
    aligned = aligned_benchmark(dates, closes)
    frozen = FrozenInputs.from_events(services.ledger.events(kind=kinds.REPORT_INPUTS_RECORDED), inputs.account_id)
    start = inputs.dates[0] - timedelta(days=14)
    covered = bool(frozen.sessions) and frozen.sessions[0] <= inputs.dates[0].isoformat() and \
        frozen.sessions[-1] >= inputs.dates[-1].isoformat()
    calendar = None if covered else open_calendar(settings.universe.calendar, start=start,
                                                  end=max(inputs.dates[-1], inputs.dates[0]) + timedelta(days=14))
    timezone = frozen.timezone if calendar is None else calendar.timezone
    model = _model_inputs(services, inputs, period.last, timezone) if with_model else None
    payload = inputs_payload(inputs.account_id, frozen, settings_json(settings), name, reason, aligned,
                             _fill_closes(services, inputs.fills, period.last), calendar, model)
    if payload is not None:
        with services.ledger.writer() as writer:
            writer.append(kinds.REPORT_INPUTS_RECORDED, payload)
    return inputs.account_id


def _model_inputs(services: "Services", inputs: PerformanceInputs, last: date,
                  timezone: str | None) -> tuple[dict[tuple[str, str], float], str | None] | None:
    found = model_closes(services, inputs.account_id, last, timezone, inputs)
    if found is None:
        return None
    closes = {(symbol, day.isoformat()): close for symbol, by_date in found.closes.items()
              for day, close in by_date.items()}
    return closes, found.unavailable


def _fill_closes(services: "Services", fills: Any, last: date) -> dict[tuple[str, str], float]:
    """Raw closes of the sessions around each fill up to ``last`` (what splits a market-on-close
    fill's slippage into delay and execution)."""
    import math

    wanted: dict[str, set[str]] = {}
    for fill in fills:
        day = fill.executed_at.date()
        if day <= last:
            wanted.setdefault(fill.symbol, set()).update(
                (day + timedelta(days=k)).isoformat() for k in (-1, 0, 1))
    if not wanted:
        return {}
    with services.engine.connect() as conn:
        found = raw_closes(conn, sorted(wanted), set().union(*wanted.values()))
    return {(symbol, day): close for symbol, day, close in found if day in wanted[symbol] and math.isfinite(close)}


def record_generated(services: "Services", events: list[Any], path: Path, payload: dict[str, Any]) -> int | None:
    """Append ``report.generated`` (``payload`` and the PDF's path, relative to the workspace
    when inside it); its seq, or None when a report of these bytes (``payload["sha256"]``)
    is recorded already."""
    digest = payload["sha256"]
    if any(e.kind == kinds.REPORT_GENERATED and e.data().get("sha256") == digest for e in events):
        return None  # made before from the same head: recorded already
    root = services.workspace.root.resolve()
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    with services.ledger.writer() as writer:
        return writer.append(kinds.REPORT_GENERATED, {**payload, "path": shown}).seq


@dataclass(frozen=True, slots=True)
class ReportIdentity:
    """What a report's PDF metadata says it was built from."""

    account: str
    period: str
    head_seq: int
    head_hash: str
    genesis: str


def verify_report(services: "Services", pdf_path: Path) -> ReportVerdict:
    """Rebuild the report ``pdf_path`` names (account, period, head) from this ledger and
    compare bytes. ``UserError`` when the file is not a report of this workspace."""
    from trackrecord.reports.monthly import build_monthly_report

    return rebuild_and_compare(
        services, pdf_path, KEYWORDS, f"PDF {pdf_path}", "monthly",
        lambda events, identity: build_monthly_report(events, identity.account, identity.period, identity.head_seq))


def rebuild_and_compare(services: "Services", pdf_path: Path, pattern: re.Pattern[bytes], label: str, kind: str,
                        rebuild: Callable[[list[Any], ReportIdentity], bytes]) -> ReportVerdict:
    """Read the ``kind`` report at ``pdf_path`` (``label`` names it in refusals), find its
    identity with ``pattern`` (account, period, head seq, head hash, genesis hash), and compare
    its bytes with ``rebuild`` of this ledger's events. ``UserError`` when the file is no such
    report of this workspace's ledger; a verdict that says so when the ledger was rewritten."""
    refuse_special_file(pdf_path, label, f"a {kind} report PDF")
    try:
        data = pdf_path.read_bytes()
    except OSError as exc:
        raise UserError(f"{label}: cannot read it ({exc.strerror or exc})") from None
    match = pattern.search(data) if data.startswith(b"%PDF-") else None
    if match is None:
        raise UserError(f"{label}: not a trackrecord {kind} report (no report identity in its metadata)")
    account, period, seq, head_hash, genesis = (m.decode() for m in match.groups())
    identity = ReportIdentity(account, period, int(seq), head_hash, genesis)
    events = list(services.ledger.events())
    if not events or events[0].hash != genesis:
        raise UserError(f"{label}: a report of another ledger (its first event's hash is {genesis[:16]}): "
                        "not a report of this workspace")
    at_seq = next((e for e in events if e.seq == identity.head_seq), None)
    if at_seq is None or at_seq.hash != head_hash:
        found = "no such seq" if at_seq is None else f"hash {at_seq.hash[:16]}"
        return ReportVerdict(False, period, account, identity.head_seq, None, 0,
                             f"built from seq {seq} hash {head_hash[:16]}, but this ledger has {found} there: "
                             "the ledger was rewritten or cut since")
    rebuilt = rebuild(events, identity)
    return ReportVerdict(rebuilt == data, period, account, identity.head_seq,
                         None if rebuilt == data else first_differing_page(data, rebuilt), count_pages(rebuilt))


def count_pages(pdf: bytes) -> int:
    return len(PAGE.findall(pdf))


def first_differing_page(a: bytes, b: bytes) -> int | None:
    """The first page (1-based) whose content stream differs, None when it cannot tell."""
    pages_a, pages_b = page_streams(a), page_streams(b)
    for number, (x, y) in enumerate(zip(pages_a, pages_b), start=1):
        if x != y:
            return number
    if len(pages_a) != len(pages_b):
        return min(len(pages_a), len(pages_b)) + 1
    return None


def page_streams(pdf: bytes) -> list[bytes]:
    """Each page's decompressed content stream, in page order (ReportLab's object layout)."""
    import zlib

    objects = {int(m.group(1)): m.start() for m in re.finditer(rb"(\d+) 0 obj", pdf)}
    out = []
    for page in re.finditer(rb"/Contents (\d+) 0 R", pdf):
        start = objects.get(int(page.group(1)))
        if start is None:
            continue
        body = pdf[start:pdf.find(b"endobj", start)]
        head, _, stream = body.partition(b"stream")
        stream = stream.lstrip(b"\r\n").rsplit(b"endstream", 1)[0]
        try:
            out.append(zlib.decompress(stream) if b"FlateDecode" in head else stream)
        except zlib.error:
            out.append(stream)
    return out
