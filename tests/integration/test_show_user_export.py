"""`export bundle` and `verify BUNDLE.zip` as a trader and a sceptical allocator type them:
an export never destroys a file that is not an earlier bundle, a bundle unzipped and zipped
again unchanged still verifies, a damaged database is one line, and `demo` runs on the
clock every other command reads (TRACKRECORD_NOW)."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tests.integration.demo_support import copy_demo, make_demo

NOW = "2026-11-02T12:00:00Z"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "show-export", NOW, 4)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_demo(demo_template, tmp_path, monkeypatch, NOW)


def _events(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


def test_export_onto_the_ledger_database_is_refused_and_the_ledger_survives(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    database = demo / "trackrecord.db"
    before, events = database.read_bytes(), _events(cli, demo)
    result = cli("--home", demo, "export", "bundle", database)
    assert result.code == 3, result
    assert "trackrecord.db exists and is not a bundle" in result.err and result.err.count("\n") == 1
    assert database.read_bytes() == before and _events(cli, demo) == events
    assert cli("--home", demo, "verify").code == 0


def test_export_onto_a_report_or_any_other_file_is_refused(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", demo, "report", "2026-10").code == 0
    report = demo / "reports" / "monthly" / "2026-10.pdf"
    pdf, events = report.read_bytes(), _events(cli, demo)
    assert cli("--home", demo, "export", "bundle", report).code == 3
    notes = tmp_path / "notes.zip"
    notes.write_text("my notes")
    assert cli("--home", demo, "export", "bundle", notes).code == 3
    assert report.read_bytes() == pdf and notes.read_text() == "my notes" and _events(cli, demo) == events


def test_export_replaces_an_earlier_bundle(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "record.zip"
    assert cli("--home", demo, "export", "bundle", out).code == 0
    assert cli("--home", demo, "report", "2026-10").code == 0
    again = cli("--home", demo, "export", "bundle", out, "--json")
    assert again.code == 0, again
    assert json.loads(again.out)["reports"] == 1
    assert cli("verify", out).code == 0


def test_a_bundle_zipped_again_unchanged_still_verifies(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", demo, "report", "2026-10").code == 0
    out = tmp_path / "record.zip"
    assert cli("--home", demo, "export", "bundle", out).code == 0
    rezipped = tmp_path / "rezipped.zip"  # what `unzip` then `zip -r` gives: folder entries too
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(rezipped, "w") as target:
        target.writestr("reports/", b"")
        target.writestr("reports/monthly/", b"")
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    result = cli("verify", rezipped)
    assert result.code == 0, result
    assert "not listed in the manifest" not in result.out + result.err


def test_an_edited_report_in_a_rezipped_bundle_is_the_one_named(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", demo, "report", "2026-10").code == 0
    out = tmp_path / "record.zip"
    assert cli("--home", demo, "export", "bundle", out).code == 0
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(edited, "w") as target:
        target.writestr("reports/", b"")
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith(".pdf"):
                data = data.replace(b"/Producer", b"/Produker", 1)
            target.writestr(info.filename, data)
    result = cli("verify", edited, "--json")
    assert result.code == 1
    problems = json.loads(result.out)["problems"]
    assert problems[0].startswith("reports/monthly/2026-10.pdf") and "the file was changed" in problems[0]
    assert not any("reports/:" in p for p in problems)


def test_a_database_replaced_by_another_file_is_one_line_not_a_traceback(cli, demo: Path) -> None:  # type: ignore[no-untyped-def]
    (demo / "trackrecord.db").write_bytes(b"PK\x03\x04 not a database" * 100)
    for command in (("verify",), ("stats",), ("report", "2026-10")):
        result = cli("--home", demo, *command)
        assert result.code == 1, (command, result)
        assert "cannot open the database" in result.err and "file is not a database" in result.err
        assert "Traceback" not in result.err and result.err.count("\n") == 1


def test_demo_replays_up_to_the_clock_the_other_commands_read(demo: Path) -> None:
    """TRACKRECORD_NOW=2026-11-02 (a Monday before the close): the last session replayed is
    Friday 2026-10-30, never a day after the clock."""
    with sqlite3.connect(demo / "trackrecord.db") as conn:
        rows = conn.execute("SELECT payload FROM events WHERE kind = 'snapshot.recorded'").fetchall()
    days = [json.loads(payload)["positions"][0]["price_date"] for (payload,) in rows if json.loads(payload)["positions"]]
    assert max(days) == "2026-10-30"


def test_one_edited_event_is_named_without_false_lines_after_it(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A changed deposit at seq N cuts the chain there: the manifest, the checkpoints file and the
    reports after N are not "different from the bundle", they are past the break."""
    assert cli("--home", demo, "report", "2026-10").code == 0
    out, edited = tmp_path / "record.zip", tmp_path / "edited.zip"
    assert cli("--home", demo, "export", "bundle", out).code == 0
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(edited, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "events.jsonl":
                lines = data.split(b"\n")
                index = next(i for i, line in enumerate(lines) if b'"cashflow.recorded"' in line)
                lines[index] = lines[index].replace(b'"amount":"', b'"amount":"1', 1)
                data = b"\n".join(lines)
            target.writestr(info, data)
    result = cli("verify", edited, "--json")
    assert result.code == 1
    document = json.loads(result.out)
    problems = document["problems"]
    assert str(document["first_break"]["file"]) == "events.jsonl" and document["first_break"]["seq"] > 0
    assert not any("differs from the bundle's" in p or "is not the one event" in p or p.startswith("checkpoints.jsonl")
                   for p in problems), problems
    assert any("not checked: event seq" in p and "past the chain's first break" in p for p in problems)


def test_report_out_onto_the_ledger_or_another_file_is_refused(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    database = demo / "trackrecord.db"
    before, events = database.read_bytes(), _events(cli, demo)
    for command in (("report", "2026-10"), ("weekly-report", "--week", "2026-W43")):
        result = cli("--home", demo, *command, "--out", database)
        assert result.code == 3, (command, result)
        assert "trackrecord.db exists and is not a trackrecord report: not replaced" in result.err
    assert database.read_bytes() == before and _events(cli, demo) == events
    again = tmp_path / "october.pdf"
    assert cli("--home", demo, "report", "2026-10", "--out", again).code == 0
    assert cli("--home", demo, "report", "2026-10", "--out", again).code == 0, "an earlier report is replaced"


def test_an_edited_line_of_hashes_txt_is_blamed_on_hashes_txt_not_the_event(cli, demo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, edited = tmp_path / "record.zip", tmp_path / "edited.zip"
    assert cli("--home", demo, "export", "bundle", out).code == 0
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(edited, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "hashes.txt":
                lines = data.split(b"\n")
                lines[10] = lines[10][:-1] + (b"0" if lines[10][-1:] != b"0" else b"1")
                data = b"\n".join(lines)
            target.writestr(info, data)
    result = cli("verify", edited, "--json")
    assert result.code == 1
    document = json.loads(result.out)
    assert document["first_break"]["file"] == "hashes.txt" and document["first_break"]["seq"] == 11, document
    assert "hashes.txt was changed, not the event" in document["first_break"]["message"]
    assert not any(p.startswith("events.jsonl") for p in document["problems"]), document["problems"]
