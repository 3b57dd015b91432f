"""Typography, colours and the text helpers every report uses (escaping, numbers, times)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
MISSING = "—"

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
HEADER_BG = colors.HexColor("#334e68")
ZEBRA = colors.HexColor("#f0f4f8")
GOOD = colors.HexColor("#1b7f4b")
BAD = colors.HexColor("#b42318")
WARN = colors.HexColor("#b54708")
NEUTRAL = colors.HexColor("#616e7c")

STATUS_COLOURS = {
    "verified": GOOD,
    "failed": BAD,
    "absent": NEUTRAL,
    "flagged": WARN,
    "alert": BAD,
    "warning": WARN,
    "info": NEUTRAL,
    "high": BAD,
    "medium": WARN,
    "low": GOOD,
    "pass": GOOD,
    "authentic": GOOD,
    "fail": BAD,
    "forged": BAD,
    "review": WARN,
}

TITLE = ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, textColor=INK)
SUBTITLE = ParagraphStyle("subtitle", fontName=FONT, fontSize=9.5, leading=13, textColor=MUTED)
HEADING = ParagraphStyle(
    "heading",
    fontName=BOLD,
    fontSize=11.5,
    leading=15,
    textColor=HEADER_BG,
    spaceBefore=12,
    spaceAfter=5,
)
SUBHEADING = ParagraphStyle(
    "subheading",
    fontName=BOLD,
    fontSize=9.5,
    leading=12,
    textColor=INK,
    spaceBefore=8,
    spaceAfter=3,
)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=INK)
SMALL = ParagraphStyle("small", fontName=FONT, fontSize=7.5, leading=9.5, textColor=MUTED)
CELL = ParagraphStyle(
    "cell", fontName=FONT, fontSize=8, leading=10, textColor=INK, alignment=TA_LEFT
)
CELL_BOLD = ParagraphStyle("cell_bold", parent=CELL, fontName=BOLD)
HEAD_CELL = ParagraphStyle("head_cell", parent=CELL, fontName=BOLD, textColor=colors.white)
CAPTION = ParagraphStyle(
    "caption", fontName=FONT, fontSize=7.5, leading=9.5, textColor=MUTED, alignment=1
)
MONO_SMALL = ParagraphStyle("mono_small", parent=SMALL, fontName="Courier", fontSize=7)

# Control characters other than tab and newline are not valid in the XML reportlab parses.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def esc(value: object) -> str:
    """User text made safe for a reportlab Paragraph: markup escaped, line breaks kept."""
    text = _CONTROL.sub("", str(value))
    return escape(text).replace("\n", "<br/>")


def para(value: object, style: ParagraphStyle = CELL) -> Paragraph:
    """A Paragraph of plain (escaped) user text."""
    return Paragraph(esc(value), style)


def coloured(value: str, style: ParagraphStyle = CELL_BOLD) -> Paragraph:
    """A status word in its colour (verified green, failed red ...); a plain dash if empty."""
    if not value or value == MISSING:
        return Paragraph(MISSING, CELL)
    colour = STATUS_COLOURS.get(value.lower(), INK)
    return Paragraph(f'<font color="{colour.hexval()}">{esc(value)}</font>', style)


def number(value: float | None, digits: int = 3) -> str:
    """A figure with fixed decimals, or a dash when it was not measured."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return f"{value:.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A percentage figure (already in percent), or a dash."""
    text = number(value, digits)
    return text if text == MISSING else f"{text} %"


def when(value: datetime | None) -> str:
    """A time to the second with its UTC offset; naive times are shown as given."""
    if value is None:
        return MISSING
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    offset = value.utcoffset()
    if offset is None:
        return text
    return f"{text} UTC" if offset == timedelta(0) else f"{text} {_offset(offset)}"


def utc_stamp(value: datetime) -> str:
    """A generation time in UTC, as the footer prints it."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
