"""Annotations and monthly commentary in the ledger: their payloads and the read side.

Events (docs/ledger.md has the schema):

- ``annotation.added``: the first version of an annotation; its seq is the annotation's id.
  An engine note (``author: engine``) for an order ref and mode that already has one (a dry
  run planned again) is a new version of that annotation.
- ``annotation.revised``: a later version, ``{annotation, supersedes, version, ...content}``.
- ``commentary.recorded``: a month's commentary, ``{month, text, sha256, source, version,
  supersedes}``; a later one for the same month supersedes.

Every query takes the caller's connection and an optional ``until_seq`` (a report is built as of
a ledger head, and only what was recorded by then is in it); the ``*_of_events`` forms read the
events themselves (a rebuild from an exported chain has no database). ``annotation.added`` payloads
without a ``pre_trade`` (free-text notes of tests and benchmarks) are not trade notes and are
left out.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from trackrecord.domain.annotations import (
    Annotation,
    AnnotationContent,
    AnnotationVersion,
    Author,
    Commentary,
    PostTrade,
    PreTrade,
    SystematicReason,
)
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.parsing import parse_decimal, parse_timestamp
from trackrecord.ledger.plain_text import refuse_control_characters
from trackrecord.ledger.sql import fetch_all, param

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

ANNOTATION_KINDS = (kinds.ANNOTATION_ADDED, kinds.ANNOTATION_REVISED)


# -- checking what is written (the command line and the seed's files) ---------------------------

MAX_TEXT = 4000
MAX_COMMENTARY_BYTES = 256 * 1024
SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,23}")
ORDER_REF = re.compile(r"[A-Za-z0-9._\-]{1,96}")
MONTH = re.compile(r"(\d{4})-(\d{2})")


def checked_text(value: str | None, where: str, required: bool = False) -> str:
    """Text the ledger can hold: stripped, at most ``MAX_TEXT`` characters, no control
    character but newline and tab, valid Unicode; "" when absent and not ``required``."""
    text = (value or "").replace("\r\n", "\n").strip()
    if required and not text:
        raise UserError(f"{where}: expected some text, got nothing")
    if len(text) > MAX_TEXT:
        raise UserError(f"{where}: at most {MAX_TEXT} characters, got {len(text)}")
    return refuse_control_characters(text, where)


def checked_symbol(value: str | None, where: str) -> str:
    symbol = (value or "").strip().upper()
    if not SYMBOL.fullmatch(symbol):
        raise UserError(f"{where}: expected a ticker such as SXLK (letters, digits, '.', '-'), got {value!r}")
    return symbol


def checked_price(value: str | None, where: str) -> Decimal | None:
    if value is None:
        return None
    price = parse_decimal(value, where)
    if price <= 0:
        raise UserError(f"{where}: expected a price above zero, got {value}")
    return price


def checked_order_ref(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    ref = value.strip()
    if not ORDER_REF.fullmatch(ref):
        raise UserError(f"{where}: expected an order reference of letters, digits, '.', '_', '-' "
                        f"(at most 96), got {value!r}")
    return ref


def parse_month(text: str, where: str) -> date:
    """``YYYY-MM`` as the month's first day."""
    match = MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise UserError(f"{where}: expected a month YYYY-MM such as 2026-01, got {text!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


@dataclass(frozen=True)
class CommentaryText:
    text: str
    sha256: str
    source: str


def read_commentary(path: Path, shown: str) -> CommentaryText:
    """The commentary file's text (UTF-8, not empty, at most 256 KiB); ``shown`` names it."""
    try:
        if not path.is_file():
            raise UserError(f"{shown}: no such file; write the month's commentary there (Markdown) or pass --file")
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{shown}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_COMMENTARY_BYTES:
        raise UserError(f"{shown}: {len(raw)} bytes; a commentary holds at most {MAX_COMMENTARY_BYTES}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{shown}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise UserError(f"{shown}: holds a NUL character; expected Markdown text")
    if not text.strip():
        raise UserError(f"{shown}: empty; nothing to freeze")
    return CommentaryText(text, hashlib.sha256(raw).hexdigest(), shown)


# -- payloads ------------------------------------------------------------------------------------


def content_payload(content: AnnotationContent) -> dict[str, Any]:
    """The content of a version as it is recorded (canonical JSON turns Decimals and dates)."""
    pre, post = content.pre_trade, content.post_trade
    payload: dict[str, Any] = {
        "author": content.author.value, "as_of": content.as_of, "order_ref": content.order_ref,
        "trade_id": content.trade_id,
        "pre_trade": {"symbol": pre.symbol, "thesis": pre.thesis, "intended_entry": pre.intended_entry,
                      "size_rationale": pre.size_rationale, "exit_plan": pre.exit_plan},
        "post_trade": None if post is None else {"outcome": post.outcome, "matched_expectation": post.matched_expectation,
                                                 "lesson": post.lesson},
        "systematic": None if content.systematic is None else _systematic_payload(content.systematic),
    }
    if content.source_sha256 is not None:
        payload["provenance"] = {"source": "seed import", "file_sha256": content.source_sha256}
    return payload


def revision_payload(annotation: Annotation, content: AnnotationContent) -> dict[str, Any]:
    latest = annotation.versions[-1]
    return {"annotation": annotation.id, "supersedes": latest.seq, "version": latest.version + 1,
            **content_payload(content)}


def commentary_payload(month: date, text: str, sha256: str, source: str, previous: Commentary | None) -> dict[str, Any]:
    return {"month": f"{month:%Y-%m}", "text": text, "sha256": sha256, "source": source,
            "version": 1 if previous is None else previous.version + 1,
            "supersedes": None if previous is None else previous.seq}


def _systematic_payload(reason: SystematicReason) -> dict[str, Any]:
    return {f.name: getattr(reason, f.name) for f in fields(reason)}


def content_of(data: Mapping[str, Any]) -> AnnotationContent:
    pre, post = data["pre_trade"], data.get("post_trade")
    provenance = data.get("provenance") or {}
    return AnnotationContent(
        author=Author(data["author"]), as_of=date.fromisoformat(data["as_of"]),
        pre_trade=PreTrade(pre["symbol"], pre["thesis"], _decimal(pre.get("intended_entry")),
                           pre.get("size_rationale", ""), pre.get("exit_plan", "")),
        post_trade=None if post is None else PostTrade(post["outcome"], post.get("matched_expectation"),
                                                       post.get("lesson", "")),
        order_ref=data.get("order_ref"), trade_id=data.get("trade_id"),
        systematic=None if data.get("systematic") is None else _systematic_of(data["systematic"]),
        source_sha256=provenance.get("file_sha256"),
    )


def _systematic_of(data: Mapping[str, Any]) -> SystematicReason:
    return SystematicReason(
        plan_id=data["plan_id"], plan_seq=data.get("plan_seq"), signal_seq=data.get("signal_seq"), mode=data["mode"],
        account_id=data["account_id"], session_date=date.fromisoformat(data["session_date"]), side=data["side"],
        quantity=Decimal(data["quantity"]), action=data["action"], rule=data["rule"], reason=data["reason"],
        rank=data.get("rank"), ranked=int(data["ranked"]), momentum=_decimal(data.get("momentum")),
        target_weight=Decimal(data["target_weight"]), weight_before=Decimal(data["weight_before"]),
        decision_price=Decimal(data["decision_price"]), currency=data["currency"], order_type=data["order_type"],
        formation_start=date.fromisoformat(data["formation_start"]),
        formation_end=date.fromisoformat(data["formation_end"]), inputs_sha256=data["inputs_sha256"],
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# -- the read side ---------------------------------------------------------------------------------


def _events(conn: "Connection", event_kinds: Iterable[str], until_seq: int | None) -> list[StoredEvent]:
    dialect = conn.dialect.name
    names: dict[str, Any] = {f"k{i}": kind for i, kind in enumerate(event_kinds)}
    sql = (f"SELECT seq, recorded_at, kind, payload, prev_hash, hash FROM events "
           f"WHERE kind IN ({', '.join(param(dialect, n) for n in names)})")
    if until_seq is not None:
        sql += f" AND seq <= {param(dialect, 'until')}"
        names["until"] = until_seq
    return [StoredEvent(int(row[0]), *row[1:]) for row in fetch_all(conn, sql + " ORDER BY seq", names)[1]]


def recorded_annotations(conn: "Connection", until_seq: int | None = None) -> list[Annotation]:
    """Every annotation with all its versions, in the order they were first recorded."""
    return annotations_of_events(_events(conn, ANNOTATION_KINDS, until_seq))


def annotations_of_events(events: Iterable[StoredEvent], until_seq: int | None = None) -> list[Annotation]:
    """``recorded_annotations`` from the events themselves (in seq order; other kinds are
    skipped): what a rebuild from an exported chain, with no database, reads."""
    chains: dict[int, list[AnnotationVersion]] = {}
    engine_notes: dict[tuple[str, str], int] = {}
    for event in events:
        if event.kind not in ANNOTATION_KINDS or (until_seq is not None and event.seq > until_seq):
            continue
        data = event.data()
        if not isinstance(data, dict) or "pre_trade" not in data:
            continue
        content = content_of(data)
        key = _engine_key(content)
        if event.kind == kinds.ANNOTATION_REVISED:
            ident = int(data["annotation"])
        else:
            ident = engine_notes.get(key, event.seq) if key else event.seq
        chain = chains.setdefault(ident, [])
        if key:
            engine_notes.setdefault(key, ident)
        chain.append(AnnotationVersion(event.seq, parse_timestamp(event.recorded_at, f"event {event.seq}"),
                                       len(chain) + 1, content, chain[-1].seq if chain else None))
    return [Annotation(ident, tuple(versions)) for ident, versions in chains.items()]


def _engine_key(content: AnnotationContent) -> tuple[str, str] | None:
    if content.author is not Author.ENGINE or content.systematic is None or not content.order_ref:
        return None
    return content.systematic.mode, content.order_ref


def annotation_by_id(conn: "Connection", ident: int) -> Annotation | None:
    return next((a for a in recorded_annotations(conn) if a.id == ident), None)


def annotations_in_month(conn: "Connection", month: date, until_seq: int | None = None,
                         account_id: str | None = None) -> list[Annotation]:
    """The annotations about the month's trades or written or revised during it (oldest
    first; each reads at its latest version). With ``account_id``, engine notes of other
    accounts are left out (the trader's and imported notes name no account)."""
    return of_month(recorded_annotations(conn, until_seq), month, account_id)


def of_month(annotations: Iterable[Annotation], month: date, account_id: str | None = None) -> list[Annotation]:
    """``annotations_in_month`` over annotations at hand (``annotations_of_events``)."""
    return [a for a in annotations if a.touches_month(month)
            and (account_id is None or a.content.systematic is None or a.content.systematic.account_id == account_id)]


def commentary_history(conn: "Connection", until_seq: int | None = None) -> dict[date, list[Commentary]]:
    """Every frozen commentary, by month, oldest first."""
    return commentary_history_of_events(_events(conn, (kinds.COMMENTARY_RECORDED,), until_seq))


def commentary_history_of_events(events: Iterable[StoredEvent], until_seq: int | None = None) -> dict[date, list[Commentary]]:
    """``commentary_history`` from the events themselves (other kinds are skipped)."""
    out: dict[date, list[Commentary]] = {}
    for event in events:
        if event.kind != kinds.COMMENTARY_RECORDED or (until_seq is not None and event.seq > until_seq):
            continue
        data = event.data()
        month = date.fromisoformat(data["month"] + "-01")
        out.setdefault(month, []).append(Commentary(
            month, data["text"], data["sha256"], data.get("source", ""), event.seq,
            parse_timestamp(event.recorded_at, f"event {event.seq}"), int(data.get("version", 1)),
            data.get("supersedes")))
    return out


def commentaries(conn: "Connection", until_seq: int | None = None) -> dict[date, Commentary]:
    """The latest frozen commentary of every month."""
    return {month: versions[-1] for month, versions in commentary_history(conn, until_seq).items()}


def monthly_commentary(conn: "Connection", month: date, until_seq: int | None = None) -> Commentary | None:
    """The month's latest frozen commentary (``month``: any day of it), or None."""
    return commentaries(conn, until_seq).get(month.replace(day=1))


def version_document(version: AnnotationVersion) -> dict[str, Any]:
    """A version as ``annotate list --json`` shows it (content as recorded, plus seq, version)."""
    from trackrecord.ledger.canonical import format_timestamp, normalise

    return {"seq": version.seq, "version": version.version, "recorded_at": format_timestamp(version.recorded_at),
            "supersedes": version.supersedes, **normalise(content_payload(version.content))}


def annotation_document(annotation: Annotation) -> dict[str, Any]:
    latest = version_document(annotation.versions[-1])
    return {"id": annotation.id, **latest, "versions": [version_document(v) for v in annotation.versions]}



def recorded_order_symbol(conn: "Connection", order_ref: str) -> str | None:
    """The symbol of the recorded order (else fill) with ``order_ref``, None when unknown."""
    dialect = conn.dialect.name
    for table in ("orders", "fills"):
        rows = fetch_all(conn, f"SELECT symbol FROM {table} WHERE order_ref = {param(dialect, 'ref')}",
                         {"ref": order_ref})[1]
        if rows:
            return str(rows[0][0])
    return None
