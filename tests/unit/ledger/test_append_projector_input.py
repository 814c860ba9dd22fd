"""The ledger's append feeds each projector the payload as ``json.loads`` of its canonical
text gives it, built in the canonical walk instead of parsed back (issue 15 item 5): the
value, every type in it, and the rows the projectors make of it are the same."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.ledger.test_canonical_fast_path import Tag, keys, payloads
from trackrecord.domain.enums import Mode, Side
from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import CanonicalError, canonical_json, canonical_json_and_data
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.projections import PROJECTORS


def typed(value: Any) -> Any:
    """``value`` with the type of each node beside it (``==`` alone holds 1 == True == 1.0)."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])  # in order: json.loads keeps the text's
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, value)


@given(st.one_of(payloads, st.dictionaries(keys, payloads, max_size=8)))
@settings(max_examples=300)
def test_the_data_of_the_walk_is_json_loads_of_its_text_type_for_type(payload: object) -> None:
    text, data = canonical_json_and_data(payload)
    assert text == canonical_json(payload)
    assert typed(data) == typed(json.loads(text))


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-10**9, max_value=10**9)
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda moment: moment.replace(tzinfo=timezone.utc))
texts = st.text(max_size=6)
maybe = lambda inner: st.one_of(st.none(), inner)  # noqa: E731
position = st.fixed_dictionaries(
    {"symbol": texts, "quantity": decimals, "avg_cost": decimals, "market_price": decimals, "market_value": decimals,
     "currency": texts}, optional={"price_date": st.dates(), "reported": st.dictionaries(texts, decimals, max_size=3)})
snapshot = st.fixed_dictionaries(
    {"account_id": texts, "session_date": st.dates(), "taken_at": moments, "base_currency": texts, "nav": decimals,
     "cash": maybe(decimals), "is_paper": st.booleans(), "simulated": st.booleans(), "source": texts,
     "positions": st.lists(position, max_size=4)},
    optional={"stale_marks": st.lists(st.fixed_dictionaries({"symbol": texts, "price_date": maybe(st.dates())}))})
fill = st.fixed_dictionaries(
    {"exec_id": texts, "account_id": texts, "order_ref": texts, "symbol": texts, "side": texts, "quantity": decimals,
     "price": decimals, "currency": texts, "executed_at": moments, "commission": maybe(decimals),
     "commission_currency": maybe(texts), "intended_price": maybe(decimals), "order_type": maybe(texts),
     "supersedes": maybe(texts), "simulated": st.booleans()})
order = st.fixed_dictionaries(
    {"order_ref": texts, "plan_id": texts, "mode": texts, "symbol": texts, "side": texts, "quantity": decimals,
     "order_type": texts, "intended_price": decimals, "currency": texts, "limit_price": maybe(decimals),
     "status": texts, "broker_order_id": maybe(texts), "message": texts})
status = st.fixed_dictionaries({"order_ref": texts, "status": texts, "broker_order_id": maybe(texts),
                                "filled_quantity": decimals, "average_fill_price": maybe(decimals), "message": texts})
cashflow = st.fixed_dictionaries({"flow_date": st.dates(), "amount": decimals, "currency": texts},
                                 optional={"note": texts, "account_id": texts, "date_given": st.dates()})
plan = st.fixed_dictionaries({"plan_id": texts, "mode": texts, "execution": st.booleans(),
                              "orders": st.lists(st.dictionaries(texts, decimals, max_size=3), max_size=3)})
risk = st.fixed_dictionaries({"plan_id": texts, "mode": texts, "approved": st.booleans(),
                              "rules": st.lists(st.dictionaries(texts, st.one_of(texts, decimals)), max_size=3)})
projected = st.one_of(
    st.tuples(st.just(kinds.SNAPSHOT_RECORDED), snapshot), st.tuples(st.just(kinds.FILL_RECORDED), fill),
    st.tuples(st.just(kinds.ORDER_SUBMITTED), order), st.tuples(st.just(kinds.ORDER_STATUS), status),
    st.tuples(st.just(kinds.CASHFLOW_RECORDED), cashflow), st.tuples(st.just(kinds.PLAN_CREATED), plan),
    st.tuples(st.just(kinds.RISK_DECIDED), risk),
    st.tuples(st.just(kinds.COMMISSION_RECORDED), st.fixed_dictionaries(
        {"exec_id": texts, "commission": decimals, "currency": maybe(texts)})))


@given(projected)
@settings(max_examples=300)
def test_the_projectors_make_the_same_rows_of_the_walks_data_as_of_the_parsed_text(item: tuple[str, dict]) -> None:
    kind, payload = item
    text, data = canonical_json_and_data(payload)
    event = StoredEvent(7, "2026-03-02T21:05:00.123456Z", kind, text, "0" * 64, "1" * 64)
    from_walk, from_text = PROJECTORS[kind](event, data), PROJECTORS[kind](event, json.loads(text))
    assert from_walk == from_text
    assert [(type(op), typed(asdict(op))) for op in from_walk] == [(type(op), typed(asdict(op))) for op in from_text]


def test_a_dict_is_written_in_key_order_whatever_order_its_keys_were_given_in() -> None:
    day, moment = date(2026, 3, 2), datetime(2026, 3, 2, 21, tzinfo=timezone.utc)
    forward = {"b": 1, "a": [day, {"d": Decimal("1.50"), "c": moment}]}
    backward = {"a": [day, {"c": moment, "d": Decimal("1.5")}], "b": 1}
    expected = '{"a":["2026-03-02",{"c":"2026-03-02T21:00:00Z","d":"1.5"}],"b":1}'
    for payload in (forward, backward, forward, backward):  # the second time from the known key orders
        assert canonical_json(payload) == expected
        assert canonical_json_and_data(payload) == (expected, json.loads(expected))
    assert canonical_json({"a": moment - timedelta(hours=1)}) == '{"a":"2026-03-02T20:00:00Z"}'


def test_a_key_order_seen_before_does_not_let_a_key_without_a_canonical_form_through() -> None:
    assert canonical_json({"1": "x"}) == '{"1":"x"}'
    for known in ({"BUY": 1, "k": 2}, {"PAPER": 1}, {"t": 1}):  # the same key sequences as plain strings, first
        assert canonical_json(known) == json.dumps(known, sort_keys=True, separators=(",", ":"))
    for bad in ({1: "x"}, {"1": "x", 2: "y"}, {None: 1}, {Side.BUY: 1, "k": 2}, {Mode.PAPER: 1}, {Tag("t"): 1}):
        for encode in (canonical_json, canonical_json_and_data):
            try:
                encode(bad)
            except CanonicalError:
                continue
            raise AssertionError(f"{bad!r} has no canonical form")
