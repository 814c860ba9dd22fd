"""Workspaces: a folder holding trackrecord.yaml, its database, keys and outputs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from trackrecord.config import CONFIG_FILE, Settings, load_settings
from trackrecord.errors import UserError
from trackrecord.ledger.signing import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE

HOME_ENV = "TRACKRECORD_HOME"
DB_FILE = "trackrecord.db"
FOLDERS = ("keys", "reports/monthly", "reports/weekly", "exports", "logs", "annotations/monthly")


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: Settings

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def key_dir(self) -> Path:
        return self.root / "keys"

    @property
    def private_key_path(self) -> Path:
        """The signing key: ``signing.key_file`` (relative to the workspace), else in keys/."""
        configured = self.settings.signing.key_file
        return self.root / Path(configured).expanduser() if configured else self.key_dir / PRIVATE_KEY_FILE

    @property
    def public_key_path(self) -> Path:
        """The trust anchor verify checks signatures against: always in keys/."""
        return self.key_dir / PUBLIC_KEY_FILE

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def database_url(self) -> str:
        return self.settings.database.url or f"sqlite:///{self.root / DB_FILE}"

    @property
    def writer_lock_path(self) -> Path | None:
        """SQLite gets a file lock beside the database; servers use their own locks."""
        return self.root / f"{DB_FILE}.lock" if self.database_url.startswith("sqlite") else None


def locate(home: Path | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """``--home``, then ``$TRACKRECORD_HOME``, then the current folder."""
    if home is not None:
        where, how = home, "--home"
    elif environ.get(HOME_ENV):
        where, how = Path(environ[HOME_ENV]), f"${HOME_ENV}"
    else:
        where, how = cwd, "the current folder"
    where = where.expanduser().resolve()
    if not (where / CONFIG_FILE).is_file():
        raise UserError(
            f"no trackrecord workspace at {where} (from {how}): {CONFIG_FILE} not found; "
            "create one with `trackrecord init DIR` or point --home at one"
        )
    return where


def open_workspace(home: Path | None = None, environ: Mapping[str, str] | None = None) -> Workspace:
    root = locate(home, os.environ if environ is None else environ, Path.cwd())
    return Workspace(root, load_settings(root / CONFIG_FILE))
