"""Parsing of user-supplied values, each failure naming where and what was expected.

Numbers a ledger accepts (money, quantities, prices, rates): finite decimals with
``|value| < 10**15`` (:data:`MAX_MAGNITUDE`), at most 20 decimal places
(:data:`MAX_DECIMAL_PLACES`, trailing zeros not counted: float noise such as
``0.30000000000000004`` passes) and at most 28 significant digits (:data:`MAX_DIGITS`,
Decimal's default precision). ``1e400``, ``1e-999999``, ``NaN`` and ``Infinity`` are
refused before anything is written: an accepted number's canonical text is short.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, DecimalException
from pathlib import Path

from trackrecord.errors import UserError

MAX_MAGNITUDE = Decimal(10) ** 15
MAX_DECIMAL_PLACES = 20
MAX_DIGITS = 28
MAX_NUMBER_TEXT = 100
CURRENCY_CODE = re.compile(r"[A-Za-z]{3}")


def read_utf8(path: Path, what: str) -> tuple[str, bytes]:
    """The text of a user's file (UTF-8, a byte-order mark dropped) and its raw bytes (for
    a content hash). ``what`` names the file in the advice ("the configuration", "a CSV of
    daily prices"). A file that cannot be read, or is not UTF-8, is one ``UserError`` line
    naming the file and, for a bad byte, its line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig"), raw
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save {what} as UTF-8") from None


def number_problem(value: Decimal) -> str | None:
    """Why ``value`` is not a number the ledger accepts (see the module docstring), else None."""
    if not value.is_finite():
        return "expected a finite number"
    if value == 0:
        return None
    if value.adjusted() >= MAX_MAGNITUDE.adjusted():
        return f"expected a number below 1e{MAX_MAGNITUDE.adjusted()} in magnitude"
    _, digits, exponent = value.as_tuple()
    significant = list(digits)
    while significant and significant[-1] == 0:  # trailing zeros (normalize() would round)
        significant.pop()
        exponent += 1  # type: ignore[operator]
    if exponent < -MAX_DECIMAL_PLACES:  # type: ignore[operator]
        return f"expected at most {MAX_DECIMAL_PLACES} decimal places"
    if len(significant) > MAX_DIGITS:
        return f"expected at most {MAX_DIGITS} significant digits"
    return None


def checked_number(value: Decimal, where: str, shown: object | None = None) -> Decimal:
    """``value`` when the ledger accepts it, else UserError naming ``where``."""
    problem = number_problem(value)
    if problem is not None:
        raise UserError(f"{where}: {problem}, got {_short(shown if shown is not None else value)}")
    return Decimal(0) if value == 0 else value  # 0E-999999 is zero, not a million-digit text


def parse_decimal(text: str, where: str) -> Decimal:
    """A finite decimal within the ledger's bounds (module docstring); ``where`` names the input."""
    if not isinstance(text, str) or len(text.strip()) > MAX_NUMBER_TEXT:
        raise UserError(f"{where}: expected a decimal number, got {_short(text)}")
    try:
        value = Decimal(text.strip())
    except (DecimalException, AttributeError):
        raise UserError(f"{where}: expected a decimal number, got {_short(text)}") from None
    return checked_number(value, where, text)


def parse_date(text: str, where: str, expected: str = "a date YYYY-MM-DD") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{where}: expected {expected}, got {_short(text)}") from None


def parse_timestamp(text: str, where: str) -> datetime:
    """ISO 8601; a timestamp without a zone is taken as UTC (the older tool wrote UTC)."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        raise UserError(f"{where}: expected an ISO 8601 timestamp, got {_short(text)}") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def parse_currency(text: str, where: str) -> str:
    value = text.strip()
    if not CURRENCY_CODE.fullmatch(value):
        raise UserError(f"{where}: expected a 3-letter currency code, got {_short(text)}")
    return value.upper()


def parse_side(text: str, where: str) -> str:
    value = text.strip().upper()
    mapping = {"BUY": "BUY", "BOT": "BUY", "B": "BUY", "SELL": "SELL", "SLD": "SELL", "S": "SELL"}
    if value not in mapping:
        raise UserError(f"{where}: expected BUY or SELL, got {_short(text)}")
    return mapping[value]


def _short(value: object, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters so one line stays one line."""
    if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > 40:
        return f"a number of magnitude 1e{value.adjusted()}"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
