"""The report's annotations and commentary, from the events alone (``ledger.annotations``).

A month's report shows the annotations about its trades or written during it, each at its
latest version up to the report's head, and the month's latest frozen commentary. The
engine's notes on dry-run plans are left out: those plans were never acted on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from trackrecord.domain.annotations import Annotation, AnnotationContent, Author
from trackrecord.ledger.annotations import annotations_of_events, commentary_history_of_events, of_month
from trackrecord.ledger.canonical import format_decimal
from trackrecord.ledger.chain import StoredEvent

AUTHORS = {Author.TRADER: "trader", Author.ENGINE: "engine", Author.SEED_IMPORT: "imported"}
DRY_RUN = "dry_run"


@dataclass(frozen=True, slots=True)
class AnnotationRow:
    """One annotation as the report prints it: before and after the trade, in words."""

    day: str
    symbol: str
    author: str
    before: str
    after: str
    versions: int


@dataclass(frozen=True, slots=True)
class MonthCommentary:
    """The month's commentary as frozen in the ledger (Markdown text)."""

    text: str
    seq: int
    version: int
    sha256: str


def annotation_rows(events: Iterable[StoredEvent], month: date, account_id: str) -> tuple[AnnotationRow, ...]:
    """The month's annotations for ``account_id`` (trade date, then first recorded)."""
    chosen = [a for a in of_month(annotations_of_events(events), month, account_id) if not _dry_run(a)]
    return tuple(_row(a) for a in sorted(chosen, key=lambda a: (a.as_of, a.id)))


def month_commentary(events: Iterable[StoredEvent], month: date) -> MonthCommentary | None:
    versions = commentary_history_of_events(events).get(month.replace(day=1))
    if not versions:
        return None
    latest = versions[-1]
    return MonthCommentary(latest.text, latest.seq, latest.version, latest.sha256)


def _dry_run(annotation: Annotation) -> bool:
    systematic = annotation.content.systematic
    return systematic is not None and systematic.mode == DRY_RUN


def _row(annotation: Annotation) -> AnnotationRow:
    content = annotation.content
    return AnnotationRow(annotation.as_of.isoformat(), content.pre_trade.symbol, AUTHORS[content.author],
                         before_text(content), after_text(content), len(annotation.versions))


def before_text(content: AnnotationContent) -> str:
    pre = content.pre_trade
    parts = [pre.thesis]
    if pre.intended_entry is not None and content.author is not Author.ENGINE:  # the engine's size line names it
        parts.append(f"Intended entry {format_decimal(pre.intended_entry)}.")
    if pre.size_rationale:
        parts.append(f"Size: {pre.size_rationale}")
    if pre.exit_plan:
        parts.append(f"Exit: {pre.exit_plan}")
    return " ".join(_sentence(p) for p in parts)


def after_text(content: AnnotationContent) -> str:
    post = content.post_trade
    if post is None:
        return ""
    parts = [post.outcome]
    if post.matched_expectation is not None:
        parts.append("As expected." if post.matched_expectation else "Not as expected.")
    if post.lesson:
        parts.append(f"Lesson: {post.lesson}")
    return " ".join(_sentence(p) for p in parts)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?", ":")) else text + "."


# -- the commentary's Markdown, as paragraphs ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """A block of the commentary: a heading, a bullet or a paragraph, its text in ReportLab's
    paragraph markup (escaped; ``**bold**`` and ``*italic*`` kept)."""

    kind: str  # "heading", "bullet", "paragraph"
    markup: str


BOLD = re.compile(r"\*\*(.+?)\*\*")
ITALIC = re.compile(r"(?<![*\w])[*_](?!\s)(.+?)(?<!\s)[*_](?![*\w])")


def commentary_blocks(text: str) -> tuple[Block, ...]:
    """Headings (``#``), bullets (``-``, ``*``) and paragraphs (lines joined up to a blank line)."""
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", _inline(" ".join(paragraph))))
            paragraph.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            blocks.append(Block("heading", _inline(line.lstrip("#").strip())))
        elif line[:2] in ("- ", "* ", "+ "):
            flush()
            blocks.append(Block("bullet", _inline(line[2:].strip())))
        else:
            paragraph.append(line)
    flush()
    return tuple(b for b in blocks if b.markup)


def _inline(text: str) -> str:
    from trackrecord.reports.style import drawable  # reportlab: loaded only when a PDF is drawn

    escaped = drawable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ITALIC.sub(r"<i>\1</i>", BOLD.sub(r"<b>\1</b>", escaped))

