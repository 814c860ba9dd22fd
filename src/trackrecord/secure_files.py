"""Workspace files that only their owner may read or change, whatever the umask.

Folders are 0700 and files 0600 (the public key 0644: anyone may check a signature, no one
else may swap the trust anchor). The mode is given at creation (``os.open``) and set again
with ``fchmod``/``chmod``, so neither a loose umask (000) nor a strict one changes it.
Stdlib only.

Secrets come from the environment or, as Docker secrets and systemd credentials give them,
from a file: ``$NAME_FILE`` names a file holding the value of ``$NAME`` (:func:`secret_from_env`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from trackrecord.errors import UserError

FOLDER_MODE = 0o700
FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def make_private_folder(path: Path) -> None:
    """Create ``path`` and any missing parents, each 0700 (existing ones are left as they are)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)


def write_new_file(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Create ``path`` with exactly ``mode`` and write ``data``; never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 if it does not exist yet (before SQLite or a log
    handler creates it with their own looser modes; SQLite gives its -wal and -shm files
    the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def secret_from_env(name: str, environ: Mapping[str, str]) -> str | None:
    """``$name``, or the contents of the file ``$name_FILE`` names (one trailing newline
    dropped, as ``$(cat FILE)`` would); None when neither is set. Both set is refused
    (UserError, exit 2): which one holds the secret would be a guess. A file that cannot be
    read, or is empty, is refused too, naming the variable and the file."""
    value = environ.get(name) or None
    file_var = f"{name}_FILE"
    file_name = environ.get(file_var) or None
    if file_name is None:
        return value
    if value is not None:
        raise UserError(f"${name} and ${file_var} are both set: set only one (${file_var} names a file holding "
                        "the secret)")
    try:
        text = Path(file_name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UserError(f"${file_var}={file_name}: cannot read the secret file ({reason})") from None
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret.strip():
        raise UserError(f"${file_var}={file_name}: the secret file is empty")
    return secret
