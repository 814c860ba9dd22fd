"""Files a user names on the command line: only regular files are read or replaced.

A device or a pipe is no report, bundle or statement: ``/dev/zero`` would be read until the
machine runs out of memory, and writing a bundle "to" ``/dev/full`` through a temporary file
and a rename would replace the device node with a zip file."""

from __future__ import annotations

import stat
from pathlib import Path

from trackrecord.errors import UserError


def refuse_special_file(path: Path, label: str, expected: str) -> None:
    """``UserError`` (exit 2) when ``path`` exists and is neither a regular file nor a folder
    (the callers say themselves what is wrong with a folder or a missing file)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UserError(f"{label}: not a regular file (a device, a pipe or a socket); expected {expected}")
