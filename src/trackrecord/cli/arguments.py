"""Command-line arguments as text: stdlib only (the kill switch's fast path uses it too)."""

from __future__ import annotations

from typing import Sequence


def undecodable_argument(argv: Sequence[str]) -> str | None:
    """The one-line error for the first argument that is not valid UTF-8 (Python hands such
    bytes over as lone surrogates, which nothing can record or hash), or None."""
    for position, argument in enumerate(argv, start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            try:  # the bytes the shell gave, as \xNN
                shown = argument.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:  # a lone surrogate of another origin, as \udNNN
                shown = argument.encode("utf-8", "backslashreplace").decode("utf-8")
            return f"argument {position} ('{shown}') is not valid UTF-8 text; nothing was written"
    return None
