"""The page template every report shares: header, footer with ids, hashes and page N of M."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, SimpleDocTemplate, Spacer

from attendance.reports.evidence import COVERS
from attendance.reports.styles import (
    BOLD,
    FONT,
    HEADER_BG,
    HEADING,
    MISSING,
    MONO_SMALL,
    MUTED,
    RULE,
    SMALL,
    esc,
    utc_stamp,
)
from attendance.reports.tables import data_table

MARGIN_X = 16 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 24 * mm
FRAME_PADDING = 6  # reportlab's default Frame padding, inside the margins


def section(title: str, need: float = 45 * mm) -> list[Flowable]:
    """A heading that starts a new page unless `need` points are left for what follows it."""
    # Not keepWithNext: that moves a long table whole to the next page when it would fit there.
    return [CondPageBreak(need), Paragraph(esc(title), HEADING)]


@dataclass(frozen=True)
class ReportContext:
    """What every page of one report prints besides its content."""

    kind: str  # student_report | session_report | attendance_sheet
    title: str
    subject: str  # who or what the report is about, for the header
    report_id: str
    generated_at: datetime
    evidence_sha256: str
    chain_head: str
    landscape: bool = False

    @property
    def pagesize(self) -> tuple[float, float]:
        """A4, turned when the content is wide."""
        return landscape(A4) if self.landscape else A4

    @property
    def frame_width(self) -> float:
        """Usable width between the margins and inside the frame's own padding, in points."""
        return self.pagesize[0] - 2 * MARGIN_X - 2 * FRAME_PADDING


def new_report_id(prefix: str, generated_at: datetime) -> str:
    """A unique, sortable report id such as STU-20250314T090211Z-5f2c9a1e."""
    return f"{prefix}-{generated_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def build_pdf(handle: BinaryIO, story: list[Flowable], ctx: ReportContext) -> int:
    """Lay the story out on A4 pages into handle; return the number of pages."""
    doc = SimpleDocTemplate(
        handle,
        pagesize=ctx.pagesize,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=f"{ctx.title}: {ctx.subject}",
        author="invigilator",
        subject=ctx.report_id,
        creator="invigilator attendance.reports",
    )
    pages: list[int] = []
    doc.build(story, canvasmaker=_numbered_canvas(ctx, pages))
    return pages[0]


def integrity_section(ctx: ReportContext, images: Sequence[tuple[str, Any]] = ()) -> list[Flowable]:
    """How to check this report: ids, hashes, what the evidence hash covers, image digests."""
    story: list[Flowable] = [
        *section("Integrity", 60 * mm),
        Paragraph(
            f"Report id <b>{esc(ctx.report_id)}</b>, generated {utc_stamp(ctx.generated_at)}.",
            SMALL,
        ),
        Paragraph(f"Evidence SHA-256: {ctx.evidence_sha256}", MONO_SMALL),
        Paragraph(f"Ledger chain head: {esc(ctx.chain_head or MISSING)}", MONO_SMALL),
        Spacer(1, 3),
        Paragraph(esc(COVERS), SMALL),
    ]
    listed = [(label, ref) for label, ref in images if ref]
    if listed:
        rows = [
            [label, str(ref["bytes"]), Paragraph(ref["sha256"], MONO_SMALL)]
            for label, ref in listed
        ]
        widths = _widths(ctx.frame_width, (0.28, 0.1, 0.62))
        story += [Spacer(1, 4), data_table(["image", "bytes", "SHA-256"], rows, widths)]
    return story


def _widths(total: float, shares: Sequence[float]) -> list[float]:
    return [total * share for share in shares]


def _numbered_canvas(ctx: ReportContext, pages: list[int]) -> type[Canvas]:
    """A canvas that holds pages back until the end so each footer can say 'of M'."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                _decorate(self, ctx, self.getPageNumber(), total)
                Canvas.showPage(self)
            pages.append(total)
            Canvas.save(self)

    return NumberedCanvas


def _decorate(canvas: Canvas, ctx: ReportContext, page: int, total: int) -> None:
    """Header (report kind, subject) and footer (ids, hashes, page N of M) on one page."""
    width, height = ctx.pagesize
    left, right = MARGIN_X, width - MARGIN_X
    canvas.saveState()
    top = height - 11 * mm
    canvas.setFont(BOLD, 8)
    canvas.setFillColor(HEADER_BG)
    canvas.drawString(left, top, f"INVIGILATOR  ·  {ctx.title.upper()}")
    canvas.setFont(FONT, 8)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(right, top, _clip(ctx.subject, FONT, 8, (right - left) * 0.5))
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(left, top - 3 * mm, right, top - 3 * mm)

    base = 9 * mm
    canvas.line(left, base + 10.5 * mm, right, base + 10.5 * mm)
    canvas.setFont(FONT, 7)
    canvas.drawString(
        left, base + 7 * mm, f"Report {ctx.report_id}  ·  generated {utc_stamp(ctx.generated_at)}"
    )
    canvas.setFont(BOLD, 7.5)
    canvas.drawRightString(right, base + 7 * mm, f"Page {page} of {total}")
    canvas.setFont("Courier", 6.5)
    canvas.drawString(left, base + 3.5 * mm, f"Evidence SHA-256  {ctx.evidence_sha256}")
    canvas.drawString(left, base, f"Ledger chain head {ctx.chain_head or MISSING}"[:110])
    canvas.restoreState()


def _clip(text: str, font: str, size: float, width: float) -> str:
    """Shorten text with an ellipsis so that it fits width points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"
