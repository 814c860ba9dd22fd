"""One logging set-up: a rotating file in the workspace and Rich on the console (stderr)."""

from __future__ import annotations

import logging
import os
import stat
from logging.handlers import RotatingFileHandler
from pathlib import Path

from trackrecord.secure_files import FILE_MODE

LOGGER = "trackrecord"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose every file (the first and each after a rollover) is 0600:
    logs name accounts, amounts and orders. A log that is not a regular file (pointed at
    ``/dev/null`` or a pipe) keeps that file's own mode and is never rolled over
    (bpo-45401, which the standard handler mends only from Python 3.11)."""

    _regular = True

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        self._regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if self._regular:
            os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, self.mode if "a" in self.mode else "a", encoding=self.encoding, errors=self.errors)

    def shouldRollover(self, record: logging.LogRecord) -> int:
        if self.stream is None:  # opened here, so that ``_regular`` describes the file about to be written
            self.stream = self._open()
        return int(self._regular and super().shouldRollover(record))


class _ConsoleHandler(logging.Handler):
    """Rich on stderr, imported when the first record reaches the console: most commands
    log nothing there, and Rich costs every start-up 15-20 ms."""

    def __init__(self) -> None:
        super().__init__()
        self._rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._rich is None:
            from rich.console import Console
            from rich.logging import RichHandler

            self._rich = RichHandler(console=Console(stderr=True), show_time=False, show_path=False, markup=False)
        self._rich.handle(record)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.close()
        super().close()


def configure_logging(log_dir: Path | None, level: str = "INFO", verbose: bool = False, quiet: bool = False,
                      max_bytes: int = 5_000_000, backups: int = 5) -> None:
    root = logging.getLogger(LOGGER)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG)
    root.propagate = False
    console = _ConsoleHandler()
    console.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    root.addHandler(console)
    if log_dir is not None and log_dir.is_dir():
        file_handler = PrivateRotatingFileHandler(log_dir / "trackrecord.log", maxBytes=max_bytes, backupCount=backups,
                                           encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        file_handler.setLevel(getattr(logging, level))
        root.addHandler(file_handler)
