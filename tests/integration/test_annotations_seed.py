"""`import seed` brings the older tool's annotations/<trade_id>.json and annotations/monthly/*.md
into the ledger, idempotently, without undoing what the trader recorded since."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ANNOTATION = {
    "trade_id": "T1", "created_at": "2026-01-05T09:30:00Z",
    "pre_trade": {"symbol": "sxlk", "thesis": "Technology tops the 12-1 ranking", "intended_entry": 41.2,
                  "position_size_rationale": "equal weight, a third of NAV", "exit_plan": "out when rank > 5"},
    "post_trade": {"outcome": None, "matched_expectation": None, "lesson": None},
}
REVIEWED = {**ANNOTATION, "trade_id": "T2", "pre_trade": {**ANNOTATION["pre_trade"], "symbol": "SXLE"},
            "post_trade": {"outcome": "Stopped out after a month", "matched_expectation": False,
                           "lesson": "the rule exits late in reversals"}}


def _seed(root: Path, *annotations: dict[str, object], monthly: dict[str, str] | None = None) -> Path:
    (root / "annotations/monthly").mkdir(parents=True, exist_ok=True)
    for annotation in annotations:
        (root / f"annotations/{annotation['trade_id']}.json").write_text(json.dumps(annotation), encoding="utf-8")
    for name, text in (monthly or {}).items():
        (root / f"annotations/monthly/{name}").write_text(text, encoding="utf-8")
    return root


def _count(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    return len(json.loads(cli("--home", root, "ledger", "log", "--json").out))


def _annotations(cli, root: Path) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return json.loads(cli("--home", root, "annotate", "list", "--json").out)


def test_seed_annotations_and_commentary_import_once(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(tmp_path / "old", ANNOTATION, REVIEWED, monthly={"2026-01.md": "# January\n\nRotation into tech.\n"})
    first = cli("--home", workspace, "import", "seed", seed, "--json")
    assert first.code == 0, first
    assert json.loads(first.out)["added"] == {"annotations": 2, "commentaries": 1}
    shown = {a["trade_id"]: a for a in _annotations(cli, workspace)}
    assert shown["T1"]["pre_trade"] == {"symbol": "SXLK", "thesis": "Technology tops the 12-1 ranking",
                                        "intended_entry": "41.2", "size_rationale": "equal weight, a third of NAV",
                                        "exit_plan": "out when rank > 5"}
    assert shown["T1"]["post_trade"] is None, "the older tool's empty review is no post-trade note"
    assert shown["T2"]["post_trade"]["matched_expectation"] is False
    assert shown["T1"]["author"] == "seed import" and shown["T1"]["as_of"] == "2026-01-05"
    assert shown["T1"]["provenance"]["source"] == "seed import"
    month = json.loads(cli("--home", workspace, "annotate", "list", "--month", "2026-01", "--json").out)
    assert {a["trade_id"] for a in month} == {"T1", "T2"}
    before = _count(cli, workspace)
    again = cli("--home", workspace, "import", "seed", seed, "--json")
    assert again.code == 0
    assert json.loads(again.out)["already_recorded"] == {"annotations": 2, "commentaries": 1}
    assert _count(cli, workspace) == before, "a second import adds nothing"
    assert cli("--home", workspace, "verify").code == 0


def test_a_changed_seed_file_supersedes_and_a_reimport_keeps_the_traders_edit(workspace: Path, cli,  # type: ignore[no-untyped-def]
                                                                               tmp_path: Path) -> None:
    seed = _seed(tmp_path / "old", ANNOTATION)
    assert cli("--home", workspace, "import", "seed", seed).code == 0
    [note] = _annotations(cli, workspace)
    assert cli("--home", workspace, "annotate", note["id"], "--post", "--outcome", "worked").code == 0
    before = _count(cli, workspace)
    assert cli("--home", workspace, "import", "seed", seed).code == 0
    assert _count(cli, workspace) == before
    [kept] = _annotations(cli, workspace)
    assert kept["post_trade"]["outcome"] == "worked", "re-importing the seed does not undo the trader's version"
    changed = {**ANNOTATION, "pre_trade": {**ANNOTATION["pre_trade"], "exit_plan": "out when rank > 6"}}
    _seed(seed, changed)
    result = cli("--home", workspace, "import", "seed", seed, "--json")
    assert json.loads(result.out)["added"] == {"annotation versions": 1}
    [revised] = _annotations(cli, workspace)
    assert revised["id"] == note["id"] and revised["version"] == 3
    assert revised["pre_trade"]["exit_plan"] == "out when rank > 6"


def _broken(key: str, value: object) -> dict[str, object]:
    data = json.loads(json.dumps(ANNOTATION))
    part, _, name = key.partition(".")
    if name:
        data[part][name] = value
    else:
        data[part] = value
    return data


@pytest.mark.parametrize(("content", "named"), [
    ("{not json", "malformed JSON"),
    ("[1, 2]", "expected a JSON object"),
    (_broken("trade_id", ""), "trade_id"),
    (_broken("created_at", "yesterday"), "created_at"),
    (_broken("pre_trade", None), "pre_trade"),
    (_broken("pre_trade.thesis", None), "pre_trade.thesis"),
    (_broken("pre_trade.symbol", 42), "pre_trade.symbol"),
    (_broken("pre_trade.intended_entry", "1e400"), "pre_trade.intended_entry"),
    (_broken("pre_trade.intended_entry", -1), "pre_trade.intended_entry"),
    (_broken("pre_trade.exit_plan", ["a"]), "pre_trade.exit_plan"),
    (_broken("post_trade.matched_expectation", "yes"), "post_trade.matched_expectation"),
    (_broken("post_trade", {"outcome": None, "matched_expectation": True, "lesson": None}), "post_trade.outcome"),
    (_broken("post_trade", "fine"), "post_trade"),
])
def test_a_bad_seed_annotation_names_the_file_and_key_and_writes_nothing(workspace: Path, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                          content: object, named: str) -> None:
    seed = tmp_path / "old"
    (seed / "annotations").mkdir(parents=True)
    (seed / "annotations/T1.json").write_text(content if isinstance(content, str) else json.dumps(content))
    before = _count(cli, workspace)
    result = cli("--home", workspace, "import", "seed", seed)
    assert result.code == 2, result
    assert "T1.json" in result.err and named in result.err and result.err.count("\n") == 1, result
    assert _count(cli, workspace) == before


def test_a_misnamed_commentary_file_and_a_repeated_trade_id_are_refused(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(tmp_path / "old", ANNOTATION, monthly={"January.md": "text"})
    before = _count(cli, workspace)
    result = cli("--home", workspace, "import", "seed", seed)
    assert result.code == 2 and "January.md" in result.err and "YYYY-MM.md" in result.err, result
    (seed / "annotations/monthly/January.md").unlink()
    (seed / "annotations/copy.json").write_text(json.dumps(ANNOTATION))
    result = cli("--home", workspace, "import", "seed", seed)
    assert result.code == 2 and "trade_id 'T1'" in result.err, result
    assert _count(cli, workspace) == before


def test_an_annotation_naming_no_recorded_fill_is_imported_with_a_warning(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(tmp_path / "old", ANNOTATION, REVIEWED)
    (seed / "executions").mkdir()
    (seed / "executions/2026-01-05.csv").write_text(
        "trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,commission,"
        "commission_currency\nT1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,10,41.2,41.25,,3,GBP\n", encoding="utf-8")
    result = cli("--home", workspace, "import", "seed", seed, "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["added"]["annotations"] == 2
    assert [w for w in document["warnings"] if "trade_id" in w] == [
        "1 annotation(s) name a trade_id no recorded fill has (imported as written): T2"]
