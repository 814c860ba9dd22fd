"""Exceptions by what the caller should do, each with its exit code."""

from __future__ import annotations


class TrackrecordError(Exception):
    exit_code = 1


class UserError(TrackrecordError):
    """Bad input or usage: nothing was written. Exit code 2."""

    exit_code = 2


class SafetyRefusal(TrackrecordError):
    """Refused by a safety rule (kill switch, risk limit). Exit code 3."""

    exit_code = 3


class RuntimeFailure(TrackrecordError):
    """Failed at run time (broker down, network). Exit code 1."""

    exit_code = 1


INTERRUPTED = "interrupted"  # a Ctrl-C's one line where the command has nothing more to say
INTERRUPTED_EXIT = 130  # the shell's 128 + SIGINT
