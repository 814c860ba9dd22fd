"""Files and secrets: the workspace is its owner's alone whatever the umask, and `config
show` never prints the database password."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Iterator

import pytest


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_workspace_folders_and_files_are_private_whatever_the_umask(tmp_path: Path, cli, umask: int) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    assert cli("--home", root, "cashflow", "add", "--date", "2024-01-02", "--amount", "10").code == 0
    assert cli("--home", root, "kill-switch", "activate", "test").code == 0
    logging.getLogger("trackrecord").warning("a line in the log file")
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        assert _mode(folder) == 0o700, folder
    files = [p for p in root.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"trackrecord.yaml", "trackrecord.db", "trackrecord.db.lock", "ledger.ed25519", "ledger.ed25519.pub",
            "trackrecord.log"} <= names
    for path in files:
        expected = 0o644 if path.name == "ledger.ed25519.pub" else 0o600
        assert _mode(path) == expected, (path, oct(_mode(path)))


def test_a_database_created_later_is_private_too(tmp_path: Path, cli, umask: int) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    elsewhere = tmp_path / "elsewhere.db"
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  url: null", f'  url: "sqlite:///{elsewhere}"', 1))
    assert cli("--home", root, "cashflow", "add", "--date", "2024-01-02", "--amount", "10").code == 0
    assert elsewhere.is_file() and _mode(elsewhere) == 0o600
    for sidecar in (tmp_path / "elsewhere.db-wal", tmp_path / "elsewhere.db-shm"):
        if sidecar.exists():
            assert _mode(sidecar) == 0o600, sidecar


def test_a_rotated_log_file_is_private(tmp_path: Path, umask: int) -> None:
    from trackrecord.logs import configure_logging

    logs = tmp_path / "logs"
    logs.mkdir()
    configure_logging(logs, "INFO", max_bytes=200, backups=2)
    for n in range(20):
        logging.getLogger("trackrecord").warning("line %d of a log that rotates", n)
    rotated = sorted(logs.iterdir())
    assert len(rotated) == 3
    assert all(_mode(p) == 0o600 for p in rotated), [(p.name, oct(_mode(p))) for p in rotated]
    configure_logging(None)


def test_config_show_masks_the_database_password(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = workspace / "trackrecord.yaml"
    url = "postgresql+psycopg://trader:s3cret-pw@db.example:5432/trackrecord"
    config.write_text(config.read_text().replace("  url: null", f'  url: "{url}"', 1))
    text = cli("--home", workspace, "config", "show")
    as_json = cli("--home", workspace, "config", "show", "--json")
    assert text.code == 0 and as_json.code == 0, (text, as_json)
    assert "s3cret-pw" not in text.out and "s3cret-pw" not in as_json.out
    assert json.loads(as_json.out)["database"]["url"] == "postgresql+psycopg://trader:***@db.example:5432/trackrecord"
    assert "trader:***@db.example" in text.out
