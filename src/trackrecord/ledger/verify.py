"""Offline verification: recompute every hash, check every signature, rebuild every
projection from the chain and compare it with the stored tables."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import GENESIS_HASH, StoredEvent, event_hash
from trackrecord.ledger.projections import PRIMARY_KEYS, TABLES, MemoryTables, operations
from trackrecord.ledger.signing import verify_signature


@dataclass
class VerifyResult:
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints: int = 0
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    projections_checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, seq: int | None, message: str) -> None:
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq
        self.problems.append(message)

    def document(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "events": self.events, "head_seq": self.head_seq, "head_hash": self.head_hash,
            "checkpoints": self.checkpoints, "first_bad_seq": self.first_bad_seq, "problems": self.problems,
            "projections_checked": self.projections_checked,
        }


class _ChainChecker:
    """Checks links and hashes as events stream past; keeps hashes for checkpoints."""

    def __init__(self, result: VerifyResult, trusted_keys: set[str] | None) -> None:
        self.result = result
        self.trusted_keys = trusted_keys
        self.hashes: list[str] = [GENESIS_HASH]
        self.broken = False

    def check(self, event: StoredEvent) -> bool:
        expected = len(self.hashes)
        if event.seq != expected:
            what = "missing event" if event.seq > expected else "duplicated or reordered event"
            self._break(expected, f"seq {expected}: {what} (found seq {event.seq} where {expected} was expected)")
            return False
        prev = self.hashes[-1]
        if event.prev_hash != prev:
            self._break(event.seq, f"seq {event.seq}: prev_hash does not link to seq {event.seq - 1}")
            return False
        if event_hash(prev, event.seq, event.recorded_at, event.kind, event.payload) != event.hash:
            self._break(event.seq, f"seq {event.seq}: hash does not match the event's content")
            return False
        self.hashes.append(event.hash)
        if event.kind == kinds.CHECKPOINT_SIGNED:
            self._checkpoint(event)
        return True

    def _break(self, seq: int, message: str) -> None:
        self.broken = True
        self.result.fail(seq, message)

    def _checkpoint(self, event: StoredEvent) -> None:
        data = json.loads(event.payload)
        head_seq, head_hash = int(data["head_seq"]), data["head_hash"]
        self.result.checkpoints += 1
        if head_seq >= len(self.hashes) or self.hashes[head_seq] != head_hash:
            self.result.fail(event.seq, f"seq {event.seq}: checkpoint names seq {head_seq} with a hash the chain does not have")
        elif not verify_signature(data["public_key"], data["signature"], head_seq, head_hash):
            self.result.fail(event.seq, f"seq {event.seq}: checkpoint signature is invalid")
        elif self.trusted_keys is not None and data["public_key"] not in self.trusted_keys:
            self.result.fail(event.seq, f"seq {event.seq}: checkpoint signed by a key that is not the workspace's")


def verify_events(
    events: Iterable[StoredEvent],
    stored_tables: dict[str, list[dict[str, Any]]] | None,
    trusted_keys: set[str] | None = None,
) -> VerifyResult:
    """Verify a chain read in seq order; compare projections when ``stored_tables`` is given."""
    result = VerifyResult()
    checker = _ChainChecker(result, trusted_keys)
    memory = MemoryTables()
    good: list[StoredEvent] = []
    for event in events:
        result.events += 1
        if checker.broken or not checker.check(event):
            continue
        good.append(event)
        if len(good) >= 5000:
            memory.apply(operations(good))
            good.clear()
    memory.apply(operations(good))
    result.head_seq = len(checker.hashes) - 1
    result.head_hash = checker.hashes[-1]
    if stored_tables is not None and not checker.broken:
        _compare(result, memory, stored_tables)
    return result


def _compare(result: VerifyResult, memory: MemoryTables, stored: dict[str, list[dict[str, Any]]]) -> None:
    for name in TABLES:
        keys = PRIMARY_KEYS[name]
        rebuilt = memory.rows[name]
        actual = {tuple(row[k] for k in keys): row for row in stored.get(name, [])}
        result.projections_checked.append(name)
        if rebuilt == actual:
            continue
        for key in sorted(set(rebuilt) | set(actual), key=repr):
            want, have = rebuilt.get(key), actual.get(key)
            if want != have:
                state = ("missing from the table" if have is None else "not backed by any event" if want is None
                         else "differs from its events")
                result.fail(None, f"projection {name} row {dict(zip(keys, key))}: {state}")
                break
