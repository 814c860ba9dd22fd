"""Golden bytes: the canonical text (and its SHA-256) of representative payloads, pinned.

Every hash of every ledger ever written depends on these bytes: a change of one character
here is a change of the record, never an optimisation. The fast path of
``trackrecord.ledger.canonical`` must give exactly these texts; the refusals stay refusals.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, namedtuple
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum

import pytest

from trackrecord.domain.enums import Mode, Side
from trackrecord.ledger.canonical import CanonicalError, canonical_json, canonical_json_and_data

class Colour(Enum):
    RED = "red"
class Level(IntEnum):
    HIGH = 3
Pair = namedtuple("Pair", "a b")
tz_ny = timezone(timedelta(hours=-5))
tz_in = timezone(timedelta(hours=5, minutes=30))
CASES = {
 "empty_dict": {},
 "empty_list": [],
 "empty_containers": {"a": {}, "b": [], "c": (), "d": ""},
 "bools_vs_ints": {"t": True, "f": False, "one": 1, "zero": 0, "none": None, "l": [True, 1, False, 0]},
 "decimals": [Decimal("-0"), Decimal("0"), Decimal("0.000"), Decimal("-0.00"), Decimal("1E+3"), Decimal("1.23E+5"),
              Decimal("0.000001"), Decimal("1E-10"), Decimal("-12.3400"), Decimal("100"), Decimal("1.50"),
              Decimal("123456789012345678901234567890.123456789"), Decimal("-1E-7"), Decimal("2.5E-3")],
 "big_ints": [2**63, -2**63 - 1, 10**30, -7],
 "dates": [date(2026, 3, 2), date(1, 1, 1), date(999, 12, 31), date(9999, 12, 31)],
 "datetimes": [datetime(2026, 3, 2, 16, 30, tzinfo=timezone.utc), datetime(2026, 3, 2, 16, 30, 0, 1, tzinfo=timezone.utc),
               datetime(2026, 6, 1, 9, 30, 15, 250000, tzinfo=tz_ny), datetime(2026, 1, 1, 0, 0, tzinfo=tz_in),
               datetime(999, 5, 6, 7, 8, 9, tzinfo=timezone.utc), datetime(999, 5, 6, 7, 8, 9, 10, tzinfo=timezone.utc),
               datetime(1000, 1, 1, 4, 0, tzinfo=tz_in)],
 "enums": {"side": Side.BUY, "mode": Mode.PAPER, "colour": Colour.RED, "level": Level.HIGH, "list": [Side.SELL]},
 "tuples": {"t": (1, "a", (Decimal("2.0"), ())), "n": Pair(Decimal("1"), "b")},
 "unicode": {"é": "naïve — “quoted” £€ 日本", "emoji": "📈", "ctl": "tab\tnl\nquote\"back\\slash\x00\x1f\x7f", "ls": "\u2028\u2029"},
 "key_order": {"b": 1, "a": 2, "B": 3, "": 4, "aa": 5, "é": 6, "Z": 7, "10": 8, "9": 9},
 "nested": {"z": [{"y": {"x": [[], [{}], [Decimal("1.0")]]}}], "a": OrderedDict([("q", 1), ("p", 2)])},
 "snapshot_like": {"account_id": "SIM0001", "base_currency": "USD", "cash": Decimal("573.6896"), "is_paper": True,
                   "nav": Decimal("166415.5624"), "session_date": date(2026, 11, 30), "simulated": True, "source": "paper",
                   "taken_at": datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc),
                   "positions": [{"symbol": s, "quantity": Decimal(q), "avg_cost": Decimal(c), "market_price": Decimal(p),
                                  "market_value": Decimal(q) * Decimal(p), "currency": "USD", "price_date": date(2026, 11, 30)}
                                 for s, q, c, p in (("XLB", "444", "128.4387", "122.8493"), ("XLI", "99", "416.16912", "543.0249"),
                                                    ("XLP", "149", "322.1672594448519910300512546", "386.1565"))]},
 "prices_like": {"fetched_at": datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc), "first": date(2026, 11, 30),
                 "last": date(2026, 11, 30), "replaced": [], "rows": 9, "rows_per_symbol": 1,
                 "sha256": "eaa5da501cdf87ed5a0a99670c79b31c94d94f79e5f9bf0dfe793a46c69cb9e1", "simulated": True,
                 "source": "csv", "symbols": ["XLK", "XLF", "XLE", "XLV", "XLY", "XLP", "XLI", "XLB", "XLU"]},
 "fill_like": {"account_id": "SIM0001", "commission": Decimal("3"), "commission_currency": "USD", "currency": "USD",
               "exec_id": "SIM-29-1", "executed_at": datetime(2026, 11, 2, 21, 0, tzinfo=timezone.utc),
               "intended_price": Decimal("377.2430"), "order_ref": "tr-SIM0001-20261102-XLP-B", "order_type": "MOC",
               "price": Decimal("383.1977"), "quantity": Decimal("11"), "side": Side.BUY, "simulated": True,
               "supersedes": None, "symbol": "XLP"},
}

GOLDEN = {
    'empty_dict': (
        '{}',
        '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'),
    'empty_list': (
        '[]',
        '4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945'),
    'empty_containers': (
        '{"a":{},"b":[],"c":[],"d":""}',
        'd4be18aa225e5d51f550c22e148d8b4e1641b2109c2a70676bf1af0a2067c2a6'),
    'bools_vs_ints': (
        '{"f":false,"l":[true,1,false,0],"none":null,"one":1,"t":true,"zero":0}',
        '1f2ecd372d7f973e6745f58e0c074ab32d94eca8b2c0605314423203c9c7f915'),
    'decimals': (
        '["0","0","0","0","1000","123000","0.000001","0.0000000001","-12.34","100","1.5","123456789012345678901234567890.123456789","-0.0000001","0.0025"]',
        '188c7f0a8a134b069eb1e6a1817daf879b1639d94ff7dff7ab5693f42810cfab'),
    'big_ints': (
        '[9223372036854775808,-9223372036854775809,1000000000000000000000000000000,-7]',
        '7f75e3bc527b511af79e78005cf43aa3bdd317110892e823de7285117d89b68b'),
    'dates': (
        '["2026-03-02","0001-01-01","0999-12-31","9999-12-31"]',
        'a61b7d7539034abf41e1c798e53a5157bfad938551b238aec3c6b004f80dcd19'),
    'datetimes': (
        '["2026-03-02T16:30:00Z","2026-03-02T16:30:00.000001Z","2026-06-01T14:30:15.250000Z","2025-12-31T18:30:00Z","999-05-06T07:08:09Z","999-05-06T07:08:09.000010Z","999-12-31T22:30:00Z"]',
        '65ec7d1d064abe04c5812026912ad892d0cb4bf77a616e4e16b0b0c2bcef02d4'),
    'enums': (
        '{"colour":"red","level":3,"list":["SELL"],"mode":"paper","side":"BUY"}',
        '6957fbcba29b989fce843dae5c1b7b427ba47486398e3413f0839cab8013b05c'),
    'tuples': (
        '{"n":["1","b"],"t":[1,"a",["2",[]]]}',
        '12d42ecd8137168abba389d337719c8b31b5abef71804d06873a096a941bf40e'),
    'unicode': (
        '{"ctl":"tab\\tnl\\nquote\\"back\\\\slash\\u0000\\u001f\x7f","emoji":"📈","ls":"\u2028\u2029","é":"naïve — “quoted” £€ 日本"}',
        '8b88d085ccdb267fe98015df9c49e084f7a837cc7fad472fa7b43f4f0a35a2aa'),
    'key_order': (
        '{"":4,"10":8,"9":9,"B":3,"Z":7,"a":2,"aa":5,"b":1,"é":6}',
        '62e94adcb3c89dd856d11d2e88c530d7661497fb84aa27dce7e8420367c82a59'),
    'nested': (
        '{"a":{"p":2,"q":1},"z":[{"y":{"x":[[],[{}],["1"]]}}]}',
        'e60ad4cf51dd492f53254dadb093d0bebf6fb8777da6eef284a8c102ae1d50b7'),
    'snapshot_like': (
        '{"account_id":"SIM0001","base_currency":"USD","cash":"573.6896","is_paper":true,"nav":"166415.5624","positions":[{"avg_cost":"128.4387","currency":"USD","market_price":"122.8493","market_value":"54545.0892","price_date":"2026-11-30","quantity":"444","symbol":"XLB"},{"avg_cost":"416.16912","currency":"USD","market_price":"543.0249","market_value":"53759.4651","price_date":"2026-11-30","quantity":"99","symbol":"XLI"},{"avg_cost":"322.1672594448519910300512546","currency":"USD","market_price":"386.1565","market_value":"57537.3185","price_date":"2026-11-30","quantity":"149","symbol":"XLP"}],"session_date":"2026-11-30","simulated":true,"source":"paper","taken_at":"2026-11-30T17:00:00Z"}',
        'abb06c66e590d6a5f46ff4219c1bf240473d9ae829d43b19826e45dc77d2e518'),
    'prices_like': (
        '{"fetched_at":"2026-11-30T17:00:00Z","first":"2026-11-30","last":"2026-11-30","replaced":[],"rows":9,"rows_per_symbol":1,"sha256":"eaa5da501cdf87ed5a0a99670c79b31c94d94f79e5f9bf0dfe793a46c69cb9e1","simulated":true,"source":"csv","symbols":["XLK","XLF","XLE","XLV","XLY","XLP","XLI","XLB","XLU"]}',
        '448da61c7b5f384df0cafbfa89207f5ab14d23ee29c20eea3a60c76a83ad554f'),
    'fill_like': (
        '{"account_id":"SIM0001","commission":"3","commission_currency":"USD","currency":"USD","exec_id":"SIM-29-1","executed_at":"2026-11-02T21:00:00Z","intended_price":"377.243","order_ref":"tr-SIM0001-20261102-XLP-B","order_type":"MOC","price":"383.1977","quantity":"11","side":"BUY","simulated":true,"supersedes":null,"symbol":"XLP"}',
        'da9d2d1612109a2e4c6baa95def6a45decfdeba04dbd86d3d312d4e4457ee400'),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_canonical_bytes_of_representative_payloads_are_pinned(name: str) -> None:
    text, digest = GOLDEN[name]
    assert canonical_json(CASES[name]) == text
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == digest


@pytest.mark.parametrize("name", sorted(CASES))
def test_canonical_text_and_data_agree_with_the_pinned_bytes(name: str) -> None:
    import json

    text, data = canonical_json_and_data(CASES[name])
    assert text == GOLDEN[name][0]
    assert data == json.loads(text)


class _Unknown:
    pass


@pytest.mark.parametrize("bad", [
    1.5, float("nan"), float("inf"), -0.0, Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"),
    datetime(2026, 1, 1), datetime(2026, 1, 1, 12, 0, 0, 5), {1: "x"}, {None: 1}, {("a",): 1}, {Side.BUY: 1},
    {True: 1}, _Unknown(), {1, 2}, b"bytes", [1, [2, [3.0]]], {"deep": {"deeper": [Decimal("NaN")]}},
    (datetime(2026, 1, 1),), object(),
], ids=repr)
def test_values_without_a_canonical_form_are_still_refused(bad: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_json({"x": bad})
    with pytest.raises(CanonicalError):
        canonical_json_and_data([bad])
