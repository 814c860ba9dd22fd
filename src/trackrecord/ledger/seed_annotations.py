"""The older tool's annotations in ``import seed``: ``annotations/<trade_id>.json`` (``trade_id,
created_at, pre_trade{symbol, thesis, intended_entry, position_size_rationale, exit_plan},
post_trade{outcome, matched_expectation, lesson}``) and ``annotations/monthly/YYYY-MM.md``.

Idempotent: an annotation is keyed by its ``trade_id``. A file whose content was imported
before (as any version) adds nothing; a changed file is a new version that supersedes. A month's
commentary whose text was frozen before adds nothing; a new text is a new version. So importing
the seed again never undoes what the trader recorded since.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from trackrecord.domain.annotations import AnnotationContent, Author, PostTrade, PreTrade
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.annotations import (
    CommentaryText,
    checked_symbol,
    checked_text,
    commentary_history,
    commentary_payload,
    content_payload,
    parse_month,
    read_commentary,
    recorded_annotations,
    revision_payload,
)
from trackrecord.ledger.parsing import checked_number, parse_timestamp

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

Items = list[tuple[str, dict[str, Any]]]


@dataclass
class Tally:
    """What an import of annotations adds (by kind) and finds recorded already (by kind)."""

    added: dict[str, int] = field(default_factory=dict)
    already_recorded: dict[str, int] = field(default_factory=dict)

    def add(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1


MONTHLY_FILE = re.compile(r"^(\d{4}-\d{2})\.md$")
MAX_TRADE_ID = 96


def parse_seed_annotation(path: Path) -> tuple[AnnotationContent, str]:
    """One annotation file, every key checked (the file and key named on a refusal); the
    content and the file's SHA-256."""
    raw = _read(path)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal, parse_int=Decimal)
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None
    except RecursionError:
        raise UserError(f"{path}: malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object with trade_id, created_at, pre_trade, post_trade")
    trade_id = data.get("trade_id")
    if not isinstance(trade_id, str) or not trade_id.strip() or len(trade_id.strip()) > MAX_TRADE_ID \
            or checked_text(trade_id, f"{path}: key 'trade_id'") != trade_id.strip():
        raise UserError(f"{path}: key 'trade_id': expected the trade's id (text), got {trade_id!r}")
    created = data.get("created_at")
    if not isinstance(created, str):
        raise UserError(f"{path}: key 'created_at': expected an ISO 8601 timestamp, got {created!r}")
    as_of = parse_timestamp(created, f"{path}: key 'created_at'").date()
    content = AnnotationContent(Author.SEED_IMPORT, as_of, _pre_trade(path, data.get("pre_trade")),
                                _post_trade(path, data.get("post_trade")), trade_id=trade_id.strip(),
                                source_sha256=digest)
    return content, digest


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None


def _pre_trade(path: Path, data: Any) -> PreTrade:
    if not isinstance(data, dict):
        raise UserError(f"{path}: key 'pre_trade': expected an object with symbol and thesis")
    where = f"{path}: key 'pre_trade."
    symbol = data.get("symbol")
    return PreTrade(checked_symbol(symbol if isinstance(symbol, str) else None, where + "symbol'"),
                    checked_text(_text(path, data, "thesis", "pre_trade"), where + "thesis'", required=True),
                    _price(path, data.get("intended_entry")),
                    checked_text(_text(path, data, "position_size_rationale", "pre_trade"),
                                 where + "position_size_rationale'"),
                    checked_text(_text(path, data, "exit_plan", "pre_trade"), where + "exit_plan'"))


def _post_trade(path: Path, data: Any) -> PostTrade | None:
    if data is None or (isinstance(data, dict) and all(v in (None, "") for v in data.values())):
        return None  # the older tool writes an empty post_trade until the trade is reviewed
    if not isinstance(data, dict):
        raise UserError(f"{path}: key 'post_trade': expected an object or null")
    matched = data.get("matched_expectation")
    if matched is not None and not isinstance(matched, bool):
        raise UserError(f"{path}: key 'post_trade.matched_expectation': expected true, false or null, got {matched!r}")
    where = f"{path}: key 'post_trade."
    return PostTrade(checked_text(_text(path, data, "outcome", "post_trade"), where + "outcome'", required=True),
                     matched, checked_text(_text(path, data, "lesson", "post_trade"), where + "lesson'"))


def _text(path: Path, data: dict[str, Any], key: str, part: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise UserError(f"{path}: key '{part}.{key}': expected text or null, got {value!r}")
    return value


def _price(path: Path, value: Any) -> Decimal | None:
    where = f"{path}: key 'pre_trade.intended_entry'"
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (Decimal, str)):
        raise UserError(f"{where}: expected a price or null, got {value!r}")
    try:
        price = Decimal(value.strip()) if isinstance(value, str) else value
    except ArithmeticError:
        raise UserError(f"{where}: expected a price or null, got {value!r}") from None
    price = checked_number(price, where)
    if price <= 0:
        raise UserError(f"{where}: expected a price above zero, got {value}")
    return price


def parse_seed_commentary(path: Path) -> tuple[date, CommentaryText] | None:
    """A month's commentary file (``YYYY-MM.md``); None when it is empty."""
    match = MONTHLY_FILE.match(path.name)
    if match is None:
        raise UserError(f"{path}: expected a file named YYYY-MM.md (a month's commentary)")
    month = parse_month(match.group(1), str(path))
    raw = _read(path)
    if not raw.strip():
        return None
    return month, read_commentary(path, f"annotations/monthly/{path.name}")


def new_annotation_items(conn: "Connection", contents: Sequence[AnnotationContent], tally: Tally) -> Items:
    """Annotations not imported yet, and new versions of those whose file changed."""
    by_trade = {a.content.trade_id: a for a in recorded_annotations(conn)
                if any(v.content.author is Author.SEED_IMPORT for v in a.versions) and a.content.trade_id}
    items: Items = []
    for content in contents:
        found = by_trade.get(content.trade_id)
        if found is None:
            items.append((kinds.ANNOTATION_ADDED, content_payload(content)))
            tally.add(tally.added, "annotations")
        elif any(_same(v.content, content) for v in found.versions):
            tally.add(tally.already_recorded, "annotations")
        else:
            items.append((kinds.ANNOTATION_REVISED, revision_payload(found, content)))
            tally.add(tally.added, "annotation versions")
    return items


def _same(recorded: AnnotationContent, imported: AnnotationContent) -> bool:
    return replace(recorded, source_sha256=None) == replace(imported, source_sha256=None)


def new_commentary_items(conn: "Connection", commentaries: Sequence[tuple[date, CommentaryText]],
                         tally: Tally) -> Items:
    """Commentaries whose text was never frozen for their month."""
    history = commentary_history(conn)
    items: Items = []
    for month, text in commentaries:
        versions = history.get(month, [])
        if any(c.sha256 == text.sha256 for c in versions):
            tally.add(tally.already_recorded, "commentaries")
            continue
        items.append((kinds.COMMENTARY_RECORDED, commentary_payload(month, text.text, text.sha256, text.source,
                                                                    versions[-1] if versions else None)))
        tally.add(tally.added, "commentaries")
    return items
