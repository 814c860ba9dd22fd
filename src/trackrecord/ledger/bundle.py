"""The export bundle: one zip a recruiter or an allocator checks offline.

Files (in this order, each stamped 1980-01-01 00:00:00, mode 0644, deflated at level 9, so
the same ledger always gives the same bytes: no clock is read):

- ``events.jsonl``: every event, one line each, exactly the bytes that were hashed after the
  previous hash: ``[seq,"recorded_at","kind",payload]`` (docs/ledger.md, "Events");
- ``hashes.txt``: ``<seq> <hash>`` per event, the hashes the ledger stored;
- ``ledger.ed25519.pub``: the public key (base64 of the raw 32 bytes);
- ``checkpoints.jsonl``: every signed checkpoint (also in events.jsonl);
- ``commitments.txt``: every commitment line recorded (``ledger commit``);
- ``figures.json``: the figures of the account's record, computed from the events;
- ``reports/*.pdf`` with their ``report.generated`` events' seqs, ``statements/*`` the
  reconciled broker statements, when any are recorded;
- ``manifest.json``: sha256 of every other file, head seq and hash, key fingerprint;
- ``manifest.sig``: the manifest's Ed25519 signature by the ledger's key;
- ``VERIFY.md``: what the bundle proves and how to check it.

The rule a writer of bundles must not break: every byte comes from the ledger (or from a
file whose sha256 the ledger recorded) and the settings named in the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent, envelope
from trackrecord.ledger.signing import key_fingerprint

FORMAT = "trackrecord-bundle:v1"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
EVENTS_FILE = "events.jsonl"
HASHES_FILE = "hashes.txt"
PUBLIC_KEY_FILE = "ledger.ed25519.pub"
CHECKPOINTS_FILE = "checkpoints.jsonl"
COMMITMENTS_FILE = "commitments.txt"
FIGURES_FILE = "figures.json"
MANIFEST_FILE = "manifest.json"
MANIFEST_SIGNATURE_FILE = "manifest.sig"
README_FILE = "VERIFY.md"
REPORT_KIND = kinds.REPORT_GENERATED
STATEMENT_KINDS_MARK = ("reconcil", "flex")  # event kinds whose payloads may name a statement's sha256
SETTINGS_SECTIONS = ("account", "universe", "performance")  # what the figures depend on (with prices.fx_rates)


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """A report or statement put in the bundle: its name there, bytes and the events naming it."""

    name: str
    content: bytes
    seqs: tuple[int, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class BundleContents:
    """Everything a bundle holds, before it is zipped."""

    account: str | None
    public_key: str
    events: list[StoredEvent]
    figures: dict[str, Any]
    settings: dict[str, Any]
    reports: list[AttachedFile] = field(default_factory=list)
    statements: list[AttachedFile] = field(default_factory=list)

    @property
    def head(self) -> StoredEvent:
        return self.events[-1]

    def checkpoints(self) -> list[StoredEvent]:
        return [e for e in self.events if e.kind == kinds.CHECKPOINT_SIGNED]

    def commitment_lines(self) -> list[str]:
        return [json.loads(e.payload)["line"] for e in self.events if e.kind == kinds.COMMITMENT_MADE]


def events_text(events: Iterable[StoredEvent]) -> bytes:
    return "".join(envelope(e.seq, e.recorded_at, e.kind, e.payload) + "\n" for e in events).encode("utf-8")


def hashes_text(events: Iterable[StoredEvent]) -> bytes:
    return "".join(f"{e.seq} {e.hash}\n" for e in events).encode("ascii")


def checkpoints_text(checkpoints: Iterable[StoredEvent]) -> bytes:
    lines = []
    for event in checkpoints:
        data = json.loads(event.payload)
        lines.append(_json_line({"seq": event.seq, **data}))
    return "".join(lines).encode("utf-8")


def manifest_message(manifest: bytes) -> bytes:
    """What ``manifest.sig`` signs: the manifest's sha256 under its own prefix (never a
    checkpoint's or a commitment's message)."""
    return b"trackrecord-bundle-manifest:v1:" + hashlib.sha256(manifest).hexdigest().encode("ascii")


def bundle_files(contents: BundleContents, sign: Callable[[bytes], str | None] | None = None) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file in order, then manifest.json, manifest.sig (the
    manifest's signature by ``sign``, Ed25519 being deterministic: the same bytes each
    time; left out when ``sign`` gives None) and VERIFY.md."""
    files: list[tuple[str, bytes]] = [
        (EVENTS_FILE, events_text(contents.events)),
        (HASHES_FILE, hashes_text(contents.events)),
        (PUBLIC_KEY_FILE, (contents.public_key + "\n").encode("ascii")),
        (CHECKPOINTS_FILE, checkpoints_text(contents.checkpoints())),
        (COMMITMENTS_FILE, "".join(line + "\n" for line in contents.commitment_lines()).encode("utf-8")),
        (FIGURES_FILE, _json_document(contents.figures)),
    ]
    files += [(f.name, f.content) for f in contents.reports]
    files += [(f.name, f.content) for f in contents.statements]
    manifest = manifest_document(contents, files)
    manifest_bytes = _json_document(manifest)
    files.append((MANIFEST_FILE, manifest_bytes))
    signature = sign(manifest_message(manifest_bytes)) if sign is not None else None
    if signature is not None:
        files.append((MANIFEST_SIGNATURE_FILE, (signature + "\n").encode("ascii")))
    files.append((README_FILE, verify_readme(manifest).encode("utf-8")))
    return files


def manifest_document(contents: BundleContents, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    head = contents.head
    return {
        "format": FORMAT,
        "account": contents.account,
        "head_seq": head.seq,
        "head_hash": head.hash,
        "events": len(contents.events),
        "checkpoints": len(contents.checkpoints()),
        "public_key": contents.public_key,
        "key_fingerprint": key_fingerprint(contents.public_key),
        "settings": contents.settings,
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in files},
        "reports": [{"file": f.name, "sha256": f.sha256, "seqs": list(f.seqs)} for f in contents.reports],
        "statements": [{"file": f.name, "sha256": f.sha256, "seqs": list(f.seqs)} for f in contents.statements],
    }


def zip_bytes(files: list[tuple[str, bytes]]) -> bytes:
    """A zip of ``files`` in order whose bytes depend on nothing else (no clock, no umask)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def attached_reports(events: list[StoredEvent], root: Path, account: str | None) -> list[AttachedFile]:
    """The PDFs ``report.generated`` events name (``path`` or ``file``, relative to the
    workspace) whose bytes still hash to the recorded ``sha256``; of ``account`` when the
    event names one. A report rebuilt later (same file, new event) is attached once."""
    found: dict[str, AttachedFile] = {}
    for event in events:
        if event.kind != REPORT_KIND:
            continue
        data = json.loads(event.payload)
        owner = data.get("account_id", data.get("account"))
        if account is not None and owner not in (None, account):
            continue
        path = _recorded_path(data)
        digest = data.get("sha256")
        if path is None or not isinstance(digest, str):
            continue
        content = _read_if_hashes_to(root / path, digest)
        if content is None:
            continue
        name = path if path.startswith("reports/") and not path.startswith("reports//") else f"reports/{Path(path).name}"
        earlier = found.get(name)
        seqs = (earlier.seqs if earlier and earlier.sha256 == digest else ()) + (event.seq,)
        found[name] = AttachedFile(name, content, seqs)
    return [found[name] for name in sorted(found)]


def attached_statements(events: list[StoredEvent], root: Path, account: str | None) -> list[AttachedFile]:
    """Files under the workspace's ``statements/`` whose sha256 a reconciliation (or Flex)
    event recorded, with the seqs of those events; of ``account`` when the event names one."""
    folder = root / "statements"
    if not folder.is_dir():
        return []
    named: dict[str, list[int]] = {}
    for event in events:
        if any(mark in event.kind for mark in STATEMENT_KINDS_MARK):
            data = json.loads(event.payload)
            owner = data.get("account_id") if isinstance(data, dict) else None
            if account is not None and owner not in (None, account):
                continue
            for value in _strings(data):
                if len(value) == 64:
                    named.setdefault(value, []).append(event.seq)
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        if digest in named:
            out.append(AttachedFile(f"statements/{path.relative_to(folder).as_posix()}", content, tuple(named[digest])))
    return out


def verify_readme(manifest: dict[str, Any]) -> str:
    account = manifest["account"] or "(no account with snapshots)"
    return f"""# How to check this track record

This file is part of a track-record bundle produced by trackrecord for account **{account}**.

## What it proves, in plain words

Every fact about the account (each deposit and withdrawal, each order sent and each fill
received, each daily valuation) was written down, in order, in a ledger where every entry
is sealed to the one before it: changing, removing, adding or reordering any entry breaks
the seal of every later entry. The trader signed the state of the ledger regularly with a
private key only the trader holds; the matching public key is in this bundle. Its
fingerprint is:

    {manifest["key_fingerprint"]}

1. **Ask the trader for that fingerprint through another channel** (phone, a letter, their
   web page) and compare: if it matches, the signatures in this bundle are the trader's.
2. **Keep the monthly lines** the trader sends you (they start `trackrecord-commit:v1:`).
   Each one pins the ledger as it stood that month. A later bundle must contain every line
   you kept: then nothing that existed when the line was sent has since been rewritten or
   removed. Without such lines, a trader could rewrite the whole history and sign it again.
3. The figures (returns, drawdowns, ratios) are recomputed by the checker from the ledger's
   entries alone, and each report PDF is compared with what its entry recorded.

What it cannot prove: that the broker really executed what the ledger records. Compare the
fills and the valuations with the broker's own statements (included under `statements/`
when the trader reconciled them). Figures marked SIMULATED are from a simulated broker;
an account whose id starts with DU is an IB paper account: neither is real money.

## The commands

Install trackrecord (no workspace, no network needed), then:

    trackrecord verify BUNDLE.zip
    trackrecord verify BUNDLE.zip --commitment 'trackrecord-commit:v1:...' --commitment '...'
    trackrecord verify BUNDLE.zip --json

It exits 0 when everything holds and prints the record's label as the events give it (LIVE,
IB PAPER, SIMULATED, or SIMULATED | BACKTEST) and the key fingerprint; it exits 1 naming the
first break (the file, the event's seq, the figure or the report).

Head of the ledger in this bundle: seq {manifest["head_seq"]}, hash {manifest["head_hash"]}
({manifest["events"]} events, {manifest["checkpoints"]} signed checkpoints).
"""


def _recorded_path(data: dict[str, Any]) -> str | None:
    for key in ("path", "file", "pdf"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _read_if_hashes_to(path: Path, digest: str) -> bytes | None:
    try:
        content = path.read_bytes()
    except OSError:
        return None
    return content if hashlib.sha256(content).hexdigest() == digest else None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def _json_document(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False) + "\n").encode("utf-8")
