"""Trade annotations and monthly commentary: what the trader (or the engine) said about a trade
before it and what happened after, as a recruiter reads it next to the fills.

An annotation is a chain of versions; a version is never changed, an edit is a new version that
supersedes the latest one (each version holds the whole content, so any one reads on its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum


class Author(str, Enum):
    """Who wrote a version: the trader at the command line, the engine when it planned the
    order (a systematic note), or the older tool, through ``import seed``."""

    TRADER = "trader"
    ENGINE = "engine"
    SEED_IMPORT = "seed import"


@dataclass(frozen=True, slots=True)
class PreTrade:
    """Before the trade: why, at what price, how big, and how it ends."""

    symbol: str
    thesis: str
    intended_entry: Decimal | None = None
    size_rationale: str = ""
    exit_plan: str = ""


@dataclass(frozen=True, slots=True)
class PostTrade:
    """After the trade: what happened, whether it went as expected (None: not said), the lesson."""

    outcome: str
    matched_expectation: bool | None = None
    lesson: str = ""


@dataclass(frozen=True, slots=True)
class SystematicReason:
    """The engine's reason for one planned order, from the signal and the plan that made it.
    ``momentum`` and the weights are fractions (0.243 = 24.3 %); ``rank`` is None for a
    symbol the signal could not rank (excluded, with ``reason``)."""

    plan_id: str
    plan_seq: int | None
    signal_seq: int | None
    mode: str
    account_id: str
    session_date: date
    side: str
    quantity: Decimal
    action: str
    rule: str
    reason: str
    rank: int | None
    ranked: int
    momentum: Decimal | None
    target_weight: Decimal
    weight_before: Decimal
    decision_price: Decimal
    currency: str
    order_type: str
    formation_start: date
    formation_end: date
    inputs_sha256: str


@dataclass(frozen=True, slots=True)
class AnnotationContent:
    """What one version says: who, about which trade (``as_of``: the trade's session or the
    day the note was written), before and after. ``source_sha256``: the imported file's."""

    author: Author
    as_of: date
    pre_trade: PreTrade
    post_trade: PostTrade | None = None
    order_ref: str | None = None
    trade_id: str | None = None
    systematic: SystematicReason | None = None
    source_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class AnnotationVersion:
    """One recorded version of an annotation (``seq``: its event; ``supersedes``: the seq of
    the version it replaced, None for the first)."""

    seq: int
    recorded_at: datetime
    version: int
    content: AnnotationContent
    supersedes: int | None = None


@dataclass(frozen=True, slots=True)
class Annotation:
    """An annotation with every version, oldest first. ``id`` is the seq of its first version
    (what ``annotate ID`` takes and ``annotate list`` shows)."""

    id: int
    versions: tuple[AnnotationVersion, ...]

    @property
    def latest(self) -> AnnotationVersion:
        return self.versions[-1]

    @property
    def content(self) -> AnnotationContent:
        return self.versions[-1].content

    @property
    def as_of(self) -> date:
        return self.versions[0].content.as_of

    def touches_month(self, month: date) -> bool:
        """About a trade of the month (``as_of``), or written or revised during it."""
        return _same_month(self.as_of, month) or any(_same_month(v.recorded_at.date(), month) for v in self.versions)


@dataclass(frozen=True, slots=True)
class Commentary:
    """The trader's commentary of one month, frozen into the ledger by its content.
    ``month`` is the month's first day; ``version`` counts the month's frozen texts."""

    month: date
    text: str
    sha256: str
    source: str
    seq: int
    recorded_at: datetime
    version: int
    supersedes: int | None = None


def _same_month(day: date, month: date) -> bool:
    return (day.year, day.month) == (month.year, month.month)
