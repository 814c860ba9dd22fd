"""Crash points: where a test may kill the process (SIGKILL) to prove a rerun is safe.

Two switches, both set only by the crash tests; nothing happens otherwise:

- ``TRACKRECORD_CRASH_AT`` names a point in the engine (e.g. ``after_place:1``: after the
  first order was placed);
- ``TRACKRECORD_CRASH_AFTER_COMMIT=N`` kills the process right after its N-th commit, in
  whichever writer made it: the ledger's (``ledger.store``), the simulated broker's book
  (``brokers.sim.store``) or the kill switch's fast path (``ledger.kill_switch_sqlite``).
  The crash matrix walks N = 1, 2, ... over every writing command.

Standard library only: the fast path imports it.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "TRACKRECORD_CRASH_AT"
CRASH_AFTER_COMMIT_ENV = "TRACKRECORD_CRASH_AFTER_COMMIT"

_commits = 0


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def after_commit() -> None:
    """Count a commit of this process; SIGKILL at the one ``TRACKRECORD_CRASH_AFTER_COMMIT`` names."""
    global _commits
    target = os.environ.get(CRASH_AFTER_COMMIT_ENV)
    if not target:
        return
    _commits += 1
    if str(_commits) == target.strip():
        os.kill(os.getpid(), signal.SIGKILL)
