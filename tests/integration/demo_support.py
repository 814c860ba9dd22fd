"""A demo workspace made once per test module at a fixed clock, and a copy of it per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trackrecord.cli.app import run


def make_demo(tmp_path_factory: pytest.TempPathFactory, name: str, now: str, seed: int) -> Path:
    """`trackrecord demo --years 1 --seed SEED` with the clock at ``now`` (TRACKRECORD_NOW,
    restored after)."""
    root = tmp_path_factory.mktemp(name) / "demo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKRECORD_NOW", now)
        assert run(["demo", str(root), "--years", "1", "--seed", str(seed)]) == 0
    return root


def copy_demo(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, now: str) -> Path:
    """A test's own copy of ``template``, the clock at ``now`` for the test."""
    root = tmp_path / "demo"
    shutil.copytree(template, root)
    monkeypatch.setenv("TRACKRECORD_NOW", now)
    return root


def import_a_pence_bar(cli, home: Path, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Correct SXLK's close of 2026-10-15 to 300 (pence typed for pounds, a 3 GBP bar): the
    next rebalance's signal fails its daily-move gate."""
    folder.mkdir()
    (folder / "SXLK.csv").write_text("date,close,adj_close\n2026-10-15,300,300\n")
    assert cli("--home", home, "prices", "import", folder, "--replace").code == 0
