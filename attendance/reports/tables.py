"""Tables in the reports' one look: a dark header row, zebra rows, thin rules."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from attendance.reports.styles import (
    BOLD,
    CELL,
    FONT,
    HEAD_CELL,
    HEADER_BG,
    INK,
    MUTED,
    RULE,
    ZEBRA,
    para,
)

Cell = Flowable | str


def data_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    widths: Sequence[float],
    *,
    repeat_header: bool = True,
) -> Table:
    """A table of records: header repeated on every page, alternate rows shaded."""
    head = [Paragraph(text, HEAD_CELL) for text in header]
    body = [[_cell(value) for value in row] for row in rows]
    # splitInRow: one very long note or detail must flow on to the next page, not fail the build.
    table = Table(
        [head, *body], colWidths=list(widths), repeatRows=1 if repeat_header else 0, splitInRow=1
    )
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    style += [("BACKGROUND", (0, i), (-1, i), ZEBRA) for i in range(2, len(body) + 1, 2)]
    table.setStyle(TableStyle(style))
    table.hAlign = "LEFT"
    return table


def facts_table(pairs: Sequence[tuple[str, Cell]], widths: Sequence[float]) -> Table:
    """Label / value pairs laid out in two columns of pairs to save height."""
    rows: list[list[Cell]] = []
    for i in range(0, len(pairs), 2):
        row: list[Cell] = []
        for label, value in pairs[i : i + 2]:
            row += [label, _cell(value)]
        rows.append(row + [""] * (4 - len(row)))
    table = Table(rows, colWidths=list(widths), splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8),
                ("FONT", (0, 0), (0, -1), BOLD, 8),
                ("FONT", (2, 0), (2, -1), BOLD, 8),
                ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
                ("TEXTCOLOR", (2, 0), (2, -1), MUTED),
                ("TEXTCOLOR", (1, 0), (1, -1), INK),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _cell(value: Cell) -> Cell:
    """Strings become wrapping, escaped Paragraphs; flowables pass through."""
    return para(value, CELL) if isinstance(value, str) else value
