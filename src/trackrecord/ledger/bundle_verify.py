"""Checks of an export bundle made from its bytes alone (no workspace, no network): the
manifest, the chain, every signature against the bundle's key, the commitments.

The figures and the reports are recomputed from the events by
``trackrecord.engine.bundles.verify_bundle``, which calls this first.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.bundle import (
    CHECKPOINTS_FILE, COMMITMENTS_FILE, EVENTS_FILE, FORMAT, HASHES_FILE, MANIFEST_FILE, MANIFEST_SIGNATURE_FILE,
    PUBLIC_KEY_FILE, README_FILE, REPORT_KIND, checkpoints_text, manifest_message, verify_readme,
)
from trackrecord.ledger.chain import GENESIS_HASH, StoredEvent
from trackrecord.ledger.commitments import CommitmentError, commitment_problem, parse_commitment
from trackrecord.ledger.projections import DuplicateRow, MemoryTables, operations
from trackrecord.ledger.signing import key_fingerprint, verify_message, verify_signature

_ENVELOPE = re.compile(rb'\[(0|[1-9][0-9]{0,17}),"([0-9T:.Z-]{1,40})","([a-z0-9_.]{1,80})",')
_HASH_LINE = re.compile(r"(0|[1-9][0-9]*) ([0-9a-f]{64})")


BUNDLE_NOT_PROVABLE = (
    "that the key is the trader's (compare the fingerprint with one they sent separately), and, without "
    "--commitment lines the trader sent earlier, that the history was not rewritten and re-signed with their key "
    "before this export; nor that the broker executed what the ledger records (see the statements)"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One break: the file, the event's seq when there is one, and what is wrong."""

    file: str
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.seq is None else f"{self.file} seq {self.seq}"
        return f"{where}: {self.message}"


@dataclass
class BundleResult:
    """What ``verify BUNDLE`` found; ``document()`` is its ``--json``."""

    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    events: list[StoredEvent] = field(default_factory=list, repr=False)
    hashes: list[str] = field(default_factory=lambda: [GENESIS_HASH], repr=False)
    problems: list[Problem] = field(default_factory=list)
    public_key: str = ""
    checkpoints: int = 0
    unsigned_events: int = 0
    commitments_checked: list[str] = field(default_factory=list)
    figures_checked: int = 0
    reports_checked: list[str] = field(default_factory=list)
    reports_rebuilt: list[str] = field(default_factory=list)
    label: str | None = None  # the recomputed record's: LIVE, IB PAPER, SIMULATED (BACKTEST)
    caveats: str = ""  # what a LIVE label cannot say alone

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def chain_intact(self) -> bool:
        return len(self.events) > 0 and not any(p.file in (EVENTS_FILE, HASHES_FILE) for p in self.problems)

    @property
    def head_seq(self) -> int:
        return len(self.hashes) - 1

    @property
    def fingerprint(self) -> str | None:
        try:
            return key_fingerprint(self.public_key) if self.public_key else None
        except ValueError:
            return None

    def fail(self, file: str, seq: int | None, message: str) -> None:
        self.problems.append(Problem(file, seq, message))

    def first_break(self) -> Problem | None:
        """The break to name first: the earliest event that breaks, else the first found."""
        with_seq = [p for p in self.problems if p.seq is not None]
        if with_seq:
            return min(with_seq, key=lambda p: p.seq)  # type: ignore[arg-type, return-value]
        return self.problems[0] if self.problems else None

    def document(self) -> dict[str, Any]:
        first = self.first_break()
        return {
            "ok": self.ok, "account": self.manifest.get("account"), "events": len(self.events),
            "head_seq": self.head_seq, "head_hash": self.hashes[-1], "checkpoints": self.checkpoints,
            "key_fingerprint": self.fingerprint, "unsigned_events": self.unsigned_events,
            "commitments_checked": self.commitments_checked, "figures_checked": self.figures_checked,
            "reports_checked": self.reports_checked, "reports_rebuilt": self.reports_rebuilt,
            "label": self.label, "caveats": self.caveats,
            "first_break": None if first is None else {"file": first.file, "seq": first.seq, "message": first.message},
            "problems": [str(p) for p in self.problems],
            "not_provable": BUNDLE_NOT_PROVABLE,
        }


def read_bundle(data: bytes, source: str) -> BundleResult:
    """The files of a bundle; ``UserError`` (exit 2) when ``data`` is not a zip or not a
    trackrecord bundle at all. A damaged member is a break (the result names it)."""
    result = BundleResult()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise UserError(f"{source}: not a zip file, or a truncated one ({exc}); expected a bundle written by "
                        "`trackrecord export bundle`") from None
    with archive:
        # A folder entry carries no content: `unzip` then `zip -r` of an unchanged bundle adds them.
        names = [info.filename for info in archive.infolist() if not (info.is_dir() and info.file_size == 0)]
        if MANIFEST_FILE not in names and EVENTS_FILE not in names:
            raise UserError(f"{source}: a zip file but not a trackrecord bundle (no {MANIFEST_FILE}, no {EVENTS_FILE})")
        for name in names:
            if name in result.files:
                result.fail(name, None, "appears twice in the zip")
                continue
            try:
                result.files[name] = archive.read(name)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
                result.fail(name, None, f"damaged in the zip ({exc})")
    return result


def check_bundle(result: BundleResult, commitment_lines: list[str]) -> None:
    """Manifest, chain, signatures, key, side files, projections and commitments; fills ``result``."""
    _check_manifest_shape(result)
    result.public_key = _public_key(result)
    chain = check_chain(result)
    if chain is not None:
        result.events = chain.events()
    if result.chain_intact:
        _check_projections(result)
    _check_side_files(result)
    _check_manifest_against_chain(result)
    _check_attachments(result)
    for line in _recorded_commitments(result):  # each line the trader sent (of any account) still holds
        _check_commitment(result, line, COMMITMENTS_FILE, None)
    for line in commitment_lines:
        _check_commitment(result, line, "--commitment", result.manifest.get("account"))


def check_manifest_signature(result: BundleResult) -> None:
    """manifest.sig must be the bundle key's signature of manifest.json: the settings the
    figures are computed with, the file list and the reports are the trader's. Checked
    last, so a more precise break (an event, a figure) is the one named first."""
    manifest, signature = result.files.get(MANIFEST_FILE), result.files.get(MANIFEST_SIGNATURE_FILE)
    if manifest is None or not result.public_key:
        return
    if signature is None:
        result.fail(MANIFEST_FILE, None, f"not signed (no {MANIFEST_SIGNATURE_FILE}): its settings and file list "
                                         "are not proven to be the trader's")
    elif not verify_message(result.public_key, signature.decode("ascii", "replace").strip(), manifest_message(manifest)):
        result.fail(MANIFEST_FILE, None, f"{MANIFEST_SIGNATURE_FILE} is not its signature by the bundle's key: "
                                         "the manifest was changed after the export")


def parse_commitment_options(lines: list[str]) -> None:
    """Refuse, before anything is checked, a ``--commitment`` that is not a commitment line."""
    for line in lines:
        try:
            parse_commitment(line)
        except CommitmentError as exc:
            raise UserError(f"--commitment: {exc}") from None


def _check_manifest_shape(result: BundleResult) -> None:
    raw = result.files.get(MANIFEST_FILE)
    if raw is None:
        result.fail(MANIFEST_FILE, None, "missing from the bundle")
        return
    try:
        manifest = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        result.fail(MANIFEST_FILE, None, f"not JSON ({exc})")
        return
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        result.fail(MANIFEST_FILE, None, "not a bundle manifest (no \"files\" mapping)")
        return
    result.manifest = manifest
    if manifest.get("format") != FORMAT:
        result.fail(MANIFEST_FILE, None, f"format {manifest.get('format')!r} is not {FORMAT}")
    for name, entry in sorted(manifest["files"].items()):
        content = result.files.get(name)
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if content is None:
            result.fail(name, None, "listed in the manifest but missing from the bundle")
        elif hashlib.sha256(content).hexdigest() != expected:
            result.fail(name, None, f"sha256 {hashlib.sha256(content).hexdigest()[:16]} differs from the "
                                    f"manifest's {str(expected)[:16]}: the file was changed")
    for name in result.files:
        if name not in manifest["files"] and name not in (MANIFEST_FILE, MANIFEST_SIGNATURE_FILE, README_FILE):
            result.fail(name, None, "in the bundle but not listed in the manifest")
    readme = result.files.get(README_FILE)
    try:
        expected_readme = verify_readme(manifest).encode("utf-8")
    except (KeyError, TypeError, ValueError):
        expected_readme = b""
    if readme is None:
        result.fail(README_FILE, None, "missing from the bundle")
    elif readme != expected_readme:
        result.fail(README_FILE, None, "differs from the text its manifest gives (fingerprint, head or account "
                                       "changed by hand)")


def _public_key(result: BundleResult) -> str:
    raw = result.files.get(PUBLIC_KEY_FILE)
    if raw is None:
        result.fail(PUBLIC_KEY_FILE, None, "missing: signatures cannot be checked")
        return ""
    try:
        key = raw.decode("ascii").strip()
        key_fingerprint(key)
    except (UnicodeDecodeError, ValueError):
        result.fail(PUBLIC_KEY_FILE, None, "not a base64 Ed25519 public key")
        return ""
    return key


class _BundleChain:
    """The chain of events.jsonl checked line by line on the bytes: each line's seq is the
    next integer, ``sha256(previous hash ‖ line)`` is the hash hashes.txt stored for it, and
    every checkpoint names a hash the chain has, signed by the bundle's key. The messages
    are ``verify``'s (``trackrecord.ledger.verify``); the first break stops the chain."""

    def __init__(self, result: BundleResult, stored: dict[int, str]) -> None:
        self.result = result
        self.stored = stored
        self.facts = [0]  # facts[seq]: events other than checkpoints up to seq
        self.signed_head = 0
        self.lines: list[bytes] = []  # the lines checked good
        self.matches: list[re.Match[bytes]] = []

    def run(self, data: bytes) -> None:
        lines = data.split(b"\n")
        if lines[-1] != b"":
            self.result.fail(EVENTS_FILE, None, "does not end with a newline (a truncated file?)")
        else:
            lines.pop()
        if not data.isascii() and not _is_utf8(data):
            number = next(n for n, line in enumerate(lines, start=1) if not _is_utf8(line))
            self._break(number, f"line {number} is not UTF-8 text")
            lines = lines[:number - 1]
        hashes, facts, matches = self.result.hashes, self.facts, self.matches
        stored, match, sha256 = self.stored.get, _ENVELOPE.match, hashlib.sha256
        checkpoint_kind = kinds.CHECKPOINT_SIGNED.encode("ascii")
        prev, count = GENESIS_HASH.encode("ascii"), 0
        for number, line in enumerate(lines, start=1):  # the hot loop: one regex, one hash per event
            found = match(line)
            digest = sha256(prev + line).hexdigest()
            if found is None or int(found.group(1)) != number or digest != stored(number) or line[-1:] != b"]":
                self._diagnose(number, line, found, digest, lines)
                self.lines = lines[:number - 1]
                return
            hashes.append(digest)
            matches.append(found)
            prev = digest.encode("ascii")
            if found.group(3) == checkpoint_kind:
                facts.append(count)
                if not self._checkpoint(self._event(number, line, found, hashes)):
                    self.lines = lines[:number]
                    return
            else:
                count += 1
                facts.append(count)
        self.lines = lines

    def events(self) -> list[StoredEvent]:
        """The events of the lines checked good, for the checks that follow."""
        hashes, event = self.result.hashes, self._event
        return [event(seq, line, found, hashes) for seq, line, found in zip(range(1, len(self.lines) + 1),
                                                                             self.lines, self.matches)]

    @staticmethod
    def _event(seq: int, line: bytes, found: "re.Match[bytes]", hashes: list[str]) -> StoredEvent:
        return StoredEvent(seq, found.group(2).decode("ascii"), found.group(3).decode("ascii"),
                           line[found.end():-1].decode("utf-8"), hashes[seq - 1], hashes[seq])

    def _diagnose(self, number: int, line: bytes, found: "re.Match[bytes] | None", digest: str = "",
                  lines: Sequence[bytes] = ()) -> None:
        if found is None or line[-1:] != b"]":
            self._break(number, f"line {number} is not an event [seq,\"recorded_at\",\"kind\",payload]")
            return
        seq = int(found.group(1))
        if seq != number:
            what = "missing event" if seq > number else "duplicated or reordered event"
            self._break(number, f"seq {number}: {what} (found seq {seq} where {number} was expected)")
        elif number not in self.stored:
            self._break(seq, f"seq {seq}: hashes.txt has no hash for it")
        elif self._only_the_stored_hash_changed(number, digest, lines):
            self.result.fail(HASHES_FILE, seq, f"seq {seq}: hashes.txt holds {self.stored[number]}, but the event "
                                               f"hashes to {digest} and the chain goes on from it: hashes.txt was "
                                               "changed, not the event")
        else:
            self._break(seq, f"seq {seq}: hash does not match the event's content (hashes.txt holds another)")

    def _only_the_stored_hash_changed(self, number: int, digest: str, lines: Sequence[bytes]) -> bool:
        """The event's own hash continues the chain (the next line hashes on from it to the hash
        stored for that line, or it is the manifest's head): hashes.txt's line is the edited one."""
        if not digest:
            return False
        if number < len(lines):
            return hashlib.sha256(digest.encode("ascii") + lines[number]).hexdigest() == self.stored.get(number + 1)
        return digest == self.result.manifest.get("head_hash")

    def _break(self, seq: int, message: str) -> None:
        self.result.fail(EVENTS_FILE, seq, message)

    def _checkpoint(self, event: StoredEvent) -> bool:
        """Check one checkpoint; False (the break recorded) when it does not hold."""
        result = self.result
        result.checkpoints += 1
        try:
            data = json.loads(event.payload)
            head_seq, head_hash = int(data["head_seq"]), str(data["head_hash"])
            public_key, signature = str(data["public_key"]), str(data["signature"])
        except (ValueError, KeyError, TypeError):
            self._break(event.seq, f"seq {event.seq}: checkpoint payload is not {{head_seq, head_hash, public_key, "
                                   "signature}")
            return False
        if not 0 <= head_seq < len(result.hashes) or result.hashes[head_seq] != head_hash:
            self._break(event.seq, f"seq {event.seq}: checkpoint names seq {head_seq} with a hash the chain does not have")
        elif not verify_signature(public_key, signature, head_seq, head_hash):
            self._break(event.seq, f"seq {event.seq}: checkpoint signature is invalid")
        elif public_key != result.public_key:
            self._break(event.seq, f"seq {event.seq}: checkpoint signed by a key that is not the bundle's")
        else:
            self.signed_head = max(self.signed_head, head_seq)
            return True
        return False

    @property
    def unsigned(self) -> int:
        return self.facts[-1] - self.facts[self.signed_head]


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_chain(result: BundleResult) -> "_BundleChain | None":
    """The chain and signature check (the part ``benchmarks/bench_bundle.py`` times)."""
    raw_events, raw_hashes = result.files.get(EVENTS_FILE), result.files.get(HASHES_FILE)
    if raw_events is None or raw_hashes is None:
        result.fail(EVENTS_FILE if raw_events is None else HASHES_FILE, None, "missing from the bundle")
        return None
    try:
        hash_text = raw_hashes.decode("ascii")
    except UnicodeDecodeError as exc:
        result.fail(HASHES_FILE, None, f"not ASCII text ({exc})")
        return None
    stored = _stored_hashes(hash_text, result)
    chain = _BundleChain(result, stored)
    chain.run(raw_events)
    broken = any(p.file in (EVENTS_FILE, HASHES_FILE) and p.seq is not None for p in result.problems)
    result.unsigned_events = chain.unsigned
    if not broken and chain.unsigned:
        result.fail(EVENTS_FILE, None, f"{chain.unsigned} events after the last signed checkpoint are not "
                                       "covered by any signature")
    if not broken and len(stored) != len(chain.lines):
        extra = sorted(set(stored) - set(range(1, len(chain.lines) + 1)))
        result.fail(HASHES_FILE, extra[0] if extra else None,
                    f"lists {len(stored)} hashes for {len(chain.lines)} events")
    return chain


def _check_projections(result: BundleResult) -> None:
    """Replay the projector in memory, as ``verify`` does: an event that repeats a row an
    earlier one inserted (a duplicated fill) is named by its seq."""
    memory = MemoryTables()
    for event in result.events:
        try:
            memory.apply(operations((event,)))
        except DuplicateRow as exc:
            result.fail(EVENTS_FILE, event.seq, f"seq {event.seq}: {event.kind} repeats {exc.table} row {exc.key} "
                                                "recorded by an earlier event")
            return
        except (ValueError, KeyError, TypeError) as exc:
            result.fail(EVENTS_FILE, event.seq, f"seq {event.seq}: {event.kind} payload cannot be projected ({exc!r})")
            return


def _stored_hashes(text: str, result: BundleResult) -> dict[int, str]:
    lines = text.split("\n")
    if lines[-1] == "" and all(line[-65:-64] == " " and line[:-65] == str(seq)  # the usual case: 1..n in order
                               for seq, line in enumerate(lines[:-1], start=1)):
        return {seq: line[-64:] for seq, line in enumerate(lines[:-1], start=1)}
    stored: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HASH_LINE.fullmatch(line)
        if match is None:
            result.fail(HASHES_FILE, None, f"line {number} is not '<seq> <sha256 hex>'")
            continue
        seq = int(match.group(1))
        if seq in stored:
            result.fail(HASHES_FILE, seq, f"line {number} repeats seq {seq}")
        stored[seq] = match.group(2)
    return stored


def _check_side_files(result: BundleResult) -> None:
    checkpoints = [e for e in result.events if e.kind == kinds.CHECKPOINT_SIGNED]
    if result.chain_intact and result.files.get(CHECKPOINTS_FILE) is not None and \
            result.files[CHECKPOINTS_FILE] != checkpoints_text(checkpoints):
        result.fail(CHECKPOINTS_FILE, None, "differs from the checkpoint.signed events of events.jsonl")
    recorded = "".join(line + "\n" for line in _recorded_commitments(result)).encode("utf-8")
    if result.chain_intact and result.files.get(COMMITMENTS_FILE) is not None and \
            result.files[COMMITMENTS_FILE] != recorded:
        result.fail(COMMITMENTS_FILE, None, "differs from the commitment.made events of events.jsonl")


def _check_manifest_against_chain(result: BundleResult) -> None:
    manifest = result.manifest
    if not manifest or not result.events or not result.chain_intact:
        return  # a broken chain is named at its first bad seq: its intact prefix is not "the bundle's"
    head = result.events[-1]
    checks = (
        ("head_seq", head.seq), ("head_hash", head.hash), ("events", len(result.events)),
        ("checkpoints", result.checkpoints), ("public_key", result.public_key),
        ("key_fingerprint", result.fingerprint),
    )
    for key, actual in checks:
        if manifest.get(key) != actual:
            result.fail(MANIFEST_FILE, None, f"{key} {manifest.get(key)!r} differs from the bundle's {actual!r}")


def _check_attachments(result: BundleResult) -> None:
    by_seq = {e.seq: e for e in result.events}
    for section in ("reports", "statements"):
        entries = result.manifest.get(section, [])
        for entry in entries if isinstance(entries, list) else []:
            name = str(entry.get("file")) if isinstance(entry, dict) else "?"
            content = result.files.get(name)
            if content is None:
                result.fail(name, None, f"listed in the manifest's {section} but missing")
                continue
            digest = hashlib.sha256(content).hexdigest()
            for seq in entry.get("seqs", []):
                event = by_seq.get(seq)
                if event is None and not result.chain_intact:
                    result.fail(name, seq, f"not checked: event seq {seq} is past the chain's first break")
                elif event is None or digest not in event.payload:
                    result.fail(name, seq, f"its sha256 {digest[:16]} is not the one event seq {seq} recorded")
                elif section == "reports" and event.kind != REPORT_KIND:
                    result.fail(name, seq, f"event seq {seq} is a {event.kind}, not a {REPORT_KIND}")
            if section == "reports":
                result.reports_checked.append(name)


def _recorded_commitments(result: BundleResult) -> list[str]:
    lines = []
    for event in result.events:
        if event.kind == kinds.COMMITMENT_MADE:
            lines.append(str(json.loads(event.payload).get("line", "")))
    return lines


def _check_commitment(result: BundleResult, line: str, source: str, account: str | None) -> None:
    try:
        commitment = parse_commitment(line)
    except CommitmentError as exc:
        result.fail(source, None, str(exc))
        return
    problem = commitment_problem(commitment, result.hashes, result.public_key, account)
    if problem is not None:
        result.fail(source, commitment.seq, problem)
    else:
        result.commitments_checked.append(commitment.short())
