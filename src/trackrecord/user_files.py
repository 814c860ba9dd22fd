"""Files a user names on the command line: only regular files are read or replaced.

A device or a pipe is no report, bundle or statement: ``/dev/zero`` would be read until the
machine runs out of memory, and writing a bundle "to" ``/dev/full`` through a temporary file
and a rename would replace the device node with a zip file."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from trackrecord.errors import RuntimeFailure, UserError
from trackrecord.secure_files import make_private_folder


def refuse_special_file(path: Path, label: str, expected: str) -> None:
    """``UserError`` (exit 2) when ``path`` exists and is neither a regular file nor a folder
    (the callers say themselves what is wrong with a folder or a missing file)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UserError(f"{label}: not a regular file (a device, a pipe or a socket); expected {expected}")


def partial_path(path: Path) -> Path:
    """Where a whole-or-nothing write of ``path`` is made before it is renamed into place."""
    return path.with_name(f".{path.name}.partial")


def refuse_unwritable(path: Path, label: str) -> None:
    """``UserError`` (exit 2) unless a file can be made beside ``path``: a read-only or
    virtual file system (``/proc``), no permission. Tried with the name the write will use,
    removed at once, so that nothing is recorded for a file that could never be written."""
    probe = partial_path(path)
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{label}: cannot write there ({exc.strerror or exc}); nothing was written") from None


def write_whole(path: Path, data: bytes) -> None:
    """``data`` as ``path``, whole or not at all: written beside it, then renamed over it.
    A write that fails after ``refuse_unwritable`` passed (a full disk) is a run-time
    failure, its half-written file removed."""
    partial = partial_path(path)
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise RuntimeFailure(f"{path}: could not write it ({exc.strerror or exc})") from None


def make_named_folder(path: Path, label: str) -> None:
    """``make_private_folder`` for a folder the user named: one that cannot be made (a
    read-only or virtual file system, no permission) is refused in one line."""
    try:
        make_private_folder(path)
    except OSError as exc:
        raise UserError(f"{label}: cannot make the folder ({exc.strerror or exc}); nothing was written") from None
