"""Canonical JSON: the exact bytes that are hashed and signed.

UTF-8, sorted keys, no insignificant whitespace, no floats (exact decimals travel as
strings), timestamps ISO 8601 UTC with ``Z``. Two equal payloads always give equal bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring as _quote  # what _ENCODER quotes strings with (ensure_ascii=False)
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_loads = json.loads


class CanonicalError(TypeError):
    """A value that has no canonical form (a float, a naive datetime, an unknown type)."""


_UTC_TEXTS: dict[datetime, str] = {}  # UTC datetime -> its text: a replay stamps the same moments again and again
_UTC_TEXTS_MAX = 8192


def format_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC; a naive datetime is refused. The texts of
    UTC moments are cached: payloads name the same moments again and again."""
    if type(moment) is datetime and moment.tzinfo is timezone.utc:
        text = _UTC_TEXTS.get(moment)
        if text is None:
            if len(_UTC_TEXTS) >= _UTC_TEXTS_MAX:
                _UTC_TEXTS.clear()
            text = _UTC_TEXTS[moment] = _utc_text(moment)
        return text
    if moment.tzinfo is None:
        raise CanonicalError(f"naive datetime {moment.isoformat()} has no canonical form: give it a timezone")
    return _utc_text(moment.astimezone(timezone.utc))


def format_moment(moment: datetime) -> str:
    """``format_timestamp`` without its cache, for moments that do not repeat (the
    ``recorded_at`` of each append: caching them would only push out the payloads' moments)."""
    if type(moment) is datetime and moment.tzinfo is timezone.utc:
        return _utc_text(moment)
    return format_timestamp(moment)


def _utc_text(utc: datetime) -> str:
    """``utc`` has ``tzinfo=timezone.utc``."""
    if utc.year < 1000:  # strftime does not pad the year; isoformat would
        text = utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{utc.microsecond:06d}" if utc.microsecond else "")
        return text + "Z"
    # isoformat gives exactly "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00" (microseconds only when not 0)
    return utc.isoformat()[:-6] + "Z"


def format_decimal(value: Decimal) -> str:
    text = str(value)  # the plain notation whenever no exponent is needed, as format(value, "f") writes it
    if "E" in text or not value.is_finite():
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


def reference_canonical_json(value: Any) -> str:
    """The definition of the canonical text: ``normalise`` then the standard encoder.
    ``canonical_json`` gives the same text faster; a property test holds them equal."""
    return _ENCODER.encode(normalise(value))


def canonical_json(value: Any) -> str:
    """The canonical text of a payload, built in one walk (no normalised copy first): the
    common exact types are written here, anything else goes through the reference."""
    return _text(value)


def canonical_json_and_data(value: Any) -> tuple[str, Any]:
    """The canonical text and the JSON-native value it encodes, equal to ``json.loads`` of
    the text (the ledger's append feeds it to the projectors), built in the same walk
    rather than parsed back: strings, integers and booleans as they are, decimals, dates
    and timestamps as their texts, containers as lists and key-sorted dicts; anything
    else is parsed back from its own text. A property test holds it to ``json.loads``."""
    kind = type(value)
    if kind is dict:
        return _dict_pair(value)
    if kind is list or kind is tuple:
        return _list_pair(value)
    if kind is Canonical:
        return value.text, value.data
    text = _text(value)
    return text, _loads(text)


# Format of each exact type, as the reference writes it: strings with the encoder's own
# quoting, decimals and timestamps as strings (their characters need no escaping),
# integers with int.__repr__ (as the encoder does). Subclasses, Enums, floats and the
# rest take the reference's path, refusals included.


_SHAPES: dict[tuple[Any, ...], tuple[tuple[str, str], ...]] = {}  # a dict's keys in its order -> sorted


def _key_order(value: dict) -> tuple[tuple[str, str], ...]:
    """(key, text before its value) in canonical order: the first key's text opens the
    object (``{"key":``), the others' follow a comma (``,"key":``). Payloads are built by a
    few dozen functions, so a few hundred key sequences come back again and again; every
    key is checked each time (a str subclass, a str Enum, equals its text: a known key
    sequence must not let it through)."""
    keys = tuple(value)
    for key in keys:
        if type(key) is not str:
            raise CanonicalError(f"payload key {key!r} is not a string")
    order = _SHAPES.get(keys)
    if order is None:
        if len(_SHAPES) >= _UTC_TEXTS_MAX:
            _SHAPES.clear()
        order = _SHAPES[keys] = tuple((key, ("," if index else "{") + _quote(key) + ":")
                                      for index, key in enumerate(sorted(keys)))
    return order


def _dict_text(value: dict) -> str:
    return _dict_pair(value)[0]


def _list_text(value: list | tuple) -> str:
    return _list_pair(value)[0]


def _dict_pair(value: dict) -> tuple[str, dict]:
    """A dict's canonical text and the value ``json.loads`` gives back for it (keys in
    canonical order): one walk serves the text alone (``canonical_json``) and the append,
    which feeds the value to the projectors (the value costs ~15 % more than the text)."""
    if not value:
        return "{}", {}
    parts: list[str] = []
    append = parts.append
    data: dict[str, Any] = {}
    for key, prefix in _key_order(value):
        append(prefix)
        item = value[key]
        kind = type(item)
        if kind is str:
            append(_quote(item))
            data[key] = item
        elif kind is Decimal:
            text = format_decimal(item)
            append(f'"{text}"')
            data[key] = text
        elif kind is date:
            quoted = _DATE_TEXTS.get(item) or _date_text(item)
            append(quoted)
            data[key] = quoted[1:-1]
        elif kind is bool or item is None:
            append("null" if item is None else "true" if item else "false")
            data[key] = item
        elif kind is dict:
            text, data[key] = _dict_pair(item)
            append(text)
        elif kind is list or kind is tuple:
            text, data[key] = _list_pair(item)
            append(text)
        elif kind is int:
            append(int.__repr__(item))
            data[key] = item
        elif kind is datetime:
            text = format_timestamp(item)
            append(f'"{text}"')
            data[key] = text
        else:
            text = _text(item)
            append(text)
            data[key] = _loads(text)
    append("}")
    return "".join(parts), data


def _list_pair(value: list | tuple) -> tuple[str, list]:
    if not value:
        return "[]", []
    parts: list[str] = []
    data: list[Any] = []
    for item in value:
        kind = type(item)
        if kind is dict:
            text, native = _dict_pair(item)
        elif kind is str:
            text, native = _quote(item), item
        elif kind is list or kind is tuple:
            text, native = _list_pair(item)
        else:
            text = _text(item)
            native = _loads(text)
        parts.append(text)
        data.append(native)
    return "[" + ",".join(parts) + "]", data


_DATE_TEXTS: dict[date, str] = {}  # exact dates -> their quoted text (a payload names the same sessions again)


def _date_text(day: date) -> str:
    if len(_DATE_TEXTS) >= _UTC_TEXTS_MAX:
        _DATE_TEXTS.clear()
    text = _DATE_TEXTS[day] = f'"{day.isoformat()}"'
    return text


def quote(text: str) -> str:
    """A string as the canonical text writes it (quoted, ``ensure_ascii=False``)."""
    return _quote(text)


def quoted_date(day: date) -> str:
    """An exact ``date`` as the canonical text writes it, quoted (``"YYYY-MM-DD"``)."""
    return _DATE_TEXTS.get(day) or _date_text(day)


class CanonicalList(list):
    """A JSON-native list that carries its own canonical text (``Canonical.data`` of a
    builder of one payload shape): a projector that keeps the list as JSON text
    (``projections.positions_text``) takes the text instead of encoding the list again."""

    __slots__ = ("text",)

    def __init__(self, items: list, text: str) -> None:
        super().__init__(items)
        self.text = text


@dataclass(frozen=True, slots=True)
class Canonical:
    """A payload given in canonical form already: its ``text`` (the bytes hashed) and
    ``data``, equal to ``json.loads(text)``. Made by a builder of one payload shape
    (``engine.recording.canonical_snapshot``) whose text a property test holds equal,
    byte for byte, to ``canonical_json`` of the generic payload; the append takes both as
    they are, so the promise is the builder's."""

    text: str
    data: dict[str, Any]


def _text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is dict:
        return _dict_text(value)
    if kind is list or kind is tuple:
        return _list_text(value)
    if kind is Decimal:
        return f'"{format_decimal(value)}"'
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is datetime:
        return f'"{format_timestamp(value)}"'
    if kind is date:
        return _DATE_TEXTS.get(value) or _date_text(value)
    if isinstance(value, Enum):
        return _text(value.value)
    if kind is Canonical:
        return value.text
    return reference_canonical_json(value)
