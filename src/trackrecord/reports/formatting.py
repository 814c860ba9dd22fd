"""How a report prints a number: the ``stats`` table's own formats (``analytics.wording``),
plus the report's prices and basis points."""

from __future__ import annotations

from trackrecord.analytics.wording import count, money, percent, plain_percent, ratio
from trackrecord.reports.content import UNDER_A_YEAR, Figure

DASH = "\u2013"


def price(value: float) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def bps(value: float | None) -> str:
    return DASH if value is None else f"{round(value, 1) or 0.0:+.1f}"


def basis_points(fraction: float) -> str:
    """A fraction in basis points, one decimal, thousands separated (``attribution``'s rounding)."""
    return f"{round(fraction * 1e4, 1) or 0.0:+,.1f}"


FORMATS = {"percent": percent, "plain_percent": plain_percent, "ratio": ratio, "money": money, "count": count}


def shown(figure: Figure, kind: str) -> str:
    """The figure formatted, "n/a" when it is undefined, a dash when the cell has no figure
    (or the period is too short to annualise: said once under the table)."""
    if figure.value is not None:
        return FORMATS[kind](figure.value)
    if not figure.reason or figure.reason == UNDER_A_YEAR:
        return DASH
    return "n/a"
