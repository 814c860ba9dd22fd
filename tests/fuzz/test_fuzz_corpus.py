"""The fixed corpus (tests/fuzz/corpus/<entry point>/ok-* or bad-*): every file a hostile or
tricky input met before, replayed through the CLI. ``ok-`` exits 0, ``bad-`` exits 2 with one
line, and nothing is written on a refusal. Two large cases are generated here rather than kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fuzz.conftest import run_checked

CORPUS = Path(__file__).with_name("corpus")
IMPORTS = {"cashflows": "cashflows", "snapshots": "snapshots", "fills": "fills"}


def _cases(entry: str) -> list[Path]:
    return sorted(p for p in (CORPUS / entry).iterdir() if p.name.startswith(("ok-", "bad-")))


def _expected(path: Path) -> int:
    return 0 if path.name.startswith("ok-") else 2


def _assert_outcome(result, path: Path) -> None:  # type: ignore[no-untyped-def]
    assert result.code == _expected(path), (path.name, result)
    if result.code == 2:
        assert result.err.startswith("error: ") and result.err.count("\n") == 1, (path.name, result)


@pytest.mark.parametrize("path", [p for e in IMPORTS for p in _cases(e)], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_csv_import_corpus(paper: Path, cli, path: Path) -> None:  # type: ignore[no-untyped-def]
    _assert_outcome(run_checked(cli, paper, "import", IMPORTS[path.parent.name], path), path)


@pytest.mark.parametrize("path", _cases("seed"), ids=lambda p: p.name)
def test_seed_folder_corpus(paper: Path, cli, path: Path) -> None:  # type: ignore[no-untyped-def]
    _assert_outcome(run_checked(cli, paper, "import", "seed", path), path)


@pytest.mark.parametrize("path", _cases("prices"), ids=lambda p: p.name)
def test_prices_import_corpus(paper: Path, cli, tmp_path: Path, path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "prices"
    folder.mkdir()
    shutil.copy(path, folder / "SXLK.L.csv")
    _assert_outcome(run_checked(cli, paper, "prices", "import", folder), path)


@pytest.mark.parametrize("path", _cases("yaml"), ids=lambda p: p.name)
def test_trackrecord_yaml_corpus(paper: Path, cli, path: Path) -> None:  # type: ignore[no-untyped-def]
    (paper / "trackrecord.yaml").write_bytes(path.read_bytes())
    _assert_outcome(run_checked(cli, paper, "config", "check"), path)
    if _expected(path) == 2:
        _assert_outcome(run_checked(cli, paper, "signal"), path)  # every command that loads it refuses it


def test_generated_131kb_note_and_deeply_nested_seed_json(paper: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    note = tmp_path / "bad-note-131kb.csv"
    note.write_text("date,amount,note\n2026-01-05,100," + "x" * 131_073 + "\n")
    _assert_outcome(run_checked(cli, paper, "import", "cashflows", note), note)
    seed = tmp_path / "bad-nested"
    (seed / "snapshots").mkdir(parents=True)
    (seed / "snapshots" / "2026-01-05.json").write_text("[" * 100_000 + "]" * 100_000)
    _assert_outcome(run_checked(cli, paper, "import", "seed", seed), seed)
