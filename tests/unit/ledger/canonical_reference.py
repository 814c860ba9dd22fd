"""A frozen copy of ``trackrecord.ledger.canonical`` as it was before its fast path (the
reference implementation): the property tests hold the fast path equal to it. Never edit
this file to make a test pass: a difference is a change of the bytes that are hashed.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from trackrecord.ledger.canonical import CanonicalError

_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise CanonicalError(f"naive datetime {moment.isoformat()} has no canonical form: give it a timezone")
    utc = moment.astimezone(timezone.utc)
    if utc.year < 1000:  # strftime does not pad the year; isoformat would
        text = utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{utc.microsecond:06d}" if utc.microsecond else "")
        return text + "Z"
    # isoformat gives exactly "YYYY-MM-DDTHH:MM:SS[.ffffff]" (microseconds only when not 0)
    return utc.replace(tzinfo=None).isoformat() + "Z"


def format_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise CanonicalError(f"decimal {value} is not finite")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def normalise(value: Any) -> Any:
    """Turn a payload into JSON-native values with exact decimals as strings."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return _normalise_dict(value)
    if kind is list or kind is tuple:
        return _normalise_list(value)
    if kind is Decimal:
        return format_decimal(value)
    return _normalise_other(value)


# Payloads are mostly flat strings, integers and decimals: those are converted in the
# loops below without a call of ``normalise`` each (a ledger event has dozens of them).


def _normalise_dict(value: dict) -> dict:
    out = {}
    for key, item in value.items():
        if type(key) is not str:
            raise CanonicalError(f"payload key {key!r} is not a string")
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            out[key] = item
        elif kind is Decimal:
            out[key] = format_decimal(item)
        else:
            out[key] = normalise(item)
    return out


def _normalise_list(value: list | tuple) -> list:
    out = []
    for item in value:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            out.append(item)
        elif kind is Decimal:
            out.append(format_decimal(item))
        else:
            out.append(normalise(item))
    return out


def _normalise_other(value: Any) -> Any:
    if isinstance(value, Enum):
        return normalise(value.value)
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, float):
        raise CanonicalError(f"float {value!r} in a ledger payload: use Decimal or a string")
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return normalise(dict(value))
    if isinstance(value, (list, tuple)):
        return [normalise(item) for item in value]
    raise CanonicalError(f"{type(value).__name__} has no canonical form")


def canonical_json(value: Any) -> str:
    return _ENCODER.encode(normalise(value))


def canonical_json_and_data(value: Any) -> tuple[str, Any]:
    """The canonical text and the JSON-native value it encodes (what ``json.loads`` of
    the text gives back), for callers that need both."""
    data = normalise(value)
    return _ENCODER.encode(data), data
