"""Free text the ledger holds (notes, reasons, annotations) is plain text: no control
character (C0 but newline and tab, DEL, C1), valid Unicode. Such text is shown back on
terminals, in PDFs and on the dashboard; an escape sequence in a note would drive the
reader's terminal (a title change, a hidden line) instead of being read. It imports nothing
but ``trackrecord.errors``: the kill switch's fast path checks its arguments with it."""

from __future__ import annotations

from trackrecord.errors import UserError

ALLOWED_CONTROLS = frozenset("\n\t")


def is_control(c: str) -> bool:
    """A control character but newline and tab: C0, DEL and C1 (0x9B is a terminal's CSI)."""
    return (ord(c) < 32 and c not in ALLOWED_CONTROLS) or 0x7F <= ord(c) < 0xA0


def refuse_control_characters(text: str, where: str) -> str:
    """``text`` as it is, or ``UserError`` naming ``where`` and the first character that is
    a control character (``is_control``) or a lone surrogate."""
    bad = next((c for c in text if is_control(c) or 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is not None:
        raise UserError(f"{where}: control or undecodable character {bad!r} at position {text.index(bad)}; "
                        "expected plain text")
    return text
