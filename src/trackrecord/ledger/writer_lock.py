"""The single-writer lock of a SQLite ledger: ``flock`` on ``trackrecord.db.lock``.

Stdlib only, so the kill switch's fast path can take the same lock as the full command
line. (``filelock.FileLock`` takes this same lock on Unix; it is slower to import and to
acquire.) Where ``fcntl`` does not exist, ``filelock`` is used instead.
"""

from __future__ import annotations

import os
import time

LOCK_TIMEOUT_SECONDS = 120.0


_HELD: dict[str, tuple[int, int]] = {}  # path -> (fd, depth): the locks this process holds


class WriterLock:
    """``flock`` on the lock file, as ``filelock.FileLock`` takes it on Unix (the file is
    left in place on release, so both lock the same inode).

    Re-entrant within a process: a second ``WriterLock`` on the same path while the first
    is held only counts (``flock`` on a second descriptor would wait for ourselves). Waits
    at most ``LOCK_TIMEOUT_SECONDS``, then raises ``TimeoutError`` naming the file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        try:
            import fcntl  # noqa: F401
        except ImportError:
            self.available = False
        else:
            self.available = True

    def __enter__(self) -> "WriterLock":
        import fcntl

        key = os.path.realpath(self.path)
        if key in _HELD:
            fd, depth = _HELD[key]
            _HELD[key] = (fd, depth + 1)
            self.fd = fd
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # umask can only narrow it
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise TimeoutError(f"the ledger writer lock {self.path} is held by another process "
                                       f"(waited {LOCK_TIMEOUT_SECONDS:g} s); try again when it has finished") from None
                time.sleep(0.02)
        _HELD[key] = (fd, 1)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        if self.fd is None:
            return
        key = os.path.realpath(self.path)
        fd, depth = _HELD.pop(key, (self.fd, 1))
        if depth > 1:
            _HELD[key] = (fd, depth - 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self.fd = None
