"""Canonical JSON: the bytes that are hashed must be a function of the value alone."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.ledger.canonical import CanonicalError, canonical_json, format_decimal

keys = st.text(min_size=0, max_size=8)
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-10**12, max_value=10**12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.text(max_size=20), decimals)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys, inner, max_size=4)), max_leaves=20)


@given(values)
@settings(max_examples=200)
def test_round_trip_preserves_value_with_decimals_as_strings(value: object) -> None:
    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text or _has_decimal(value)
    assert json.loads(text) == json.loads(canonical_json(json.loads(text)))


def _has_decimal(value: object) -> bool:
    if isinstance(value, Decimal):
        return True
    if isinstance(value, dict):
        return any(_has_decimal(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_decimal(v) for v in value)
    return False


@given(st.dictionaries(keys, st.integers(), min_size=1, max_size=8))
def test_key_order_does_not_change_bytes(mapping: dict[str, int]) -> None:
    reversed_mapping = dict(reversed(list(mapping.items())))
    assert canonical_json(mapping) == canonical_json(reversed_mapping)
    assert list(json.loads(canonical_json(mapping))) == sorted(mapping)


@given(st.text(max_size=30))
def test_unicode_is_kept_as_utf8_not_escaped(text: str) -> None:
    encoded = canonical_json({"t": text})
    assert json.loads(encoded)["t"] == text
    for char in text:
        if char.isprintable() and char not in '"\\':
            assert char in encoded


@given(decimals)
def test_equal_decimals_give_equal_text(value: Decimal) -> None:
    scaled = value.quantize(Decimal(1)) if value == value.to_integral_value() else value
    assert format_decimal(value) == format_decimal(scaled)
    assert Decimal(format_decimal(value)) == value


def test_no_whitespace_and_exact_examples() -> None:
    payload = {"b": Decimal("1.50"), "a": [1, "x"], "ü": None, "t": datetime(2026, 3, 2, 16, 30, tzinfo=timezone.utc),
               "d": date(2026, 3, 2)}
    assert canonical_json(payload) == '{"a":[1,"x"],"b":"1.5","d":"2026-03-02","t":"2026-03-02T16:30:00Z","ü":null}'


def test_timestamps_are_converted_to_utc_z() -> None:
    london_summer = timezone(timedelta(hours=1))
    assert canonical_json(datetime(2026, 6, 1, 17, 30, tzinfo=london_summer)) == '"2026-06-01T16:30:00Z"'


@pytest.mark.parametrize("bad", [1.5, float("nan"), datetime(2026, 1, 1), Decimal("NaN"), {1: "x"}, object()])
def test_values_without_a_canonical_form_are_refused(bad: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_json({"x": bad})
