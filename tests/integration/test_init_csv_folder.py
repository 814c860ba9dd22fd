"""`init --prices csv` as a new user meets it: the configured folder exists and the output
says what to put in it; `prices update` on a folder without a file for any instrument is
refused (exit 2, nothing written) instead of reporting "nothing new" for every symbol."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def _events(root: Path) -> int:
    db = sqlite3.connect(root / "trackrecord.db")
    try:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        db.close()


def test_the_csv_folder_is_made_and_an_empty_one_is_refused(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-03T22:00:00Z")  # after the XNYS close
    root = tmp_path / "ws"
    made = cli("init", root, "--universe", "us-sectors", "--base-currency", "USD", "--prices", "csv")
    assert made.code == 0, made
    folder = root / "prices"
    assert folder.is_dir() and f"put one <SYMBOL>.csv per instrument in {folder}" in made.out

    before = _events(root)
    empty = cli("--home", root, "prices", "update")
    assert empty.code == 2, empty
    assert f"price folder {folder} holds no file for any instrument: expected one <SYMBOL>.csv each (XLK.csv" in empty.err
    assert "Traceback" not in empty.err and _events(root) == before

    (folder / "XLK.csv").write_text("date,close\n2026-06-01,250.5\n2026-06-02,251.25\n2026-06-03,252\n")
    stored = cli("--home", root, "prices", "update")
    assert stored.code == 0, stored
    assert "3 bars stored" in stored.out and _events(root) > before
