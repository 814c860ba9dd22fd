"""A session's snapshot written straight in canonical order (issue 15 item 5): the bytes,
the data and the ``snapshots`` row of ``canonical_snapshot`` are those of the generic walk
(``canonical_json_and_data``) for every payload ``snapshot_payload`` can give, and any
other shape is left to the generic walk."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.ledger.test_append_projector_input import snapshot as loose_snapshots
from tests.unit.ledger.test_append_projector_input import typed
from trackrecord.domain import AccountSnapshot, Position, ReportedPosition
from trackrecord.engine.recording import canonical_snapshot, snapshot_payload
from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import (
    CanonicalError,
    CanonicalList,
    canonical_json,
    canonical_json_and_data,
)
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.projections import PROJECTORS, positions_text

decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("-0"), Decimal("1E+3"), Decimal("0.000001"), Decimal("-0.00"), Decimal("1E-30"),
                     Decimal("57.96294402611403753856325984"), Decimal("123456789012345678901234567890.5")]))
texts = st.one_of(st.text(max_size=8), st.sampled_from(["SIM0001", "USD", "XLK", "paper", "é", "\x00\n\"\\", "\u2028"]))
zones = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60))
moments = st.builds(lambda moment, zone: moment.replace(tzinfo=zone),
                    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
                    st.one_of(st.just(timezone.utc), zones))
positions = st.builds(
    Position, texts, decimals, decimals, decimals, decimals, texts,
    st.one_of(st.none(), st.builds(ReportedPosition, decimals, decimals, decimals, decimals, decimals)),
    st.one_of(st.none(), st.dates()))
snapshots = st.builds(AccountSnapshot, texts, st.booleans(), moments, st.dates(), texts, decimals, decimals,
                      st.lists(positions, max_size=4).map(tuple))
payloads = st.builds(snapshot_payload, snapshots, st.booleans(), texts)


def _same_as_the_generic_walk(payload: dict[str, Any]) -> bool:
    """The builder's text, data and projection rows equal the generic walk's; False when it
    left the payload to the walk."""
    canonical = canonical_snapshot(payload)
    if canonical is None:
        return False
    text, data = canonical_json_and_data(payload)
    assert canonical.text == text == canonical_json(payload)
    assert typed(canonical.data) == typed(data) == typed(json.loads(text))
    assert positions_text(canonical.data["positions"]) == positions_text(json.loads(text)["positions"])
    event = StoredEvent(9, "2026-03-02T21:05:00Z", kinds.SNAPSHOT_RECORDED, text, "0" * 64, "1" * 64)
    built, parsed = PROJECTORS[kinds.SNAPSHOT_RECORDED](event, canonical.data), \
        PROJECTORS[kinds.SNAPSHOT_RECORDED](event, json.loads(text))
    assert [typed(asdict(op)) for op in built] == [typed(asdict(op)) for op in parsed]
    return True


@given(payloads)
@settings(max_examples=400)
def test_the_snapshot_builder_writes_the_generic_walks_bytes_data_and_row(payload: dict[str, Any]) -> None:
    taken = _same_as_the_generic_walk(payload)
    plain = all("reported" not in position for position in payload["positions"])
    assert taken == plain  # every position without the broker's raw values takes the builder


@given(loose_snapshots)
@settings(max_examples=200)
def test_a_snapshot_of_another_shape_is_left_to_the_generic_walk_or_written_as_it(payload: dict[str, Any]) -> None:
    _same_as_the_generic_walk(payload)


def test_a_replays_snapshot_takes_the_builder_and_keeps_its_positions_text() -> None:
    day = date(2026, 7, 10)
    held = (Position("XLE", Decimal(683617), Decimal("57.96294402611403753856325984"), Decimal("55.08"),
                     Decimal("37653624.36"), "USD", price_date=day),
            Position("XLK", Decimal(190567), Decimal("131.5"), Decimal("185.7800"), Decimal("35403537.2600"), "USD",
                     price_date=day))
    snapshot = AccountSnapshot("SIM0001", True, datetime(2026, 7, 10, 20, 30, tzinfo=timezone.utc), day, "USD",
                               Decimal("108712171.4578"), Decimal("-3129.3622"), held)
    canonical = canonical_snapshot(snapshot_payload(snapshot, True, "paper"))
    assert canonical is not None and type(canonical.data["positions"]) is CanonicalList
    assert canonical.text == (
        '{"account_id":"SIM0001","base_currency":"USD","cash":"-3129.3622","is_paper":true,"nav":"108712171.4578",'
        '"positions":[{"avg_cost":"57.96294402611403753856325984","currency":"USD","market_price":"55.08",'
        '"market_value":"37653624.36","price_date":"2026-07-10","quantity":"683617","symbol":"XLE"},'
        '{"avg_cost":"131.5","currency":"USD","market_price":"185.78","market_value":"35403537.26",'
        '"price_date":"2026-07-10","quantity":"190567","symbol":"XLK"}],"session_date":"2026-07-10",'
        '"simulated":true,"source":"paper","taken_at":"2026-07-10T20:30:00Z"}')
    assert _same_as_the_generic_walk(snapshot_payload(snapshot, True, "paper"))


def test_a_non_ascii_position_keeps_the_tables_escaped_text() -> None:
    snapshot = AccountSnapshot("SIM0001", True, datetime(2026, 7, 10, 20, 30, tzinfo=timezone.utc), date(2026, 7, 10),
                               "GBP", Decimal(10), Decimal(0), (Position("ÉLÉ", Decimal(1), Decimal(10), Decimal(10),
                                                                         Decimal(10), "GBP"),))
    canonical = canonical_snapshot(snapshot_payload(snapshot, True, "paper"))
    assert canonical is not None and '"ÉLÉ"' in canonical.text
    assert '"\\u00c9L\\u00c9"' in positions_text(canonical.data["positions"])
    assert _same_as_the_generic_walk(snapshot_payload(snapshot, True, "paper"))


@pytest.mark.parametrize("change", [
    {"taken_at": datetime(2026, 7, 10, 20, 30)},  # naive
    {"nav": Decimal("NaN")},
    {"cash": Decimal("-Infinity")},
    {"positions": [{"symbol": "XLK", "quantity": Decimal("sNaN"), "avg_cost": Decimal(1), "market_price": Decimal(1),
                    "market_value": Decimal(1), "currency": "USD"}]},
    {"positions": [{"symbol": "XLK", "quantity": Decimal(1), "avg_cost": Decimal("NaN"), "market_price": Decimal(1),
                    "market_value": Decimal(1), "currency": "USD"}]},
])
def test_the_builder_refuses_what_the_generic_walk_refuses(change: dict[str, Any]) -> None:
    snapshot = AccountSnapshot("SIM0001", True, datetime(2026, 7, 10, 20, 30, tzinfo=timezone.utc), date(2026, 7, 10),
                               "USD", Decimal(10), Decimal(0), ())
    payload = {**snapshot_payload(snapshot, True, "paper"), **change}
    with pytest.raises(CanonicalError):
        canonical_json_and_data(payload)
    with pytest.raises(CanonicalError):
        canonical_snapshot(payload)


def test_a_value_not_of_its_exact_type_is_left_to_the_generic_walk() -> None:
    class Account(str):
        pass

    snapshot = AccountSnapshot("SIM0001", True, datetime(2026, 7, 10, 20, 30, tzinfo=timezone.utc), date(2026, 7, 10),
                               "USD", Decimal(10), Decimal(0), ())
    payload = snapshot_payload(snapshot, True, "paper")
    for key, value in (("account_id", Account("SIM0001")), ("cash", None), ("nav", 10), ("is_paper", 1),
                       ("session_date", datetime(2026, 7, 10, tzinfo=timezone.utc)), ("positions", ())):
        assert canonical_snapshot({**payload, key: value}) is None
    assert canonical_snapshot({**payload, "stale_marks": []}) is None

