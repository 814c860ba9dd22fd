"""The hash chain: ``hash = sha256(prev_hash ‖ canonical([seq, recorded_at, kind, payload]))``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Iterable, Iterator

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    recorded_at: str
    kind: str
    payload: str
    prev_hash: str
    hash: str

    def data(self) -> dict:
        return json.loads(self.payload)

    def document(self) -> dict:
        """The event as ``ledger log --json`` prints it (the payload parsed)."""
        return {"seq": self.seq, "recorded_at": self.recorded_at, "kind": self.kind, "payload": self.data(),
                "prev_hash": self.prev_hash, "hash": self.hash}


_quoted = encode_basestring  # == json.dumps(text, ensure_ascii=False) for a str, without the encoder's set-up


def envelope(seq: int, recorded_at: str, kind: str, payload: str) -> str:
    """The canonical text hashed after the previous hash: ``[seq,"recorded_at","kind",payload]``.
    ``payload`` is already canonical JSON text, so the envelope is canonical too."""
    return f"[{seq},{_quoted(recorded_at)},{_quoted(kind)},{payload}]"


def event_hash(prev_hash: str, seq: int, recorded_at: str, kind: str, payload: str) -> str:
    text = f"[{seq},{_quoted(recorded_at)},{_quoted(kind)},{payload}]"  # envelope(), inlined: the hot path
    return hashlib.sha256(prev_hash.encode("ascii") + text.encode("utf-8")).hexdigest()


def iter_chain(prev_hash: str, first_seq: int, items: Iterable[tuple[str, str, str]]) -> Iterator[StoredEvent]:
    """Link (recorded_at, kind, canonical payload) items onto a chain head."""
    seq = first_seq
    for recorded_at, kind, payload in items:
        digest = event_hash(prev_hash, seq, recorded_at, kind, payload)
        yield StoredEvent(seq, recorded_at, kind, payload, prev_hash, digest)
        prev_hash, seq = digest, seq + 1
