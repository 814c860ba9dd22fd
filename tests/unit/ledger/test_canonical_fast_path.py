"""The fast canonical text equals the reference implementation (``canonical_reference``, the
module as it was before the fast path) on every payload, and refuses exactly what it refuses."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum

from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.domain.enums import Mode, OrderStatus, Side
from tests.unit.ledger import canonical_reference as reference
from trackrecord.ledger.canonical import (
    CanonicalError,
    canonical_json,
    canonical_json_and_data,
    format_decimal,
    format_moment,
    format_timestamp,
    normalise,
    reference_canonical_json,
)


class Colour(Enum):
    RED = "red"
    NESTED = ("a", 1)


class Level(IntEnum):
    LOW = 1


class Tag(str):
    pass


class Count(int):
    pass


zones = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60))
aware = st.builds(lambda moment, zone: moment.replace(tzinfo=zone),
                  st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)), zones)
decimals = st.one_of(st.decimals(allow_nan=False, allow_infinity=False),
                     st.sampled_from([Decimal("-0"), Decimal("1E+3"), Decimal("0.000001"), Decimal("-0.00"),
                                      Decimal("1E-30"), Decimal("123456789012345678901234567890.5")]))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70), st.text(), decimals, st.dates(), aware,
    st.sampled_from([Side.BUY, Side.SELL, Mode.PAPER, OrderStatus.FILLED, Colour.RED, Colour.NESTED, Level.LOW]),
    st.builds(Tag, st.text(max_size=5)), st.builds(Count, st.integers()),
)
keys = st.text(max_size=6)


def containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.lists(inner, max_size=5), st.lists(inner, max_size=4).map(tuple),
                     st.dictionaries(keys, inner, max_size=5),
                     st.dictionaries(keys, inner, max_size=3).map(OrderedDict))


payloads = st.recursive(scalars, lambda inner: containers(inner), max_leaves=30)
bad_leaves = st.one_of(st.floats(), st.datetimes(), st.just(Decimal("NaN")), st.just(Decimal("-Infinity")),
                       st.just({1: "x"}), st.just({Side.BUY: 1}), st.just({None: 1}), st.just(b"x"), st.just({1, 2}))
maybe_bad = st.recursive(st.one_of(scalars, bad_leaves), lambda inner: containers(inner), max_leaves=20)


@given(payloads)
@settings(max_examples=300)
def test_the_fast_text_equals_the_reference_text(payload: object) -> None:
    assert canonical_json(payload) == reference.canonical_json(payload)


@given(st.dictionaries(keys, payloads, max_size=8))
@settings(max_examples=80)
def test_the_fast_text_and_data_equal_the_reference(payload: dict) -> None:  # type: ignore[type-arg]
    text, data = canonical_json_and_data(payload)
    assert text == reference.canonical_json(payload)
    assert data == json.loads(text)


def _outcome(encode, payload: object) -> str:  # type: ignore[no-untyped-def]
    try:
        return encode(payload)
    except CanonicalError:
        return "refused"


@given(maybe_bad)
@settings(max_examples=200)
def test_the_fast_path_refuses_exactly_what_the_reference_refuses(payload: object) -> None:
    assert _outcome(canonical_json, {"p": payload}) == _outcome(reference.canonical_json, {"p": payload})
    assert _outcome(canonical_json, [payload]) == _outcome(reference.canonical_json, [payload])


def test_years_before_1000_and_microseconds_keep_their_reference_form() -> None:
    moments = [datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc), datetime(1000, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
               date(5, 6, 7), datetime(2026, 6, 1, 9, 30, 0, 250000, tzinfo=timezone(timedelta(hours=-4)))]
    assert canonical_json(moments) == reference.canonical_json(moments)


@given(payloads)
@settings(max_examples=150)
def test_normalise_and_the_in_module_reference_equal_the_frozen_reference(payload: object) -> None:
    assert normalise(payload) == reference.normalise(payload)
    assert reference_canonical_json(payload) == reference.canonical_json(payload)


@given(decimals)
@settings(max_examples=300)
def test_decimal_text_equals_the_reference(value: Decimal) -> None:
    assert format_decimal(value) == reference.format_decimal(value)


@given(aware)
@settings(max_examples=300)
def test_timestamp_text_equals_the_reference_in_any_zone_and_in_utc(moment: datetime) -> None:
    assert format_timestamp(moment) == reference.format_timestamp(moment)
    utc = moment.astimezone(timezone.utc)
    assert format_timestamp(utc) == format_timestamp(utc) == reference.format_timestamp(utc)  # cached the second time
    assert format_moment(moment) == format_moment(utc) == reference.format_timestamp(moment)
