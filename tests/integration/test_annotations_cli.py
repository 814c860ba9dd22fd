"""`annotate new|ID|list|monthly` as a trader types them: notes are ledger events, an edit is a
new version that supersedes, bad input is one line with exit 2 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ


def _events(cli, root: Path) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def _list(cli, root: Path, *args: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "annotate", "list", "--json", *args)
    assert result.code == 0, result
    return json.loads(result.out)


def _new(cli, root: Path, *extra: str) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "annotate", "new", "--pre", "--symbol", "sxlk", "--thesis",
                 "Technology leads 12-1 momentum", "--intended-entry", "41.25", "--size-rationale", "a third of NAV",
                 "--exit-plan", "sell when it leaves the top 5", "--json", *extra)
    assert result.code == 0, result
    return int(json.loads(result.out)["id"])


@pytest.fixture
def noted(workspace: Path, cli) -> tuple[Path, int]:  # type: ignore[no-untyped-def]
    return workspace, _new(cli, workspace)


def test_a_pre_trade_note_is_a_ledger_event_with_every_field(noted: tuple[Path, int], cli) -> None:  # type: ignore[no-untyped-def]
    root, ident = noted
    event = _events(cli, root)[-2]  # the note, then the checkpoint that signed it
    assert event["kind"] == "annotation.added" and event["seq"] == ident
    assert event["payload"]["pre_trade"] == {"symbol": "SXLK", "thesis": "Technology leads 12-1 momentum",
                                             "intended_entry": "41.25", "size_rationale": "a third of NAV",
                                             "exit_plan": "sell when it leaves the top 5"}
    assert event["payload"]["author"] == "trader" and event["payload"]["post_trade"] is None
    assert _events(cli, root)[-1]["kind"] == "checkpoint.signed"
    assert cli("--home", root, "verify").code == 0


def test_a_post_trade_outcome_is_a_new_version_that_supersedes(noted: tuple[Path, int], cli) -> None:  # type: ignore[no-untyped-def]
    root, ident = noted
    result = cli("--home", root, "annotate", ident, "--post", "--outcome", "Rallied 6% in the month", "--matched",
                 "--lesson", "let the rule run")
    assert result.code == 0 and f"version 2 of annotation {ident}" in result.out, result
    [shown] = _list(cli, root)
    assert shown["id"] == ident and shown["version"] == 2 and shown["supersedes"] == ident
    assert shown["post_trade"] == {"outcome": "Rallied 6% in the month", "matched_expectation": True,
                                   "lesson": "let the rule run"}
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["versions"][0]["post_trade"] is None, "the first version stays as it was recorded"
    again = cli("--home", root, "annotate", ident, "--post", "--not-matched")
    assert again.code == 0, again
    [shown] = _list(cli, root)
    assert shown["version"] == 3 and shown["post_trade"]["matched_expectation"] is False
    assert shown["post_trade"]["outcome"] == "Rallied 6% in the month", "what is not given is kept"
    table = cli("--home", root, "annotate", "list")
    assert "SXLK" in table.out and "1 annotation(s)" in table.out


def test_a_pre_trade_edit_keeps_what_is_not_given(noted: tuple[Path, int], cli) -> None:  # type: ignore[no-untyped-def]
    root, ident = noted
    assert cli("--home", root, "annotate", ident, "--pre", "--exit-plan", "trailing stop at -8%").code == 0
    [shown] = _list(cli, root)
    assert shown["pre_trade"]["exit_plan"] == "trailing stop at -8%"
    assert shown["pre_trade"]["thesis"] == "Technology leads 12-1 momentum"
    assert shown["versions"][0]["pre_trade"]["exit_plan"] == "sell when it leaves the top 5"


def test_a_version_that_repeats_the_latest_records_nothing(noted: tuple[Path, int], cli) -> None:  # type: ignore[no-untyped-def]
    root, ident = noted
    assert cli("--home", root, "annotate", ident, "--post", "--outcome", "flat").code == 0
    before = len(_events(cli, root))
    again = cli("--home", root, "annotate", ident, "--post", "--outcome", "flat")
    assert again.code == 0 and "nothing recorded" in again.out, again
    assert len(_events(cli, root)) == before


def test_list_by_month_shows_the_notes_of_that_month(noted: tuple[Path, int], cli) -> None:  # type: ignore[no-untyped-def]
    root, ident = noted
    [shown] = _list(cli, root)
    month = str(shown["as_of"])[:7]
    assert [a["id"] for a in _list(cli, root, "--month", month)] == [ident]
    assert _list(cli, root, "--month", "2001-01") == []


def test_monthly_commentary_is_frozen_by_its_content(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    text = "# January 2026\n\nThe book rotated out of energy; the rule held through a 4% drawdown.\n"
    (workspace / "annotations/monthly/2026-01.md").write_text(text, encoding="utf-8")
    first = cli("--home", workspace, "annotate", "monthly", "2026-01", "--json")
    assert first.code == 0, first
    frozen = json.loads(first.out)
    assert frozen["written"] is True and frozen["version"] == 1
    assert frozen["source"] == "annotations/monthly/2026-01.md"
    event = next(e for e in _events(cli, workspace) if e["kind"] == "commentary.recorded")
    assert event["payload"]["text"] == text and event["payload"]["month"] == "2026-01"
    before = len(_events(cli, workspace))
    same = cli("--home", workspace, "annotate", "monthly", "2026-01")
    assert same.code == 0 and "frozen already" in same.out
    assert len(_events(cli, workspace)) == before, "the same content is not frozen twice"
    other = workspace / "elsewhere.md"
    other.write_text(text + "\nAddendum: fees were 0.1%.\n", encoding="utf-8")
    second = json.loads(cli("--home", workspace, "annotate", "monthly", "2026-01", "--file", other, "--json").out)
    assert second["version"] == 2 and second["supersedes"] == frozen["seq"]


REFUSALS = [
    (("annotate", "new", "--symbol", "SXLK", "--thesis", "x"), "--pre"),
    (("annotate", "new", "--pre", "--thesis", "x"), "--symbol"),
    (("annotate", "new", "--pre", "--symbol", "", "--thesis", "x"), "--symbol"),
    (("annotate", "new", "--pre", "--symbol", "SX LK", "--thesis", "x"), "--symbol"),
    (("annotate", "new", "--pre", "--symbol", "SXLK"), "--thesis"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "   "), "--thesis"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "a\x00b"), "--thesis"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "x" * 4001), "--thesis"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "x", "--intended-entry", "abc"), "--intended-entry"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "x", "--intended-entry", "-3"), "--intended-entry"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "x", "--intended-entry", "1e400"),
     "--intended-entry"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "x", "--intended-entry", "NaN"), "--intended-entry"),
    (("annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "x", "--order-ref", "no spaces"), "--order-ref"),
    (("annotate", "new", "--pre", "--symbol", "SXKL", "--thesis", "x"), "--symbol SXKL: not in the universe"),
    (("annotate", "NOTE", "--pre", "--symbol", "SXKL"), "--symbol SXKL: not in the universe"),
    (("annotate", "NOTE", "--post", "--lesson", "x"), "--outcome"),
    (("annotate", "NOTE"), "exactly one of --pre"),
    (("annotate", "NOTE", "--pre", "--post", "--outcome", "x"), "exactly one of --pre"),
    (("annotate", "NOTE", "--post", "--outcome", "x", "--thesis", "y"), "--thesis goes with --pre"),
    (("annotate", "NOTE", "--pre", "--lesson", "y"), "--lesson goes with --post"),
    (("annotate", "NOTE", "--pre"), "say what changes"),
    (("annotate", "NOTE", "--post", "--outcome", ""), "--outcome"),
    (("annotate", "999999", "--post", "--outcome", "x"), "no such annotation"),
    (("annotate", "abc", "--post", "--outcome", "x"), "an annotation's id"),
    (("annotate", "-5", "--post", "--outcome", "x"), ""),
    (("annotate", "list", "--month", "2026-13"), "--month"),
    (("annotate", "list", "--month", "26-01"), "--month"),
    (("annotate", "monthly", "2026-1"), "YYYY-MM"),
    (("annotate", "monthly", "2026-02"), "no such file"),
    (("annotate", "monthly", "2999-01"), "has not begun"),
]


@pytest.mark.parametrize(("args", "named"), REFUSALS, ids=[" ".join(a[1:3]) + f"-{i}" for i, (a, _) in
                                                          enumerate(REFUSALS)])
def test_bad_annotation_input_is_one_line_exit_2_and_writes_nothing(noted: tuple[Path, int], cli, args: tuple[str, ...],  # type: ignore[no-untyped-def]
                                                                      named: str) -> None:
    root, ident = noted
    args = tuple(str(ident) if a == "NOTE" else a for a in args)
    before = _events(cli, root)
    result = cli("--home", root, *args)
    assert result.code == 2, result
    assert "Traceback" not in result.err + result.out
    assert named in result.err, result
    if result.err.startswith("error: "):
        assert result.err.count("\n") == 1, result
    assert _events(cli, root) == before, "nothing written"


@pytest.mark.parametrize("content", [b"", b"  \n", b"\xff\xfe not utf-8", b"text\x00with a NUL"])
def test_a_bad_commentary_file_is_refused_and_writes_nothing(workspace: Path, cli, content: bytes) -> None:  # type: ignore[no-untyped-def]
    (workspace / "annotations/monthly/2026-01.md").write_bytes(content)
    before = _events(cli, workspace)
    result = cli("--home", workspace, "annotate", "monthly", "2026-01")
    assert result.code == 2 and result.err.startswith("error: annotations/monthly/2026-01.md")
    assert result.err.count("\n") == 1
    assert _events(cli, workspace) == before


@FUZZ
@given(symbol=st.one_of(st.sampled_from(["SXLK", "sxlk", "", "A" * 30, "BRK.B", "É"]), st.text(max_size=12)),
       thesis=st.text(max_size=200), entry=st.one_of(st.none(), st.sampled_from(["1e400", "0", "12.5", "-1", "NaN"]),
                                                     st.text(max_size=12)))
@example(symbol="SXLK", thesis="\ud800", entry=None)
def test_any_typed_note_is_recorded_or_refused_in_one_line(workspace: Path, cli, symbol: str, thesis: str,  # type: ignore[no-untyped-def]
                                                            entry: str | None) -> None:
    args = ["--home", workspace, "annotate", "new", "--pre", "--symbol", symbol, "--thesis", thesis]
    args += [] if entry is None else ["--intended-entry", entry]
    before = len(_events(cli, workspace))
    result = cli(*args)
    assert "Traceback" not in result.out + result.err
    assert result.code in (0, 2), result
    if result.code == 2:
        assert len(_events(cli, workspace)) == before
        if result.err.startswith("error: "):
            assert result.err.count("\n") == 1, result
    else:
        assert len(_events(cli, workspace)) == before + 2  # the note and its checkpoint


def test_annotations_on_postgresql(tmp_path: Path, cli, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root).code == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  url: null", f'  url: "{pg_url}"'))
    ident = _new(cli, root)
    assert cli("--home", root, "annotate", ident, "--post", "--outcome", "as planned", "--matched").code == 0
    (root / "annotations/monthly/2026-01.md").write_text("January: on plan.\n", encoding="utf-8")
    assert cli("--home", root, "annotate", "monthly", "2026-01").code == 0
    [shown] = _list(cli, root)
    assert shown["version"] == 2 and shown["post_trade"]["matched_expectation"] is True
    assert cli("--home", root, "verify").code == 0
