"""The hash chain: any change to content, order or membership is found at its first seq."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from trackrecord.ledger.chain import GENESIS_HASH, StoredEvent, event_hash, iter_chain
from trackrecord.ledger.verify import verify_events

def first_break(chain: list[StoredEvent]) -> int | None:
    """The first bad seq as `trackrecord verify` names it (chain only, no projections)."""
    return verify_events(chain, None).first_bad_seq


items = st.lists(
    st.tuples(st.just("2026-01-01T00:00:00Z"), st.sampled_from(["a.b", "c.d"]),
              st.integers(0, 10**6).map(lambda n: '{"n":%d}' % n)),
    min_size=2, max_size=30,
)


@given(items)
def test_a_freshly_linked_chain_verifies(raw: list[tuple[str, str, str]]) -> None:
    assert first_break(list(iter_chain(GENESIS_HASH, 1, raw))) is None


@given(items, st.data())
@settings(max_examples=150)
def test_changing_any_payload_breaks_at_that_seq(raw: list[tuple[str, str, str]], data: st.DataObject) -> None:
    chain = list(iter_chain(GENESIS_HASH, 1, raw))
    index = data.draw(st.integers(0, len(chain) - 1))
    chain[index] = replace(chain[index], payload=chain[index].payload.replace("}", ",\"x\":1}"))
    assert first_break(chain) == index + 1


@given(items, st.data())
def test_deleting_an_event_breaks_at_its_seq(raw: list[tuple[str, str, str]], data: st.DataObject) -> None:
    chain = list(iter_chain(GENESIS_HASH, 1, raw))
    index = data.draw(st.integers(0, len(chain) - 2))
    del chain[index]
    assert first_break(chain) == index + 1


@given(items, st.data())
def test_swapping_two_events_breaks_at_the_first(raw: list[tuple[str, str, str]], data: st.DataObject) -> None:
    chain = list(iter_chain(GENESIS_HASH, 1, raw))
    i = data.draw(st.integers(0, len(chain) - 2))
    j = data.draw(st.integers(i + 1, len(chain) - 1))
    chain[i], chain[j] = replace(chain[j], seq=i + 1), replace(chain[i], seq=j + 1)
    assert first_break(chain) == i + 1


def test_hash_matches_the_documented_formula() -> None:
    import hashlib

    expected = hashlib.sha256(("0" * 64 + '[1,"2026-01-01T00:00:00Z","k",{"a":"1"}]').encode()).hexdigest()
    assert event_hash(GENESIS_HASH, 1, "2026-01-01T00:00:00Z", "k", '{"a":"1"}') == expected
