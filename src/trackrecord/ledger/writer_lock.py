"""The single-writer lock of a SQLite ledger: ``flock`` on ``trackrecord.db.lock``.

Stdlib only, so the kill switch's fast path can take the same lock as the full command
line. (``filelock.FileLock`` takes this same lock on Unix; it is slower to import and to
acquire.) Where ``fcntl`` does not exist, ``filelock`` is used instead.
"""

from __future__ import annotations

import os
import time

try:
    import fcntl
except ImportError:  # Windows: the callers take ``filelock`` instead
    fcntl = None  # type: ignore[assignment]

LOCK_TIMEOUT_SECONDS = 120.0


_HELD: dict[str, tuple[int, int]] = {}  # real path -> (fd, depth): the locks this process holds


class WriterLock:
    """``flock`` on the lock file, as ``filelock.FileLock`` takes it on Unix (the file is
    left in place on release, so both lock the same inode).

    Re-entrant within a process: a second ``WriterLock`` on the same path (or the same one
    entered again) while the lock is held only counts (``flock`` on a second descriptor
    would wait for ourselves). Waits at most ``LOCK_TIMEOUT_SECONDS``, then raises
    ``TimeoutError`` naming the file. One instance may be entered again and again (a
    ledger keeps one: its real path is resolved once)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.available = fcntl is not None
        self._key = os.path.realpath(path)
        self._depth = 0  # how deep this instance is entered

    def __enter__(self) -> "WriterLock":
        key = self._key
        held = _HELD.get(key)
        if held is not None:
            _HELD[key] = (held[0], held[1] + 1)
        else:
            _HELD[key] = (self._acquire(), 1)
        self._depth += 1
        return self

    def _acquire(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # umask can only narrow it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        try:
            while True:
                time.sleep(0.02)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the ledger writer lock {self.path} is held by another process (waited "
                                           f"{LOCK_TIMEOUT_SECONDS:g} s); try again when it has finished") from None
        except BaseException:  # the timeout, or a Ctrl-C while waiting: the file is not left open
            os.close(fd)
            raise

    def __exit__(self, *exc: object) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        key = self._key
        held = _HELD.pop(key, None)
        if held is None:
            return
        fd, depth = held
        if depth > 1:
            _HELD[key] = (fd, depth - 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
