"""Crash points: where a test may kill the process (SIGKILL) to prove a rerun is safe.

Set ``TRACKRECORD_CRASH_AT`` to a point's name (e.g. ``after_place:1``: after the first
order was placed); nothing happens otherwise. Only the crash tests set it.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "TRACKRECORD_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
