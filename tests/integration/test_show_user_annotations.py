"""`annotate new` with the text a trader really types (long, in any script) and the monthly
report that prints it: the report is always written, and shows every character it cannot draw
by its code point instead of an empty box."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.demo_support import copy_demo, make_demo

pypdf = pytest.importorskip("pypdf")

NOW = "2026-11-02T12:00:00Z"
IN_OCTOBER = "2026-10-15T12:00:00Z"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory, "show-annotations", NOW, 6)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_demo(demo_template, tmp_path, monkeypatch, NOW)


def _text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages).split())


def _annotate(cli, demo: Path, monkeypatch: pytest.MonkeyPatch, thesis: str, exit_plan: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKRECORD_NOW", IN_OCTOBER)
    result = cli("--home", demo, "annotate", "new", "--pre", "--symbol", "SXLE", "--thesis", thesis,
                 "--exit-plan", exit_plan)
    assert result.code == 0, result
    monkeypatch.setenv("TRACKRECORD_NOW", NOW)


def test_a_note_as_long_as_allowed_does_not_break_the_monthly_report(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """4,000 characters is the limit `annotate` accepts; the report of the month used to raise
    reportlab's LayoutError (a table row taller than a page), for that month, forever."""
    _annotate(cli, demo, monkeypatch, "日本" * 2000, "x " * 1999 + "x")
    made = cli("--home", demo, "report", "2026-10", "--json")
    assert made.code == 0, made
    document = json.loads(made.out)
    assert "Traceback" not in made.err
    assert cli("--home", demo, "report", "verify", document["path"]).code == 0
    assert "[U+65E5][U+672C]" in _text(Path(document["path"])).replace(" ", "")


def test_characters_the_font_cannot_draw_are_shown_by_code_point(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _annotate(cli, demo, monkeypatch, "Ölpreis ↑ — Ελλάδα ≈0.3% 🚀", "≥5% stop → exit")
    assert cli("--home", demo, "report", "2026-10").code == 0
    text = _text(demo / "reports" / "monthly" / "2026-10.pdf")
    packed = text.replace(" ", "")  # a table cell wraps the codes anywhere
    assert "Ölpreis[U+2191]—[U+0395][U+03BB][U+03BB][U+03AC][U+03B4][U+03B1]≈0.3%[U+1F680]" in packed
    assert "Exit:≥5%stop[U+2192]exit." in packed
    assert "shown by their code point" in text and "the ledger holds the text as typed" in text
    notes = json.loads(cli("--home", demo, "annotate", "list", "--month", "2026-10", "--json").out)
    assert any(n.get("thesis") == "Ölpreis ↑ — Ελλάδα ≈0.3% 🚀" or "Ölpreis ↑" in json.dumps(n, ensure_ascii=False)
               for n in notes), "the ledger keeps the text as typed"


def test_a_month_whose_notes_all_draw_says_nothing_about_code_points(cli, demo: Path,  # type: ignore[no-untyped-def]
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _annotate(cli, demo, monkeypatch, "Energy — Ölpreis ≈ £92 (≥5% stop)", "rule exit")
    assert cli("--home", demo, "report", "2026-10").code == 0
    text = _text(demo / "reports" / "monthly" / "2026-10.pdf")
    assert "Energy — Ölpreis ≈ £92 (≥5% stop)" in text and "[U+" not in text and "code point" not in text
