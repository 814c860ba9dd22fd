"""Parsing of user-supplied values, each failure naming where and what was expected."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from trackrecord.errors import UserError


def parse_decimal(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise UserError(f"{where}: expected a decimal number, got {text!r}") from None
    if not value.is_finite():
        raise UserError(f"{where}: expected a finite number, got {text!r}")
    return value


def parse_date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{where}: expected a date YYYY-MM-DD, got {text!r}") from None


def parse_timestamp(text: str, where: str) -> datetime:
    """ISO 8601; a timestamp without a zone is taken as UTC (the older tool wrote UTC)."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        raise UserError(f"{where}: expected an ISO 8601 timestamp, got {text!r}") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def parse_currency(text: str, where: str) -> str:
    value = text.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise UserError(f"{where}: expected a 3-letter currency code, got {text!r}")
    return value


def parse_side(text: str, where: str) -> str:
    value = text.strip().upper()
    mapping = {"BUY": "BUY", "BOT": "BUY", "B": "BUY", "SELL": "SELL", "SLD": "SELL", "S": "SELL"}
    if value not in mapping:
        raise UserError(f"{where}: expected BUY or SELL, got {text!r}")
    return mapping[value]
