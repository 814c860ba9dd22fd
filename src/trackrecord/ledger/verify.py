"""Offline verification: recompute every hash, check every signature, rebuild every
projection from the chain and compare it with the stored tables.

What it cannot prove from the workspace alone is said in every result (``NOT_PROVABLE``):
a truncated tail, or a history rewritten and re-signed with the workspace's own key,
looks like a shorter or a different valid ledger. Only a commitment to the head sent to
someone else (an allocator, an auditor) can show it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import GENESIS_HASH, StoredEvent, event_hash
from trackrecord.ledger.projections import PRIMARY_KEYS, TABLES, DuplicateRow, MemoryTables, operations
from trackrecord.ledger.signing import verify_signature

NOT_PROVABLE = (
    "a truncated tail, or a history rewritten and re-signed with the workspace's own key, cannot be detected "
    "from the workspace alone: compare the head with a commitment sent to someone else"
)


@dataclass
class VerifyResult:
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints: int = 0
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    projections_checked: list[str] = field(default_factory=list)
    unsigned_events: int = 0
    stores_checked: list[str] = field(default_factory=list)
    files_checked: int = 0  # statements and reports against their recorded sha256 (a workspace's verify)
    warnings: list[str] = field(default_factory=list)

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
            "projections_checked": self.projections_checked, "unsigned_events": self.unsigned_events,
            "stores_checked": self.stores_checked, "files_checked": self.files_checked, "warnings": self.warnings,
            "not_provable": NOT_PROVABLE,
        }


class _ChainChecker:
    """Checks links and hashes as events stream past; keeps hashes for checkpoints."""

    def __init__(self, result: VerifyResult, trusted_keys: set[str] | None) -> None:
        self.result = result
        self.trusted_keys = trusted_keys
        self.hashes: list[str] = [GENESIS_HASH]
        self.broken = False
        self.facts: list[int] = [0]  # facts[seq]: events other than checkpoints up to seq
        self.signed_head = 0

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
        is_checkpoint = event.kind == kinds.CHECKPOINT_SIGNED
        self.facts.append(self.facts[-1] + (0 if is_checkpoint else 1))
        if is_checkpoint:
            self._checkpoint(event)
        return True

    @property
    def unsigned(self) -> int:
        """Events (checkpoints aside) after the head the last valid checkpoint signed."""
        return self.facts[-1] - self.facts[self.signed_head]

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
        else:
            self.signed_head = max(self.signed_head, head_seq)


def verify_events(
    events: Iterable[StoredEvent],
    stored_tables: dict[str, list[dict[str, Any]]] | None,
    trusted_keys: set[str] | None = None,
    witness: Callable[[StoredEvent], None] | None = None,
) -> VerifyResult:
    """Verify a chain read in seq order; compare projections when ``stored_tables`` is
    given. ``witness`` sees every event whose link and hash are good (the stores' checks
    collect what the events say about the price store and the simulated book)."""
    result = VerifyResult()
    checker = _ChainChecker(result, trusted_keys)
    memory = MemoryTables()
    for event in events:
        result.events += 1
        if checker.broken or not checker.check(event):
            continue
        try:
            memory.apply(operations((event,)))
        except DuplicateRow as exc:
            result.fail(event.seq, f"seq {event.seq}: {event.kind} repeats {exc.table} row {exc.key} "
                                   "recorded by an earlier event")
        if witness is not None:
            witness(event)
    result.head_seq = len(checker.hashes) - 1
    result.head_hash = checker.hashes[-1]
    result.unsigned_events = checker.unsigned
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
