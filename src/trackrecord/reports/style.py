"""Fonts, colours and paragraph styles shared by every report page (monthly and weekly).

The fonts are Bitstream Vera, shipped inside ReportLab (``reportlab/fonts``, Bitstream
Vera licence), embedded as subsets in every PDF so the file shows the same anywhere.
"""

from __future__ import annotations

import functools

from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle

FONT, FONT_BOLD, FONT_ITALIC = "TRVera", "TRVera-Bold", "TRVera-Italic"
INK = HexColor("#202124")
MUTED = HexColor("#5F6368")
RULE = HexColor("#D0D4D9")
BAND = HexColor("#F3F5F7")
NAVY = HexColor("#1F3A5F")
LABEL_COLOURS = {"LIVE": HexColor("#1E7B45"), "IB PAPER": HexColor("#1D5FA8"), "SIMULATED": HexColor("#B26A00")}


def label_colour(label: str):  # type: ignore[no-untyped-def]
    for word, colour in LABEL_COLOURS.items():
        if label.startswith(word):
            return colour
    return NAVY


def register_fonts() -> None:
    """Register the embedded TrueType fonts once per process."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_ITALIC, "VeraIt.ttf"))
    pdfmetrics.registerFont(TTFont(FONT + "-BoldItalic", "VeraBI.ttf"))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC,
                                  boldItalic=FONT + "-BoldItalic")


def drawable(text: str) -> str:
    """``text`` with each character the embedded font has no glyph for (arrows, Greek, CJK,
    Hebrew, emoji...) written as ``[U+2191]``: the report shows that a character is there and
    which one, instead of an empty box. Tabs and line breaks stay (they are white space)."""
    if text.isascii():
        return text
    covered = _covered_code_points()
    return "".join(ch if ch in "\t\n\r" or ord(ch) in covered else f"[U+{ord(ch):04X}]" for ch in text)


@functools.lru_cache(maxsize=1)
def _covered_code_points() -> frozenset[int]:
    from reportlab.pdfbase import pdfmetrics

    register_fonts()
    faces = [pdfmetrics.getFont(name).face.charToGlyph for name in (FONT, FONT_BOLD, FONT_ITALIC)]
    return frozenset(set(faces[0]).intersection(*faces[1:]))


def styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11.5, textColor=INK, alignment=TA_LEFT)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7, leading=9, textColor=MUTED),
        "note": ParagraphStyle("note", parent=body, fontSize=7.5, leading=10, textColor=INK),
        "h1": ParagraphStyle("h1", parent=body, fontName=FONT_BOLD, fontSize=22, leading=27, textColor=NAVY),
        "h2": ParagraphStyle("h2", parent=body, fontName=FONT_BOLD, fontSize=12, leading=15, textColor=NAVY,
                             spaceBefore=8, spaceAfter=5, keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=body, fontName=FONT_BOLD, fontSize=9, leading=12, textColor=INK,
                             spaceBefore=6, spaceAfter=3, keepWithNext=1),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5),
        "label": ParagraphStyle("label", parent=body, fontName=FONT_BOLD, fontSize=30, leading=36),
    }
