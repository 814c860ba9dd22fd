"""Commitments: a signed (seq, hash) of the chain's head, sent to someone outside.

A commitment is one line a trader sends each month (to an allocator, a recruiter):

    trackrecord-commit:v1:<account>:<seq>:<hash>:<signature>

``signature`` is the base64 Ed25519 signature, by the ledger's key, over the ASCII message
``trackrecord-commit:v1:<account>:<seq>:<hash>``. Whoever kept the line can later check that a
bundle's chain passes through ``seq`` with ``hash`` (so nothing up to it was rewritten since the
line was sent, and the chain was not cut before it) and that the line was signed by the
bundle's key. The account may hold ``:``; the seq, hash and signature never do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trackrecord.ledger import events as kinds
from trackrecord.ledger.append import own_public_key
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.signing import refuse_a_foreign_key, sign_message, verify_message

if TYPE_CHECKING:
    from trackrecord.ledger.store import SqlLedger

PREFIX = "trackrecord-commit"
VERSION = "v1"
_HASH = re.compile(r"[0-9a-f]{64}")
_SEQ = re.compile(r"[1-9][0-9]{0,17}")
_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{86}==")


class CommitmentError(ValueError):
    """A line that is not a ``trackrecord-commit:v1`` commitment."""


@dataclass(frozen=True, slots=True)
class Commitment:
    account: str
    seq: int
    hash: str
    signature: str

    @property
    def message(self) -> bytes:
        return commitment_message(self.account, self.seq, self.hash)

    @property
    def line(self) -> str:
        return f"{PREFIX}:{VERSION}:{self.account}:{self.seq}:{self.hash}:{self.signature}"

    def short(self) -> str:
        return f"seq {self.seq} hash {self.hash[:16]}"


def commitment_message(account: str, seq: int, head_hash: str) -> bytes:
    return f"{PREFIX}:{VERSION}:{account}:{seq}:{head_hash}".encode("utf-8")


def make_commitment(private_key: Path, account: str, seq: int, head_hash: str) -> tuple[Commitment, str]:
    """Sign (account, seq, hash); return the commitment and the public key (base64)."""
    public_key, signature = sign_message(private_key, commitment_message(account, seq, head_hash))
    return Commitment(account, seq, head_hash, signature), public_key


def parse_commitment(line: str) -> Commitment:
    """The commitment a line holds; ``CommitmentError`` naming what is wrong."""
    text = line.strip()
    parts = text.split(":")
    if len(parts) < 6 or parts[0] != PREFIX:
        raise CommitmentError(f"{_shown(text)} is not a commitment: expected "
                              f"{PREFIX}:{VERSION}:<account>:<seq>:<hash>:<signature>")
    if parts[1] != VERSION:
        raise CommitmentError(f"{_shown(text)}: commitment version {parts[1]!r} is unknown (expected {VERSION})")
    account, seq, head_hash, signature = ":".join(parts[2:-3]), parts[-3], parts[-2], parts[-1]
    if not account:
        raise CommitmentError(f"{_shown(text)}: the account is empty")
    if not _SEQ.fullmatch(seq):
        raise CommitmentError(f"{_shown(text)}: seq {seq!r} is not a positive integer")
    if not _HASH.fullmatch(head_hash):
        raise CommitmentError(f"{_shown(text)}: hash {head_hash!r} is not 64 lower-case hex digits")
    if not _SIGNATURE.fullmatch(signature):
        raise CommitmentError(f"{_shown(text)}: signature {signature[:20]!r}... is not a base64 Ed25519 signature")
    return Commitment(account, int(seq), head_hash, signature)


def commitment_problem(commitment: Commitment, hashes: list[str], public_key: str, account: str | None) -> str | None:
    """Why ``commitment`` does not hold for a chain whose hash at seq ``i`` is ``hashes[i]``
    (``hashes[0]`` the genesis) and whose key is ``public_key``; None when it holds."""
    label = f"commitment {commitment.short()}"
    if not verify_message(public_key, commitment.signature, commitment.message):
        return f"{label}: the signature is not by the bundle's key (or the line was altered)"
    if account is not None and commitment.account != account:
        return f"{label}: it is for account {commitment.account}, the bundle is for account {account}"
    if commitment.seq >= len(hashes):
        return (f"{label}: the bundle's chain ends at seq {len(hashes) - 1}, before the committed seq "
                f"{commitment.seq} (a truncated ledger)")
    if hashes[commitment.seq] != commitment.hash:
        return (f"{label}: the bundle's chain has hash {hashes[commitment.seq][:16]} at seq {commitment.seq}, "
                f"not the committed {commitment.hash[:16]}: the history up to seq {commitment.seq} was rewritten")
    return None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def record_commitment(ledger: "SqlLedger", private_key: Path, account: str) -> tuple[Commitment, StoredEvent]:
    """Sign the current head for ``account`` and record the line (``commitment.made``),
    inside one writer transaction: the head signed is the one the event follows."""
    with ledger.writer() as writer:
        commitment, public_key = make_commitment(private_key, account, writer.seq, writer.prev_hash)
        refuse_a_foreign_key(private_key, public_key, own_public_key(writer.dbapi))  # its line would never verify
        event = writer.append(kinds.COMMITMENT_MADE, {
            "account_id": account, "seq": commitment.seq, "hash": commitment.hash,
            "public_key": public_key, "signature": commitment.signature, "line": commitment.line,
        })
    return commitment, event
