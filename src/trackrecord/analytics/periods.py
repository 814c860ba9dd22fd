"""The periods of a monthly report, as ``stats`` takes them: the month, the year to the
month's end, the whole record to the month's end (GIPS-style cumulative periods)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from trackrecord.analytics.errors import AnalyticsInputError

SPANS = ("month", "ytd", "inception")


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month ``YYYY-MM``: its first and last day."""

    month: str
    first: date
    last: date

    @classmethod
    def parse(cls, text: str, what: str = "PERIOD") -> "Period":
        """``AnalyticsInputError`` naming ``what`` unless ``text`` is ``YYYY-MM``."""
        try:
            first = datetime.strptime(text.strip(), "%Y-%m").date()
        except ValueError:
            raise AnalyticsInputError(f"{what} {text!r}: expected a month YYYY-MM, e.g. 2026-01") from None
        if (first.year, first.month) == (date.max.year, 12):
            raise AnalyticsInputError(f"{what} {text!r}: expected a month before {date.max.year}-12 (its figures "
                                      "read the day after the month's end)")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return cls(first.strftime("%Y-%m"), first, following - timedelta(days=1))

    @property
    def year_start(self) -> date:
        return date(self.first.year, 1, 1)

    def bounds(self, span: str) -> tuple[date | None, date]:
        """(FROM, TO) of ``stats`` for ``span``: ``month``, ``ytd`` (the year to the month's
        end) or ``inception`` (the whole record to the month's end; FROM None)."""
        starts = {"month": self.first, "ytd": self.year_start, "inception": None}
        if span not in starts:
            raise AnalyticsInputError(f"--span {span!r}: expected {', '.join(SPANS[:-1])} or {SPANS[-1]}")
        return starts[span], self.last
