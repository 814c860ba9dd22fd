"""Command-line arguments as text: stdlib and ``ledger.plain_text`` only (the kill switch's
fast path uses it too)."""

from __future__ import annotations

from typing import Sequence

from trackrecord.ledger.plain_text import is_control


def unreadable_argument(argv: Sequence[str]) -> str | None:
    """The one-line error for the first argument that is not plain text, or None: bytes
    that are not valid UTF-8 (Python hands them over as lone surrogates, which nothing can
    record or hash), or a control character but newline and tab (an escape sequence in a
    note or a reason would be recorded, then drive the terminal of whoever lists it)."""
    for position, argument in enumerate(argv, start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            try:  # the bytes the shell gave, as \xNN
                shown = argument.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:  # a lone surrogate of another origin, as \udNNN
                shown = argument.encode("utf-8", "backslashreplace").decode("utf-8")
            return f"argument {position} ('{_escaped(shown)}') is not valid UTF-8 text; nothing was written"
        bad = next((c for c in argument if is_control(c)), None)
        if bad is not None:
            return (f"{_named(argv, position)} ('{_escaped(argument)}') holds the control character {bad!r} at "
                    f"position {argument.index(bad)}: expected plain text; nothing was written")
    return None


def _named(argv: Sequence[str], position: int) -> str:
    """The option an argument is the value of (``--note``), else its position."""
    argument, before = argv[position - 1], argv[position - 2] if position > 1 else ""
    if argument.startswith("--") and "=" in argument:
        return argument.split("=", 1)[0]
    if before.startswith("--") and "=" not in before:
        return before
    return f"argument {position}"


def _escaped(text: str) -> str:
    """``text`` with each control character (newline, tab too) as its \\xNN escape: one safe line."""
    return "".join(f"\\x{ord(c):02x}" if is_control(c) or c in "\n\t" else c for c in text)
