"""Imports of snapshots, cash flows, fills and the older tool's data folder.

Every row is validated before anything is written; a bad row raises UserError naming
file, line and column. Imports are idempotent: a file already imported (same content
hash) adds nothing, fills are keyed by exec id, snapshots by (account, session date),
cash flows by (date, amount, currency, note, ref).

Nothing changes meaning silently: a repeated header, one date with two NAVs, one
trade id with two contents, or two equal flows on one day without a ``ref`` telling
them apart are errors naming the lines. Imported snapshots and fills carry
``provenance: {"source": "import" | "seed import", "file_sha256": ...}``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from trackrecord.domain.annotations import AnnotationContent
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.annotations import CommentaryText
from trackrecord.ledger.canonical import format_decimal, format_timestamp, normalise
from trackrecord.ledger.parsing import (
    checked_number,
    parse_currency,
    parse_date,
    parse_decimal,
    parse_side,
    parse_timestamp,
    read_utf8,
)
from trackrecord.ledger.plain_text import refuse_control_characters
from trackrecord.ledger.projections import snapshot_content
from trackrecord.ledger.record_rules import Recorder, recorder_of
from trackrecord.ledger.schema import cashflows, events, imports
from trackrecord.ledger.seed_annotations import (
    Tally,
    new_annotation_items,
    new_commentary_items,
    parse_seed_annotation,
    parse_seed_commentary,
)
from trackrecord.ledger.sql import fetch_one, select_sql

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from trackrecord.ledger.store import SqlLedger

SEED_EXECUTION_COLUMNS = (
    "trade_id", "timestamp", "symbol", "asset_class", "side", "quantity", "intended_price",
    "fill_price", "slippage_bps", "commission", "commission_currency",
)
DATED_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(csv|json)$")
MAX_NOTE = 1000
UNEXPLAINED_MOVE = Decimal("0.05")  # of the previous NAV: beyond it a NAV jump looks like a flow
IMPORT, SEED_IMPORT = "import", "seed import"


@dataclass(frozen=True)
class ImportSource:
    kind: str
    path: Path
    content_hash: str
    rows: int = 0


@dataclass
class ParsedImport:
    """Events an import would write, each with its idempotency key."""

    sources: list[ImportSource] = field(default_factory=list)
    cashflows: list[dict[str, Any]] = field(default_factory=list)
    cashflow_lines: list[str] = field(default_factory=list)  # each flow's ``file:line``, in step with cashflows
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    duplicate_fills: int = 0
    duplicate_snapshots: int = 0
    annotations: list[AnnotationContent] = field(default_factory=list)
    commentaries: list[tuple[date, CommentaryText]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import added and skipped; ``skipped`` counts both kinds of repeat, told apart
    by ``duplicates`` (repeated within the imported files) and ``already_recorded``."""

    added: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    already_recorded: dict[str, int] = field(default_factory=dict)
    files_already_imported: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, bucket: dict[str, int], kind: str, n: int = 1) -> None:
        if n:
            bucket[kind] = bucket.get(kind, 0) + n
            self.skipped[kind] = self.skipped.get(kind, 0) + n

    def tally(self, added: dict[str, int], already_recorded: dict[str, int]) -> None:
        for kind, n in added.items():
            self.added[kind] = self.added.get(kind, 0) + n
        for kind, n in already_recorded.items():
            self.count(self.already_recorded, kind, n)

    def document(self) -> dict[str, Any]:
        return {"added": self.added, "skipped": self.skipped, "duplicates_within_files": self.duplicates,
                "already_recorded": self.already_recorded, "files_already_imported": self.files_already_imported,
                "warnings": self.warnings}

    def summary(self) -> str:
        parts = []
        for kind in sorted(set(self.added) | set(self.skipped)):
            why = [f"{n} already recorded" for n in [self.already_recorded.get(kind, 0)] if n]
            why += [f"{n} duplicate within the imported file(s)" for n in [self.duplicates.get(kind, 0)] if n]
            parts.append(f"{kind}: {self.added.get(kind, 0)} added, {self.skipped.get(kind, 0)} skipped"
                         + (f" ({', '.join(why)})" if why else ""))
        if self.files_already_imported:
            parts.append(f"{len(self.files_already_imported)} file(s) imported before: nothing new from them")
        return "; ".join(parts) if parts else "nothing to import"


def _read_text(path: Path) -> tuple[str, str]:
    text, raw = read_utf8(path, "the CSV")
    return text, hashlib.sha256(raw).hexdigest()


def _csv_rows(path: Path, text: str, required: Sequence[str], optional: Sequence[str] = ()) -> Iterable[tuple[str, dict[str, str]]]:
    """Rows with their location ``file:line``; the header must hold the required columns once each."""
    reader = csv.reader(io.StringIO(text))
    try:
        yield from _checked_rows(path, reader, required, optional)
    except csv.Error as exc:
        raise UserError(f"{path}:{reader.line_num}: unreadable CSV: {exc}") from None


def _checked_rows(path: Path, reader: Any, required: Sequence[str], optional: Sequence[str]) -> Iterable[tuple[str, dict[str, str]]]:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise UserError(f"{path}: empty file, expected a header with {', '.join(required)}") from None
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise UserError(f"{path}:1: column(s) {', '.join(repeated)} appear more than once in the header; keep one")
    missing = [c for c in required if c not in header]
    if missing:
        raise UserError(f"{path}:1: missing column(s) {', '.join(missing)}; expected {', '.join(required)}")
    unknown = [c for c in header if c not in required and c not in optional]
    if unknown:
        raise UserError(f"{path}:1: unknown column(s) {', '.join(unknown)}; expected {', '.join([*required, *optional])}")
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UserError(f"{path}:{line}: expected {len(header)} fields, found {len(row)}")
        yield f"{path}:{line}", dict(zip(header, (cell.strip() for cell in row)))


def _cell(where: str, row: dict[str, str], column: str, parse: Callable[[str, str], Any]) -> Any:
    value = row.get(column, "")
    if value == "":
        raise UserError(f"{where}: column '{column}' is empty")
    return parse(value, f"{where}: column '{column}'")


def _note(where: str, row: dict[str, str], column: str) -> str:
    text = row.get(column, "")
    if len(text) > MAX_NOTE:
        raise UserError(f"{where}: column '{column}': at most {MAX_NOTE} characters, got {len(text)}")
    return refuse_control_characters(text, f"{where}: column '{column}'")


def parse_cashflows_csv(path: Path, base_currency: str, account_id: str | None = None,
                        booking: "FlowBooking | None" = None) -> ParsedImport:
    """``date,amount[,currency,note,ref]``: two flows of the same amount on one day are two
    real flows only when their ``ref`` (e.g. the bank's reference) differ. With ``booking``,
    a future date is refused and a non-session date is booked on the next session (the
    date given is kept as ``date_given``), as ``cashflow add`` does."""
    text, digest = _read_text(path)
    parsed = ParsedImport()
    lines: dict[tuple[Any, ...], str] = {}
    for where, row in _csv_rows(path, text, ("date", "amount"), ("currency", "note", "ref")):
        amount = _cell(where, row, "amount", parse_decimal)
        if amount == 0:
            raise UserError(f"{where}: column 'amount': a cash flow of zero records nothing")
        currency = _cell(where, row, "currency", parse_currency) if row.get("currency") else base_currency
        given, ref = _cell(where, row, "date", parse_date), _note(where, row, "ref")
        flow_date = booking.session_for(given, where) if booking is not None else given
        same = (flow_date, amount, currency, ref)
        if same in lines:
            raise UserError(
                f"{where}: {flow_date} {amount} {currency} repeats line {lines[same].rsplit(':', 1)[1]}: if both "
                "are real flows, tell them apart in a 'ref' column (e.g. the bank reference); else remove one")
        lines[same] = where
        payload: dict[str, Any] = {
            "flow_date": flow_date, "amount": amount, "currency": currency,
            "note": _note(where, row, "note"), "source": str(path.name),
        }
        if ref:
            payload["ref"] = ref
        if given != flow_date:
            payload["date_given"] = given
        if account_id is not None:
            payload["account_id"] = account_id
        parsed.cashflows.append(payload)
        parsed.cashflow_lines.append(where)
    parsed.sources.append(ImportSource("cashflows", path, digest, len(parsed.cashflows)))
    return parsed


@dataclass(frozen=True)
class FlowBooking:
    """When an imported flow is booked: ``next_session(day)`` is the first session on or after
    ``day`` (None past the calendar), ``today`` the last date a flow may carry."""

    next_session: Callable[[date], date | None]
    today: date

    def session_for(self, given: date, where: str) -> date:
        if given > self.today:
            raise UserError(f"{where}: column 'date': {given} is in the future (today is {self.today}); "
                            "a cash flow is recorded on the day it happens")
        try:
            session = self.next_session(given)
        except UserError as exc:  # before the calendar's first session
            raise UserError(f"{where}: column 'date': {exc}") from None
        if session is None:
            raise UserError(f"{where}: column 'date': no session on or after {given}")
        return session


def parse_snapshots_csv(path: Path, account_id: str, base_currency: str) -> ParsedImport:
    """``date,nav[,cash]``, one row per session: a date twice with different values is an error."""
    text, digest = _read_text(path)
    parsed = ParsedImport()
    seen: dict[date, tuple[str, tuple[Decimal, Decimal | None]]] = {}
    for where, row in _csv_rows(path, text, ("date", "nav"), ("cash",)):
        session_date = _cell(where, row, "date", parse_date)
        nav = _cell(where, row, "nav", parse_decimal)
        if nav < 0:
            raise UserError(f"{where}: column 'nav': expected a NAV of zero or more, got {row['nav']!r}")
        cash = _cell(where, row, "cash", parse_decimal) if row.get("cash") else None
        if session_date in seen:
            first, values = seen[session_date]
            if values != (nav, cash):
                raise UserError(f"{where}: {session_date} appears twice with different values (line "
                                f"{first.rsplit(':', 1)[1]}: nav {values[0]}, this line: nav {nav}); keep one")
            parsed.duplicate_snapshots += 1
            continue
        seen[session_date] = (where, (nav, cash))
        parsed.snapshots.append(_snapshot_payload(account_id, base_currency, session_date, None, nav, cash, [],
                                                  path, _provenance(IMPORT, digest)))
    parsed.sources.append(ImportSource("snapshots", path, digest, len(parsed.snapshots)))
    return parsed


def _provenance(source: str, digest: str) -> dict[str, str]:
    return {"source": source, "file_sha256": digest}


def _snapshot_payload(account_id: str, base_currency: str, session_date: Any, taken_at: Any, nav: Decimal,
                      cash: Decimal | None, positions: list[dict[str, Any]], path: Path,
                      provenance: dict[str, str]) -> dict[str, Any]:
    moment = taken_at or datetime.combine(session_date, time(0, 0), tzinfo=timezone.utc)
    return {
        "account_id": account_id, "session_date": session_date, "taken_at": format_timestamp(moment),
        "base_currency": base_currency, "nav": nav, "cash": cash, "positions": positions,
        "is_paper": False, "simulated": False, "source": f"import:{path.name}", "provenance": provenance,
    }


def _fill_payload(where: str, row: dict[str, str], account_id: str, base_currency: str, path: Path,
                  provenance: dict[str, str]) -> dict[str, Any]:
    quantity = _cell(where, row, "quantity", parse_decimal)
    if quantity <= 0:
        raise UserError(f"{where}: column 'quantity': expected a positive quantity, got {row['quantity']!r}")
    price = _cell(where, row, "fill_price", parse_decimal)
    if price <= 0:
        raise UserError(f"{where}: column 'fill_price': expected a positive price, got {row['fill_price']!r}")
    intended = _cell(where, row, "intended_price", parse_decimal) if row.get("intended_price") else None
    commission = _cell(where, row, "commission", parse_decimal) if row.get("commission") else None
    if commission is not None and commission < 0:
        commission = -commission  # IB reports commissions as negative cash; we store the cost
    currency = _cell(where, row, "commission_currency", parse_currency) if row.get("commission_currency") else base_currency
    return {
        "exec_id": _cell(where, row, "trade_id", lambda v, _w: v), "account_id": account_id,
        "order_ref": "", "symbol": _cell(where, row, "symbol", lambda v, _w: v.upper()),
        "side": _cell(where, row, "side", parse_side), "quantity": quantity, "price": price,
        "currency": currency, "executed_at": format_timestamp(_cell(where, row, "timestamp", parse_timestamp)),
        "commission": commission, "commission_currency": currency if commission is not None else None,
        "intended_price": intended, "order_type": None, "supersedes": None, "simulated": False,
        "source": f"import:{path.name}", "provenance": provenance,
    }


def parse_fills_csv(path: Path, account_id: str, base_currency: str, provenance: str = IMPORT) -> ParsedImport:
    """Executions keyed by ``trade_id``: a repeat with the same content is a duplicate (the
    older tool wrote one on every re-pull), a repeat with other content is an error."""
    text, digest = _read_text(path)
    parsed = ParsedImport()
    optional = ("asset_class", "intended_price", "slippage_bps", "commission", "commission_currency")
    required = [c for c in SEED_EXECUTION_COLUMNS if c not in optional]
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for where, row in _csv_rows(path, text, required, optional):
        payload = _fill_payload(where, row, account_id, base_currency, path, _provenance(provenance, digest))
        _add_fill(parsed, seen, where, payload)
    parsed.sources.append(ImportSource("fills", path, digest, len(parsed.fills)))
    return parsed


def fill_content(fill: dict[str, Any]) -> tuple[Any, ...]:
    """What two rows of one trade id must agree on to be the same execution."""
    return tuple(fill[k] for k in ("symbol", "side", "quantity", "price", "executed_at", "commission"))


def _add_fill(parsed: ParsedImport, seen: dict[str, tuple[str, dict[str, Any]]], where: str,
              fill: dict[str, Any]) -> None:
    exec_id = fill["exec_id"]
    if exec_id in seen:
        first, other = seen[exec_id]
        if fill_content(other) != fill_content(fill):
            raise UserError(f"{where}: trade_id {exec_id!r} was already read at {first} with other contents "
                            f"({other['side']} {other['quantity']} {other['symbol']} @ {other['price']}, here "
                            f"{fill['side']} {fill['quantity']} {fill['symbol']} @ {fill['price']}); "
                            "a trade id names one execution")
        parsed.duplicate_fills += 1
        return
    seen[exec_id] = (where, fill)
    parsed.fills.append(fill)


def _seed_snapshot(path: Path, account_id: str, base_currency: str, session_date: Any) -> dict[str, Any]:
    text, digest = _read_text(path)
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None
    except RecursionError:
        raise UserError(f"{path}: malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object with timestamp, total_equity, cash, positions")
    for key in ("timestamp", "total_equity", "cash", "positions"):
        if key not in data:
            raise UserError(f"{path}: key '{key}' is missing")
    nav, cash = data["total_equity"], data["cash"]
    for key, value in (("total_equity", nav), ("cash", cash)):
        if not isinstance(value, Decimal) or not value.is_finite():
            raise UserError(f"{path}: key '{key}': expected a number, got {value!r}")
        checked_number(value, f"{path}: key '{key}'")
    if nav < 0:
        raise UserError(f"{path}: key 'total_equity': expected a NAV of zero or more, got {nav}")
    if not isinstance(data["timestamp"], str):
        raise UserError(f"{path}: key 'timestamp': expected an ISO 8601 string, got {data['timestamp']!r}")
    taken_at = parse_timestamp(data["timestamp"], f"{path}: key 'timestamp'")
    if not isinstance(data["positions"], list):
        raise UserError(f"{path}: key 'positions': expected a list")
    positions = [_seed_position(path, i, item) for i, item in enumerate(data["positions"])]
    return _snapshot_payload(account_id, base_currency, session_date, taken_at, nav, cash, positions, path,
                             _provenance(SEED_IMPORT, digest))


def _seed_position(path: Path, index: int, item: Any) -> dict[str, Any]:
    fields = ("symbol", "quantity", "avg_cost", "market_price", "market_value")
    if not isinstance(item, dict):
        raise UserError(f"{path}: key 'positions[{index}]': expected an object")
    out: dict[str, Any] = {}
    for key in fields:
        value = item.get(key)
        where = f"{path}: key 'positions[{index}].{key}'"
        if key == "symbol":
            if not isinstance(value, str) or not value:
                raise UserError(f"{where}: expected a symbol, got {value!r}")
            out[key] = value.upper()
        elif not isinstance(value, Decimal) or not value.is_finite():
            raise UserError(f"{where}: expected a number, got {value!r}")
        else:
            out[key] = checked_number(value, where)
    if out["market_price"] < 0 or out["avg_cost"] < 0:
        raise UserError(f"{path}: key 'positions[{index}]': a price cannot be negative")
    return out


def parse_seed_folder(folder: Path, account_id: str, base_currency: str) -> ParsedImport:
    """The older tool's folder: executions/YYYY-MM-DD.csv, snapshots/YYYY-MM-DD.json,
    annotations/<trade_id>.json and annotations/monthly/YYYY-MM.md."""
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder; expected the older tool's data folder with executions/ and snapshots/")
    if not any((folder / name).is_dir() for name in ("executions", "snapshots", "annotations")):
        raise UserError(f"{folder}: none of executions/, snapshots/, annotations/ found")
    parsed = ParsedImport()
    seen_fills: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted((folder / "executions").glob("*")) if (folder / "executions").is_dir() else []:
        _dated(path, "csv")
        one = parse_fills_csv(path, account_id, base_currency, SEED_IMPORT)
        parsed.sources.extend(one.sources)
        parsed.duplicate_fills += one.duplicate_fills
        for fill in one.fills:
            _add_fill(parsed, seen_fills, str(path), fill)
    for path in sorted((folder / "snapshots").glob("*")) if (folder / "snapshots").is_dir() else []:
        session_date = _dated(path, "json")
        _, digest = _read_text(path)
        parsed.sources.append(ImportSource("snapshots", path, digest, 1))
        parsed.snapshots.append(_seed_snapshot(path, account_id, base_currency, session_date))
    _parse_seed_annotations(folder / "annotations", parsed)
    return parsed


def _parse_seed_annotations(folder: Path, parsed: ParsedImport) -> None:
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        content, digest = parse_seed_annotation(path)
        if content.trade_id in seen:
            raise UserError(f"{path}: trade_id {content.trade_id!r} is annotated in {seen[content.trade_id]} too; "
                            "a trade has one annotation")
        seen[content.trade_id or ""] = path
        parsed.sources.append(ImportSource("annotations", path, digest, 1))
        parsed.annotations.append(content)
    monthly = folder / "monthly"
    for path in sorted(monthly.glob("*")) if monthly.is_dir() else []:
        found = parse_seed_commentary(path)
        if found is None:
            parsed.warnings.append(f"{path}: empty commentary, not imported")
            continue
        parsed.sources.append(ImportSource("commentary", path, found[1].sha256, 1))
        parsed.commentaries.append(found)


def unexplained_nav_moves(snapshots: Sequence[dict[str, Any]], flows: Sequence[tuple[date, Decimal]] = ()) -> list[str]:
    """Warnings for days whose NAV moved far beyond what the held positions' prices explain.

    Explained move from one snapshot to the next = sum over the earlier positions of
    ``quantity x (later market price - earlier market price)`` (a position sold in between
    counts as unchanged in price) plus the recorded ``flows`` (date, amount in base) after
    the earlier date up to the later one; trades only swap cash for positions. A residual
    beyond ``UNEXPLAINED_MOVE`` of the earlier NAV looks like an unrecorded deposit or withdrawal.
    """
    warnings = []
    ordered = sorted((s for s in snapshots if s.get("positions")), key=lambda s: s["session_date"])
    for before, after in zip(ordered, ordered[1:]):
        if before["nav"] <= 0:
            continue
        prices = {p["symbol"]: p["market_price"] for p in after["positions"]}
        explained = sum((p["quantity"] * (prices.get(p["symbol"], p["market_price"]) - p["market_price"])
                         for p in before["positions"]), start=Decimal(0))
        explained += sum((amount for day, amount in flows if before["session_date"] < day <= after["session_date"]),
                         start=Decimal(0))
        residual = after["nav"] - before["nav"] - explained
        if abs(residual) > UNEXPLAINED_MOVE * before["nav"]:
            day = after["session_date"]
            warnings.append(
                f"NAV {before['nav']} on {before['session_date']} -> {after['nav']} on {day}: prices explain "
                f"{explained:+.2f}, {residual:+.2f} is unexplained; if it was a deposit or withdrawal, record it: "
                f"trackrecord cashflow add --date {day} --amount {residual:.2f}")
    return warnings


def outside_universe(parsed: ParsedImport, universe: Iterable[str]) -> list[str]:
    """A warning naming the fills' symbols that are not in the universe (they are imported)."""
    known = set(universe)
    strangers = sorted({f["symbol"] for f in parsed.fills} - known)
    if not strangers:
        return []
    count = sum(1 for f in parsed.fills if f["symbol"] in strangers)
    return [f"{count} fill(s) for symbol(s) outside the universe imported as recorded: {', '.join(strangers)}"]


def _dated(path: Path, extension: str) -> Any:
    match = DATED_FILE.match(path.name)
    if not match or match.group(2) != extension:
        raise UserError(f"{path}: expected a file named YYYY-MM-DD.{extension}")
    return parse_date(match.group(1), str(path))


def record_import(ledger: "SqlLedger", parsed: ParsedImport, default_account: str | None = None) -> ImportReport:
    """Write what is new, in one transaction, under the single-writer lock; ``default_account``
    is the account of flows recorded without one (for the repeat check)."""

    report = ImportReport(warnings=list(parsed.warnings))
    report.count(report.duplicates, "fills", parsed.duplicate_fills)
    report.count(report.duplicates, "snapshots", parsed.duplicate_snapshots)
    with ledger.writer() as writer:
        conn = writer.conn
        known_files = _known_import_hashes(conn)
        fresh_sources = list({s.content_hash: s for s in parsed.sources if s.content_hash not in known_files}.values())
        report.files_already_imported = [str(s.path) for s in parsed.sources if s.content_hash in known_files]
        items: list[tuple[str, dict[str, Any]]] = []
        items += _new_cashflows(conn, parsed.cashflows, report, default_account)
        items += _new_fills(conn, parsed.fills, report)
        items += _new_snapshots(conn, [normalise(s) for s in parsed.snapshots], report)
        tally = Tally()
        items += new_annotation_items(conn, parsed.annotations, tally)
        items += new_commentary_items(conn, parsed.commentaries, tally)
        report.tally(tally.added, tally.already_recorded)
        report.warnings += unexplained_nav_moves(parsed.snapshots, _flows_in(conn, parsed.cashflows))
        report.warnings += _annotations_without_fills(conn, parsed)
        for source in fresh_sources:
            items.append((kinds.IMPORT_RECORDED, {
                "kind": source.kind, "source": str(source.path), "content_hash": source.content_hash,
                "rows": source.rows,
            }))
        writer.append_many(items)
    return report


def _known_import_hashes(conn: "Connection") -> set[str]:
    from sqlalchemy import select

    return set(conn.execute(select(imports.c.content_hash)).scalars())


def _new_cashflows(conn: "Connection", flows: list[dict[str, Any]], report: ImportReport,
                   default_account: str | None) -> list[tuple[str, dict[str, Any]]]:
    """Flows not recorded yet, keyed by (account, session, amount, currency, note, ref); a flow
    without an account is the default account's (ledger/cashflows.py)."""
    fresh = {id(flow) for flow in unrecorded_cashflows(conn, flows, default_account)}
    out = []
    for flow in flows:
        if id(flow) not in fresh:
            report.count(report.already_recorded, "cashflows")
            continue
        out.append((kinds.CASHFLOW_RECORDED, flow))
        report.added["cashflows"] = report.added.get("cashflows", 0) + 1
    return out


def unrecorded_cashflows(conn: "Connection", flows: Sequence[dict[str, Any]],
                         default_account: str | None) -> list[dict[str, Any]]:
    """The parsed ``flows`` an import would record, in their order: those whose (account,
    session, amount, currency, note, ref) no recorded flow has, nor an earlier one of ``flows``."""
    from sqlalchemy import select

    refs = _recorded_refs(conn)
    existing = {(r.account_id or default_account, r.flow_date, r.amount, r.currency, r.note, refs.get(r.seq, ""))
                for r in conn.execute(select(cashflows.c.seq, cashflows.c.account_id, cashflows.c.flow_date,
                                             cashflows.c.amount, cashflows.c.currency, cashflows.c.note))}
    out = []
    for flow in flows:
        key = (flow.get("account_id") or default_account, flow["flow_date"].isoformat(),
               format_decimal(flow["amount"]), flow["currency"], flow["note"], flow.get("ref", ""))
        if key not in existing:
            existing.add(key)
            out.append(flow)
    return out


def _flows_in(conn: "Connection", new: Sequence[dict[str, Any]]) -> list[tuple[date, Decimal]]:
    from sqlalchemy import select

    recorded = [(date.fromisoformat(d), Decimal(a)) for d, a in conn.execute(select(cashflows.c.flow_date, cashflows.c.amount))]
    return recorded + [(f["flow_date"], f["amount"]) for f in new]


def _recorded_refs(conn: "Connection") -> dict[int, str]:
    """The ``ref`` of every recorded cash flow that has one, by seq (the table keeps no ref)."""
    from sqlalchemy import select

    query = select(events.c.seq, events.c.payload).where(events.c.kind == kinds.CASHFLOW_RECORDED)
    refs = {}
    for seq, payload in conn.execute(query):
        ref = json.loads(payload).get("ref")
        if ref:
            refs[seq] = ref
    return refs


def _annotations_without_fills(conn: "Connection", parsed: ParsedImport) -> list[str]:
    """A warning naming the imported annotations' trade ids that no fill has (they are imported)."""
    if not parsed.annotations:
        return []
    from sqlalchemy import select

    from trackrecord.ledger.schema import fills as fills_table

    known = set(conn.execute(select(fills_table.c.exec_id)).scalars()) | {f["exec_id"] for f in parsed.fills}
    strangers = sorted({a.trade_id for a in parsed.annotations if a.trade_id and a.trade_id not in known})
    if not strangers:
        return []
    return [f"{len(strangers)} annotation(s) name a trade_id no recorded fill has (imported as written): "
            f"{', '.join(strangers[:10])}{' ...' if len(strangers) > 10 else ''}"]


def _new_fills(conn: "Connection", fills: list[dict[str, Any]], report: ImportReport) -> list[tuple[str, dict[str, Any]]]:
    from sqlalchemy import select

    from trackrecord.ledger.schema import fills as fills_table

    existing = set(conn.execute(select(fills_table.c.exec_id)).scalars())
    out = []
    for fill in fills:
        if fill["exec_id"] in existing:
            report.count(report.already_recorded, "fills")
            continue
        existing.add(fill["exec_id"])
        out.append((kinds.FILL_RECORDED, fill))
        report.added["fills"] = report.added.get("fills", 0) + 1
    return out


def _new_snapshots(conn: "Connection", snapshots: list[dict[str, Any]], report: ImportReport) -> list[tuple[str, dict[str, Any]]]:
    """A snapshot identical to the recorded one is skipped; a different one supersedes it
    when the recorded one was imported too (a corrected file), and is refused when the
    broker or the simulated broker recorded it: an import fills the days a record lacks, it
    never revalues one of the account's own."""
    from sqlalchemy import select

    from trackrecord.ledger.schema import snapshots as table

    recorded = {
        (r.account_id, r.session_date): ((r.nav, r.cash, r.positions), r.seq)
        for r in conn.execute(select(table.c.account_id, table.c.session_date, table.c.nav, table.c.cash,
                                     table.c.positions, table.c.seq))
    }
    out = []
    for snap in snapshots:
        key = (snap["account_id"], snap["session_date"])
        content = snapshot_content(snap)
        known = recorded.get(key)
        if known is not None and known[0] == content:
            report.count(report.already_recorded, "snapshots")
            continue
        if known is not None and known[1] is not None:
            row = fetch_one(conn, select_sql(conn.dialect.name, "events", ("payload",), ("seq",)), {"seq": known[1]})
            recorder = recorder_of(json.loads(row[0])) if row is not None else Recorder.BROKER
            if recorder is not Recorder.IMPORT:
                file = str(snap.get("source", "")).split(":", 1)[-1]
                raise UserError(f"{file}: {snap['session_date']} has a snapshot of {snap['account_id']} recorded "
                                f"by {recorder.value} (seq {known[1]}): an import adds the days a record lacks and "
                                "corrects its own imports, it never replaces what was recorded from the account; "
                                "leave that day out of the file")
        recorded[key] = (content, None)
        out.append((kinds.SNAPSHOT_RECORDED, snap))
        report.added["snapshots"] = report.added.get("snapshots", 0) + 1
    return out
