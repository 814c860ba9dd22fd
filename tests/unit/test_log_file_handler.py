"""The workspace log: rotated at ``max_bytes`` as the standard handler rotates, and a log
that is no regular file neither rotated nor made private."""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
from pathlib import Path

import pytest

from trackrecord.logs import LOGGER, PrivateRotatingFileHandler, configure_logging


@pytest.fixture
def logs(tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "logs"
    folder.mkdir()
    yield folder
    configure_logging(None)


def _file_handler() -> PrivateRotatingFileHandler:
    return next(h for h in logging.getLogger(LOGGER).handlers if isinstance(h, PrivateRotatingFileHandler))


def test_the_log_rolls_over_where_the_standard_handler_does(logs: Path, tmp_path: Path) -> None:
    configure_logging(logs, "INFO", max_bytes=120, backups=3)
    _file_handler().setFormatter(logging.Formatter("%(message)s"))
    standard_dir = tmp_path / "standard"
    standard_dir.mkdir()
    standard = logging.handlers.RotatingFileHandler(standard_dir / "trackrecord.log", maxBytes=120, backupCount=3)
    standard.setFormatter(logging.Formatter("%(message)s"))
    for n in range(30):
        record = logging.LogRecord(LOGGER, logging.INFO, __file__, 1, "line %d of a rotating log", (n,), None)
        _file_handler().handle(record)
        standard.handle(record)
    standard.close()
    ours = {p.name: p.read_text() for p in logs.iterdir()}
    theirs = {p.name: p.read_text() for p in standard_dir.iterdir()}
    assert ours == theirs and len(ours) == 4


def test_a_log_that_is_no_regular_file_is_never_rotated_nor_made_private(logs: Path) -> None:
    """Run as root, making /dev/null 0600 broke every other user's processes on the machine."""
    os.symlink(os.devnull, logs / "trackrecord.log")
    mode = os.stat(os.devnull).st_mode
    try:
        configure_logging(logs, "INFO", max_bytes=10, backups=2)
        for n in range(5):
            logging.getLogger(LOGGER).warning("line %d", n)
        assert sorted(p.name for p in logs.iterdir()) == ["trackrecord.log"]
        assert (logs / "trackrecord.log").is_symlink()
        assert os.stat(os.devnull).st_mode == mode
    finally:
        configure_logging(None)
        if os.stat(os.devnull).st_mode != mode:
            os.chmod(os.devnull, stat.S_IMODE(mode))
