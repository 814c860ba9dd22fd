"""The bundle mutation corpus (issue 12, item 4): every single-event edit, deletion, insertion
and reordering of a demo bundle, a swapped key, an edited manifest, report or figure, and a
commitment to another hash are detected, each naming the right place (file and seq); the
untouched bundle verifies.

The attacker here is strong: after each change to a file they rewrite the manifest's sha256
of it (and VERIFY.md), so the manifest alone would not notice; the chain must. Positions are
sampled (seeded) over every position class: the first event, a checkpoint, the first event
of every kind, random middle events and the last event (the final checkpoint).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from trackrecord.cli.app import run
from trackrecord.engine.bundles import rebuilt_services, record_figures, settings_from_manifest, verify_bundle
from trackrecord.ledger.bundle import checkpoints_text, manifest_message, verify_readme, zip_bytes
from trackrecord.ledger.bundle_verify import BundleResult
from trackrecord.ledger.chain import GENESIS_HASH, StoredEvent, event_hash
from trackrecord.ledger.signing import checkpoint_message, key_fingerprint

Files = dict[str, bytes]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A one-year SIMULATED demo with a monthly report PDF and a recorded commitment."""
    root = tmp_path_factory.mktemp("mutations") / "demo"
    assert run(["demo", str(root), "--years", "1"]) == 0
    assert run(["--home", str(root), "report", "2026-01"]) == 0
    assert run(["--home", str(root), "ledger", "commit"]) == 0
    out = root / "exports" / "bundle.zip"
    assert run(["--home", str(root), "export", "bundle", str(out)]) == 0
    return out.read_bytes()


def _files(data: bytes) -> Files:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _refreshed_manifest(files: Files) -> bytes:
    manifest = json.loads(files["manifest.json"])
    for name in manifest["files"]:
        if name in files:
            manifest["files"][name] = {"sha256": hashlib.sha256(files[name]).hexdigest(), "bytes": len(files[name])}
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def _rezip(files: Files, *, refresh_manifest: bool = True) -> bytes:
    """The bundle of ``files``; the manifest's sha256s and VERIFY.md rewritten to match
    (manifest.sig cannot be: the attacker has no key, and verify names that last)."""
    files = dict(files)
    if refresh_manifest:
        files["manifest.json"] = _refreshed_manifest(files)
        files["VERIFY.md"] = verify_readme(json.loads(files["manifest.json"])).encode()
    return zip_bytes(list(files.items()))


def _lines(files: Files) -> list[bytes]:
    return files["events.jsonl"].split(b"\n")[:-1]


def _with_lines(files: Files, lines: list[bytes]) -> Files:
    return {**files, "events.jsonl": b"".join(line + b"\n" for line in lines)}


def _verify(data: bytes, *commitments: str) -> BundleResult:
    return verify_bundle(data, "bundle.zip", list(commitments))


def _assert_named(result: BundleResult, file: str, seq: int | None, *words: str) -> None:
    first = result.first_break()
    assert not result.ok and first is not None, "not detected"
    assert (first.file, first.seq) == (file, seq), f"named {first}, expected {file} seq {seq}"
    for word in words:
        assert word in first.message, (word, str(first))


def _positions(files: Files) -> list[int]:
    """Seqs to mutate: first, each checkpoint, the first of every kind, 12 random, last."""
    kinds: dict[str, int] = {}
    checkpoints = []
    for index, line in enumerate(_lines(files), start=1):
        kind = json.loads(line)[2]
        kinds.setdefault(kind, index)
        if kind == "checkpoint.signed":
            checkpoints.append(index)
    count = len(_lines(files))
    sampled = random.Random(12).sample(range(2, count), 12)
    return sorted({1, *checkpoints, *kinds.values(), *sampled, count})


def test_the_untouched_bundle_verifies(bundle: bytes) -> None:
    result = _verify(bundle)
    assert result.ok, result.problems
    assert result.reports_checked == ["reports/monthly/2026-01.pdf"] and len(result.commitments_checked) == 1
    assert result.reports_rebuilt == ["reports/monthly/2026-01.pdf"], "the PDF is rebuilt from the events, same bytes"
    assert _verify(_rezip(_files(bundle))).ok, "re-zipping alone changes nothing"


def test_every_sampled_single_event_edit_is_named_by_its_seq(bundle: bytes) -> None:
    files = _files(bundle)
    positions = _positions(files)
    assert len(positions) >= 20
    for seq in positions:
        lines = _lines(files)
        line = lines[seq - 1]
        # one character of the payload changed: the last digit or letter before the closing brackets
        at = max(i for i in range(len(line) - 2) if chr(line[i]).isalnum())
        changed = bytes([line[at] ^ 1 if chr(line[at] ^ 1).isalnum() else ord("0")])
        lines[seq - 1] = line[:at] + changed + line[at + 1:]
        _assert_named(_verify(_rezip(_with_lines(files, lines))), "events.jsonl", seq, "hash does not match")


def test_every_sampled_single_event_deletion_is_named(bundle: bytes) -> None:
    files = _files(bundle)
    count = len(_lines(files))
    for seq in _positions(files):
        lines = _lines(files)
        del lines[seq - 1]
        result = _verify(_rezip(_with_lines(files, lines)))
        if seq < count:
            _assert_named(result, "events.jsonl", seq, "missing event")
        else:  # the last event gone: hashes.txt still lists it
            _assert_named(result, "hashes.txt", seq)


def test_every_sampled_single_event_insertion_is_named(bundle: bytes) -> None:
    files = _files(bundle)
    for seq in _positions(files):
        lines = _lines(files)
        repeated = lines[:seq] + [lines[seq - 1]] + lines[seq:]  # a copy of the event right after it
        _assert_named(_verify(_rezip(_with_lines(files, repeated))), "events.jsonl", seq + 1, "duplicated or reordered")
        forged = json.loads(lines[seq - 1])
        forged[0] = seq + 1  # a new event, numbered into the gap it is pushed into
        text = json.dumps(forged, ensure_ascii=False, separators=(",", ":")).encode()
        inserted = lines[:seq] + [text] + lines[seq:]
        result = _verify(_rezip(_with_lines(files, inserted)))
        _assert_named(result, "events.jsonl", seq + 1)


def test_every_sampled_reordering_is_named(bundle: bytes) -> None:
    files = _files(bundle)
    count = len(_lines(files))
    for seq in _positions(files):
        if seq == count:
            continue
        lines = _lines(files)
        lines[seq - 1], lines[seq] = lines[seq], lines[seq - 1]
        _assert_named(_verify(_rezip(_with_lines(files, lines))), "events.jsonl", seq, "missing event")


def test_an_edit_with_every_later_hash_recomputed_is_named_at_the_next_checkpoint(bundle: bytes) -> None:
    files = _files(bundle)
    lines = _lines(files)
    target = len(lines) // 2
    lines[target - 1] = lines[target - 1].replace(b'"nav":"', b'"nav":"1', 1) if b'"nav":"' in lines[target - 1] \
        else lines[target - 1][:-2] + b',"x":1}]'
    prev, hashes = GENESIS_HASH, []
    for line in lines:
        seq, recorded_at, kind = json.loads(line)[:3]
        payload = line.decode()[len(f'[{seq},"{recorded_at}","{kind}",'):-1]
        prev = event_hash(prev, seq, recorded_at, kind, payload)
        hashes.append(f"{seq} {prev}\n")
    rehashed = {**_with_lines(files, lines), "hashes.txt": "".join(hashes).encode()}
    result = _verify(_rezip(rehashed))
    checkpoint = next(i for i, line in enumerate(lines, start=1) if i > target and b'"checkpoint.signed"' in line)
    _assert_named(result, "events.jsonl", checkpoint, "checkpoint names seq")


def test_a_swapped_key_is_named_at_the_first_checkpoint(bundle: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    files = _files(bundle)
    other = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()
    manifest = json.loads(files["manifest.json"])
    manifest.update(public_key=other, key_fingerprint=key_fingerprint(other))
    swapped = {**files, "ledger.ed25519.pub": (other + "\n").encode(),
               "manifest.json": json.dumps(manifest, indent=2).encode()}
    result = _verify(_rezip(swapped))
    _assert_named(result, "events.jsonl", 2, "not the bundle's")
    assert result.fingerprint == key_fingerprint(other), "the fingerprint shown is the one to compare"


def test_a_history_re_signed_with_another_key_fails_every_commitment(bundle: bytes) -> None:
    """Valid in itself (a forger with their own key), but the fingerprint differs and no
    commitment the real trader sent holds."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    files = _files(bundle)
    real_line = next(json.loads(line)[3]["line"] for line in _lines(files) if b'"commitment.made"' in line)
    forger = Ed25519PrivateKey.generate()
    public = base64.b64encode(forger.public_key().public_bytes_raw()).decode()
    lines, prev, hashes, events, new_hash = [], GENESIS_HASH, [], [], {}
    for line in _lines(files):
        seq, recorded_at, kind, payload = json.loads(line)
        if kind == "checkpoint.signed":
            head_hash = new_hash[payload["head_seq"]]
            signature = forger.sign(checkpoint_message(payload["head_seq"], head_hash))
            payload = {**payload, "head_hash": head_hash, "public_key": public,
                       "signature": base64.b64encode(signature).decode()}
        if kind == "commitment.made":
            kind, payload = "annotation.added", {"text": "removed"}
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        prev = new_hash[seq] = event_hash(prev, seq, recorded_at, kind, text)
        envelope = json.dumps([seq, recorded_at, kind], ensure_ascii=False, separators=(",", ":"))[:-1] + f",{text}]"
        lines.append(envelope.encode())
        hashes.append(f"{seq} {prev}\n")
        events.append(StoredEvent(seq, recorded_at, kind, text, "", prev))
    manifest = json.loads(files["manifest.json"])
    manifest.update(public_key=public, key_fingerprint=key_fingerprint(public), head_hash=prev, reports=[])
    del manifest["files"]["reports/monthly/2026-01.pdf"]  # the report shows the key: the forger drops it
    del files["reports/monthly/2026-01.pdf"]
    forged = {**_with_lines(files, lines), "hashes.txt": "".join(hashes).encode(), "commitments.txt": b"",
              "ledger.ed25519.pub": (public + "\n").encode(), "manifest.json": json.dumps(manifest).encode(),
              "checkpoints.jsonl": checkpoints_text([e for e in events if e.kind == "checkpoint.signed"])}
    forged["manifest.json"] = _refreshed_manifest(forged)
    forged["manifest.sig"] = base64.b64encode(forger.sign(manifest_message(forged["manifest.json"]))) + b"\n"
    alone = _verify(_rezip(forged))
    assert alone.ok, alone.problems
    result = _verify(_rezip(forged), real_line)
    seq = int(real_line.split(":")[3])
    _assert_named(result, "--commitment", seq, "not by the bundle's key")


def test_a_manifest_changed_after_the_export_fails_its_signature(bundle: bytes) -> None:
    """The settings the figures are computed with are the trader's: changed together with
    figures.json so that the figures agree, the manifest's signature no longer holds."""
    files = _files(bundle)
    assert _verify(zip_bytes([item for item in files.items() if item[0] != "manifest.sig"])).problems[-1].message \
        .startswith("not signed (no manifest.sig)")
    manifest = json.loads(files["manifest.json"])
    manifest["settings"]["performance"]["flow_timing"] = "end"
    changed = {**files, "manifest.json": json.dumps(manifest).encode()}
    first = _verify(_rezip(changed))
    with tempfile.TemporaryDirectory() as folder:  # the forger recomputes the figures with the new setting
        services = rebuilt_services(Path(folder), settings_from_manifest(manifest["settings"]), first.events)
        try:
            figures = record_figures(services, manifest["account"])
        finally:
            services.close()
    result = _verify(_rezip({**changed, "figures.json": json.dumps(figures, indent=2).encode()}))
    assert [str(p) for p in result.problems] == [
        "manifest.json: manifest.sig is not its signature by the bundle's key: the manifest was changed after the export"]


@pytest.mark.parametrize("key, value, named", [
    ("head_hash", "0" * 64, "head_hash"),
    ("head_seq", 5, "head_seq"),
    ("key_fingerprint", "SHA256:0000", "key_fingerprint"),
    ("events", 1, "events"),
])
def test_an_edited_manifest_field_is_named(bundle: bytes, key: str, value: object, named: str) -> None:
    files = _files(bundle)
    manifest = json.loads(files["manifest.json"])
    manifest[key] = value
    result = _verify(_rezip({**files, "manifest.json": json.dumps(manifest).encode()}))
    assert not result.ok and any(p.file == "manifest.json" and named in p.message for p in result.problems), \
        result.problems


def test_a_file_changed_without_its_manifest_entry_is_named(bundle: bytes) -> None:
    files = _files(bundle)
    for name in ("events.jsonl", "hashes.txt", "checkpoints.jsonl", "figures.json", "reports/monthly/2026-01.pdf"):
        changed = {**files, name: files[name] + b" "}
        result = _verify(_rezip(changed, refresh_manifest=False))
        assert any(p.file == name and "differs from the manifest" in p.message for p in result.problems), \
            (name, result.problems)


def test_an_edited_report_pdf_is_named_with_its_event(bundle: bytes) -> None:
    files = _files(bundle)
    pdf = files["reports/monthly/2026-01.pdf"]
    edited = pdf.replace(b"/Producer (", b"/Producer (X", 1)
    assert edited != pdf
    result = _verify(_rezip({**files, "reports/monthly/2026-01.pdf": edited}))
    seq = json.loads(files["manifest.json"])["reports"][0]["seqs"][0]
    _assert_named(result, "reports/monthly/2026-01.pdf", seq, "is not the one event seq")


@pytest.mark.parametrize("edit", ["figure", "settings"])
def test_an_edited_figure_or_setting_is_named_by_the_figure(bundle: bytes, edit: str) -> None:
    files = _files(bundle)
    if edit == "figure":
        figures = json.loads(files["figures.json"])
        figures["stats"]["metrics"]["sharpe"] += 0.5
        changed = {**files, "figures.json": json.dumps(figures).encode()}
    else:
        manifest = json.loads(files["manifest.json"])
        manifest["settings"]["performance"]["risk_free_rate"] = 0.05
        changed = {**files, "manifest.json": json.dumps(manifest).encode()}
    result = _verify(_rezip(changed))
    _assert_named(result, "figures.json", None, "stats.metrics.", "the events give")
    if edit == "figure":
        assert "stats.metrics.sharpe" in result.first_break().message  # type: ignore[union-attr]


@pytest.mark.parametrize("name, mutate", [
    ("VERIFY.md", lambda files: {**files, "VERIFY.md": files["VERIFY.md"].replace(b"SHA256:", b"SHA256:beef", 1)}),
    ("holiday.jpg", lambda files: {**files, "holiday.jpg": b"\xff\xd8"}),
    ("checkpoints.jsonl", lambda files: {**files, "checkpoints.jsonl": b""}),
    ("commitments.txt", lambda files: {**files, "commitments.txt": b""}),
])
def test_the_side_files_are_checked_too(bundle: bytes, name: str, mutate: Callable[[Files], Files]) -> None:
    files = mutate(_files(bundle))
    data = zip_bytes(list(files.items())) if name == "VERIFY.md" else _rezip(files)
    result = _verify(data)
    assert not result.ok and any(p.file == name for p in result.problems), result.problems


def test_a_commitment_to_another_hash_is_named(bundle: bytes) -> None:
    files = _files(bundle)
    line = next(json.loads(line)[3]["line"] for line in _lines(files) if b'"commitment.made"' in line)
    parts = line.split(":")
    parts[4] = hashlib.sha256(b"another history").hexdigest()
    result = _verify(bundle, ":".join(parts))
    _assert_named(result, "--commitment", int(parts[3]), "not by the bundle's key")
    assert _verify(bundle, line).ok
