"""`export bundle`, `verify BUNDLE.zip` with no workspace, and `ledger commit`, as a trader and
a recruiter type them (issue 12, items 1-3)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from trackrecord.cli.app import run


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundle") / "demo"
    assert run(["demo", str(root), "--years", "1"]) == 0
    return root


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the current one and no TRACKRECORD_HOME: no workspace anywhere."""
    folder = tmp_path / "recruiter"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("TRACKRECORD_HOME", raising=False)
    return folder


def _events(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


def _export(cli, root: Path, out: Path, *extra: str) -> dict:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "export", "bundle", out, "--json", *extra)
    assert result.code == 0, result
    return json.loads(result.out)


def test_the_same_ledger_gives_the_same_bundle_bytes(cli, demo_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = _export(cli, demo_root, tmp_path / "a.zip")
    _export(cli, demo_root, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = archive.namelist()
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert names[:6] == ["events.jsonl", "hashes.txt", "ledger.ed25519.pub", "checkpoints.jsonl", "commitments.txt",
                         "figures.json"]
    assert names[-3:] == ["manifest.json", "manifest.sig", "VERIFY.md"]
    assert first["account"] == "SIM0001" and first["key_fingerprint"].startswith("SHA256:")


def test_events_jsonl_holds_exactly_the_bytes_that_were_hashed(cli, demo_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _export(cli, demo_root, tmp_path / "b.zip")
    logged = json.loads(cli("--home", demo_root, "ledger", "log", "--json").out)
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        lines = archive.read("events.jsonl").split(b"\n")[:-1]
        manifest = json.loads(archive.read("manifest.json"))
        readme = archive.read("VERIFY.md").decode()
    assert len(lines) == len(logged)
    for line, event in zip(lines, logged):
        assert hashlib.sha256(event["prev_hash"].encode() + line).hexdigest() == event["hash"]
    assert manifest["head_seq"] == logged[-1]["seq"] and manifest["head_hash"] == logged[-1]["hash"]
    assert manifest["key_fingerprint"] in readme and "trackrecord verify BUNDLE.zip" in readme
    assert "in plain words" in readme.lower()


def test_verify_bundle_needs_no_workspace_and_prints_the_fingerprint(cli, demo_root: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    elsewhere: Path) -> None:
    exported = _export(cli, demo_root, tmp_path / "record.zip")
    text = cli("verify", tmp_path / "record.zip")
    assert text.code == 0, text
    assert "bundle OK" in text.out and exported["key_fingerprint"] in text.out
    assert "no --commitment given" in text.out, "what a bundle alone cannot prove is said"
    # the demo is simulated: the recipient is told first, from the events (the bundle said nothing)
    assert text.out.startswith("record: SIMULATED (a simulated broker or synthetic prices: not a real account's "
                               "figures)\n"), text.out
    document = json.loads(cli("verify", tmp_path / "record.zip", "--json").out)
    assert document["ok"] is True and document["head_seq"] == exported["head_seq"]
    assert (document["label"], document["caveats"]) == ("SIMULATED", "")
    assert document["figures_checked"] > 50, "the stats document is recomputed from the events alone"
    assert "re-signed" in document["not_provable"]
    assert list(elsewhere.iterdir()) == [], "verify wrote nothing where it ran"


def test_ledger_commit_prints_a_signed_line_and_records_it(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    before = _events(cli, workspace)
    result = cli("--home", workspace, "ledger", "commit", "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    prefix, version, account, seq, head_hash, signature = document["line"].split(":")
    assert (prefix, version) == ("trackrecord-commit", "v1") and int(seq) == before
    log = json.loads(cli("--home", workspace, "ledger", "log", "--json").out)
    assert log[before - 1]["hash"] == head_hash
    recorded = [e for e in log if e["kind"] == "commitment.made"]
    assert [e["payload"]["line"] for e in recorded] == [document["line"]]
    assert cli("--home", workspace, "verify").code == 0


def test_twelve_monthly_commitments_are_all_extended_by_a_bundle_a_year_later(cli, workspace: Path,  # type: ignore[no-untyped-def]
                                                                             tmp_path: Path) -> None:
    lines = []
    for month in range(1, 13):
        added = cli("--home", workspace, "cashflow", "add", "--date", f"2025-{month:02d}-15", "--amount", "1000")
        assert added.code == 0, added
        committed = cli("--home", workspace, "ledger", "commit")
        assert committed.code == 0, committed
        lines.append(committed.out.strip())
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-01-15", "--amount", "500").code == 0
    _export(cli, workspace, tmp_path / "later.zip")
    options = [part for line in lines for part in ("--commitment", line)]
    result = cli("verify", tmp_path / "later.zip", *options, "--json")
    document = json.loads(result.out)
    assert result.code == 0 and document["ok"], document["problems"]
    assert len(document["commitments_checked"]) == 12 * 2, "the twelve given and the twelve the ledger recorded"


def test_a_commitment_to_a_different_hash_fails_naming_it(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = cli("--home", workspace, "ledger", "commit").out.strip()
    _export(cli, workspace, tmp_path / "b.zip")
    prefix, version, account, seq, head_hash, signature = line.split(":")
    forged = ":".join((prefix, version, account, seq, "0" * 64, signature))
    result = cli("verify", tmp_path / "b.zip", "--commitment", forged)
    assert result.code == 1
    assert f"--commitment seq {seq}: commitment seq {seq} hash 0000000000000000" in result.err
    assert "signature is not by the bundle's key" in result.err


def test_a_commitment_the_chain_does_not_pass_through_fails_naming_the_seq(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A ledger rewritten and re-signed with its own key (here: a second workspace with the
    same key and a different history) verifies alone; the commitment shows the rewrite."""
    import shutil

    original, rewritten = tmp_path / "original", tmp_path / "rewritten"
    assert cli("init", original).code == 0
    shutil.copytree(original, rewritten)
    assert cli("--home", original, "cashflow", "add", "--date", "2025-03-03", "--amount", "1000").code == 0
    line = cli("--home", original, "ledger", "commit").out.strip()
    assert cli("--home", rewritten, "cashflow", "add", "--date", "2025-03-03", "--amount", "9000").code == 0
    assert cli("--home", rewritten, "ledger", "checkpoint").code == 0
    _export(cli, rewritten, tmp_path / "rewritten.zip")
    assert cli("verify", tmp_path / "rewritten.zip").code == 0, "valid in itself"
    result = cli("verify", tmp_path / "rewritten.zip", "--commitment", line)
    seq = line.split(":")[3]
    assert result.code == 1 and f"at seq {seq}, not the committed" in result.err, result


def test_a_bundle_of_a_new_workspace_verifies_without_figures(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exported = _export(cli, workspace, tmp_path / "empty.zip")
    assert exported["account"] is None
    verified = cli("verify", tmp_path / "empty.zip")
    assert verified.code == 0 and "record:" not in verified.out  # no record, no label


def test_an_imported_live_record_says_what_its_label_cannot_prove(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    navs = tmp_path / "navs.csv"
    navs.write_text("date,nav\n2026-01-30,100000\n2026-02-27,101000\n2026-03-31,99500\n")
    assert cli("--home", workspace, "import", "snapshots", navs, "--account", "U7654321").code == 0
    exported = _export(cli, workspace, tmp_path / "live.zip")
    assert exported["label"] == "LIVE" and exported["caveats"].startswith("100% of its snapshots were imported")
    said = cli("--home", workspace, "export", "bundle", tmp_path / "live.zip")
    assert said.code == 0 and said.out.startswith("record: LIVE (the events say"), said
    verified = cli("verify", tmp_path / "live.zip")
    assert verified.code == 0, verified
    first = verified.out.splitlines()[0]
    assert first.startswith("record: LIVE (the events say a live Interactive Brokers account") and \
        "100% of its snapshots were imported from files the trader supplied" in first, first


@pytest.mark.parametrize("content", [b"not a zip at all\n", b"PK\x03\x04truncated"], ids=["not_a_zip", "truncated_header"])
def test_verify_refuses_what_is_not_a_zip_in_one_line(cli, tmp_path: Path, content: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)
    result = cli("verify", path)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.count("\n") == 1 and "not a zip file" in result.err


def test_verify_refuses_a_truncated_bundle_in_one_line(cli, demo_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _export(cli, demo_root, tmp_path / "b.zip")
    data = (tmp_path / "b.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    result = cli("verify", tmp_path / "cut.zip")
    assert result.code == 2 and result.err.count("\n") == 1 and "truncated" in result.err, result


def test_verify_refuses_a_zip_that_is_no_bundle(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8")
    (tmp_path / "other.zip").write_bytes(buffer.getvalue())
    result = cli("verify", tmp_path / "other.zip")
    assert result.code == 2 and "not a trackrecord bundle" in result.err


def test_a_malformed_commitment_line_is_refused_before_any_check(cli, demo_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _export(cli, demo_root, tmp_path / "b.zip")
    result = cli("verify", tmp_path / "b.zip", "--commitment", "trackrecord-commit:v1:SIM0001:12:beef:sig")
    assert result.code == 2 and "--commitment" in result.err and "not 64 lower-case hex" in result.err


def test_export_for_an_unknown_account_is_refused_and_writes_nothing(cli, demo_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = _events(cli, demo_root)
    result = cli("--home", demo_root, "export", "bundle", tmp_path / "x.zip", "--account", "U999")
    assert result.code == 2 and "--account U999" in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "x.zip").exists() and _events(cli, demo_root) == before


def test_a_reconciled_statement_travels_in_the_bundle_with_its_event(cli, demo_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from tests.integration.flex_synthetic import ledger_events, statement_from_events

    home = tmp_path / "ws"
    shutil.copytree(demo_root, home)
    statement = tmp_path / "statement.xml"
    statement.write_bytes(statement_from_events(ledger_events(cli, home)).render())
    assert cli("--home", home, "reconcile", statement).code == 0
    exported = _export(cli, home, tmp_path / "b.zip")
    assert exported["statements"] == 1
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
        kept = manifest["statements"][0]
        assert archive.read(kept["file"]) == statement.read_bytes()
    reconciled = [e for e in json.loads(cli("--home", home, "ledger", "log", "--json").out)
                  if e["kind"] == "reconciliation.done"]
    assert kept["seqs"] == [reconciled[0]["seq"]] and kept["sha256"] == reconciled[0]["payload"]["statement"]["sha256"]
    assert cli("verify", tmp_path / "b.zip").code == 0
    private = _export(cli, home, tmp_path / "private.zip", "--no-statements")
    assert private["statements"] == 0 and not any(name.startswith("statements/") for name in private["files"])
    assert cli("verify", tmp_path / "private.zip").code == 0


@pytest.mark.postgres
def test_a_bundle_of_either_backend_verifies_with_its_commitment(cli, workspace: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 database_url: str) -> None:
    config = workspace / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  url: null", f'  url: "{database_url}"', 1))
    navs = tmp_path / "nav.csv"
    navs.write_text("date,nav\n2026-01-05,100000\n2026-01-06,100400\n2026-01-07,100100\n2026-01-08,101000\n")
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "100000").code == 0
    assert cli("--home", workspace, "import", "snapshots", navs).code == 0
    line = cli("--home", workspace, "ledger", "commit").out.strip()
    exported = _export(cli, workspace, tmp_path / "b.zip")
    assert exported["account"] is not None
    result = cli("verify", tmp_path / "b.zip", "--commitment", line, "--json")
    document = json.loads(result.out)
    assert result.code == 0 and document["ok"] and document["figures_checked"] > 20, document["problems"]


def test_export_into_a_missing_folder_is_refused_and_writes_nothing(cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = _events(cli, workspace)
    result = cli("--home", workspace, "export", "bundle", tmp_path / "nowhere" / "b.zip")
    assert result.code == 2 and "does not exist" in result.err and result.err.count("\n") == 1
    assert _events(cli, workspace) == before


def test_verify_of_a_missing_bundle_is_one_line(cli, tmp_path: Path, elsewhere: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("verify", tmp_path / "missing.zip")
    assert result.code == 2 and "cannot read the bundle" in result.err and result.err.count("\n") == 1


def test_a_commitment_without_a_bundle_is_refused(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("--home", workspace, "verify", "--commitment", "trackrecord-commit:v1:A:1:" + "0" * 64 + ":x")
    assert result.code == 2 and "--commitment needs a bundle" in result.err


def test_ledger_commit_without_the_private_key_is_refused_and_records_nothing(cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    before = _events(cli, workspace)
    (workspace / "keys" / "ledger.ed25519").unlink()
    result = cli("--home", workspace, "ledger", "commit")
    assert result.code == 2 and "cannot sign the commitment" in result.err and "Traceback" not in result.err
    assert _events(cli, workspace) == before
