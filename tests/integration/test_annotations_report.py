"""The monthly report shows the month's annotations (the engine's reason for each order, the
trader's notes, at their latest version) and the commentary, which making the report freezes
into the ledger; the PDF is read as a recruiter reads it (pypdf text)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from tests.integration.demo_support import copy_demo, make_demo

pypdf = pytest.importorskip("pypdf")

NOW = "2026-11-02T12:00:00Z"  # the demo below replays 2025-11 .. 2026-10
COMMENTARY = "# July 2026\n\nThe book **held** energy & financials.\n\n- Drawdown stayed under 5%\n- No manual override\n"


def _run(*args: object) -> tuple[int, str, str]:
    from trackrecord.cli.app import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _json(root: Path, *args: object) -> object:
    code, out, err = _run("--home", root, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "annotated-report", NOW, 11)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_demo(demo_template, tmp_path, monkeypatch, NOW)


def _text(path: Path) -> str:
    """The PDF's text, whitespace folded (table cells wrap)."""
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages).split())


def _folded(text: str) -> str:
    return " ".join(text.split())


def test_the_report_shows_the_months_notes_and_freezes_its_commentary(demo: Path) -> None:
    notes = _json(demo, "annotate", "list", "--month", "2026-07")
    engine = [n for n in notes if n["author"] == "engine" and n["as_of"] == "2026-07-01"]  # type: ignore[index]
    assert engine, "the July rebalance planned orders, each with the engine's note"
    first = engine[0]
    code, _, err = _run("--home", demo, "annotate", first["id"], "--post", "--outcome",  # type: ignore[index]
                        "Filled at the close; the sector kept its lead", "--matched", "--lesson", "MOC costs little")
    assert code == 0, err
    (demo / "annotations/monthly/2026-07.md").write_text(COMMENTARY, encoding="utf-8")
    made = _json(demo, "report", "2026-07")
    frozen = _json(demo, "ledger", "log", "--kind", "commentary.recorded")
    assert len(frozen) == 1 and frozen[0]["payload"]["text"] == COMMENTARY  # type: ignore[index]
    assert frozen[0]["seq"] <= made["ledger_seq"], "the report is built from a head that holds its commentary"  # type: ignore[index]
    text = _text(Path(made["path"]))  # type: ignore[index]
    for note in engine:
        assert _folded(note["pre_trade"]["thesis"])[:60] in text  # type: ignore[index]
        assert note["systematic"]["decision_price"] in text  # type: ignore[index]
    assert "Filled at the close; the sector kept its lead. As expected. Lesson: MOC costs little." in text
    assert "Monthly commentary July 2026 The book held energy & financials." in text
    assert "Drawdown stayed under 5%" in text and "No manual override" in text
    again = _json(demo, "report", "2026-07")
    assert again["sha256"] == made["sha256"], "the commentary is not frozen twice: same head, same bytes"  # type: ignore[index]
    assert len(_json(demo, "ledger", "log", "--kind", "commentary.recorded")) == 1  # type: ignore[arg-type]
    code, out, _ = _run("--home", demo, "report", "verify", made["path"])  # type: ignore[index]
    assert code == 0, out


def test_a_changed_commentary_is_a_new_version_in_the_next_report(demo: Path) -> None:
    (demo / "annotations/monthly/2026-07.md").write_text(COMMENTARY, encoding="utf-8")
    first = _json(demo, "report", "2026-07", "--out", demo / "reports/monthly/first.pdf")
    (demo / "annotations/monthly/2026-07.md").write_text(COMMENTARY + "\nAddendum: fees were 0.1%.\n", encoding="utf-8")
    second = _json(demo, "report", "2026-07")
    assert second["ledger_seq"] > first["ledger_seq"]  # type: ignore[index]
    frozen = _json(demo, "ledger", "log", "--kind", "commentary.recorded")
    assert [e["payload"]["version"] for e in frozen] == [1, 2]  # type: ignore[index, union-attr]
    assert "Addendum: fees were 0.1%." in _text(Path(second["path"]))  # type: ignore[index]
    assert "Addendum" not in _text(Path(first["path"])), "a report keeps the commentary of its own head"  # type: ignore[index]


def test_the_traders_note_shows_in_its_month_and_a_quiet_month_says_so(demo: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _run("--home", demo, "annotate", "new", "--pre", "--symbol", "SXLK", "--thesis",
                        "Tech <growth> may re-enter next month", "--intended-entry", "250", "--exit-plan", "rule exit")
    assert code == 0, err
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-02T18:00:00Z")  # the day's close job: November's first snapshot
    code, _, err = _run("--home", demo, "daily")
    assert code == 0, err
    november = _text(Path(_json(demo, "report", "2026-11")["path"]))  # type: ignore[index]
    assert "Tech <growth> may re-enter next month. Intended entry 250. Exit: rule exit." in november
    assert "No monthly commentary is recorded for this month." in november
    quiet = _text(Path(_json(demo, "report", "2026-08")["path"]))  # type: ignore[index]
    assert "No trade annotation is recorded for this month." in quiet
    assert "Tech <growth>" not in quiet


def test_dry_run_notes_stay_out_of_the_record(demo: Path) -> None:
    from trackrecord.ledger.annotations import annotations_of_events
    from trackrecord.ledger.chain import StoredEvent
    from trackrecord.reports.annotations import annotation_rows

    notes = [e for e in _json(demo, "ledger", "log", "--kind", "annotation.added")  # type: ignore[union-attr]
             if e["payload"].get("systematic") and e["payload"]["as_of"] == "2026-07-01"]
    events = [StoredEvent(e["seq"], e["recorded_at"], e["kind"], json.dumps(e["payload"]), e["prev_hash"], e["hash"])
              for e in notes]
    dry = [StoredEvent(10**6 + i, e.recorded_at, e.kind, e.payload.replace('"mode": "paper"', '"mode": "dry_run"'),
                       "", "") for i, e in enumerate(events)]
    assert len(annotations_of_events(events + dry)) == 2 * len(events), "another mode's note is another annotation"
    from datetime import date

    assert len(annotation_rows(events + dry, date(2026, 7, 1), "SIM0001")) == len(events)
