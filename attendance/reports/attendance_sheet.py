"""The printable attendance sheet of one or more ledger days: table, totals, chain head."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.platypus import Flowable, Paragraph, Spacer

from attendance.reports.common import ReportContext, integrity_section, section
from attendance.reports.evidence import evidence_of
from attendance.reports.model import AttendanceSheetData, ReportInfo
from attendance.reports.output import new_context, publish
from attendance.reports.styles import BODY, MISSING, MONO_SMALL, SUBTITLE, TITLE, esc
from attendance.reports.tables import data_table, facts_table

KIND = "attendance_sheet"
MANUAL = "manual"


def write_attendance_sheet(
    data: AttendanceSheetData,
    path: Path,
    *,
    report_id: str | None = None,
    now: datetime | None = None,
) -> ReportInfo:
    """Write the attendance sheet PDF (landscape A4) and its JSON sidecar atomically."""
    evidence = evidence_of(KIND, data)
    ctx = new_context(
        KIND,
        "ATT",
        "Attendance sheet",
        _days(data),
        evidence,
        data.chain_head,
        report_id,
        now,
        wide=True,
    )
    return publish(path, ctx, _story(data, ctx), evidence, figures(data))


def totals(data: AttendanceSheetData) -> dict[str, Any]:
    """Counts derived from the rows themselves, so that they cannot disagree with the table."""
    per_session = Counter(row.session for row in data.rows)
    manual = sum(1 for row in data.rows if row.method == MANUAL)
    return {
        "rows": len(data.rows),
        "students": len({row.roll_no for row in data.rows}),
        "sessions": len(per_session),
        "verified": len(data.rows) - manual,
        "manual": manual,
        "per_session": dict(sorted(per_session.items())),
    }


def figures(data: AttendanceSheetData) -> dict[str, Any]:
    """The sheet's figures as plain values, for the sidecar."""
    return {
        "first_day": data.first_day,
        "last_day": data.last_day,
        "timezone": data.timezone,
        "totals": totals(data),
        "chain_head": data.chain_head,
    }


def _days(data: AttendanceSheetData) -> str:
    if data.first_day == data.last_day:
        return f"{data.first_day.isoformat()} ({data.timezone})"
    return f"{data.first_day.isoformat()} to {data.last_day.isoformat()} ({data.timezone})"


def _story(data: AttendanceSheetData, ctx: ReportContext) -> list[Flowable]:
    width = ctx.frame_width
    counts = totals(data)
    summary = [
        ("Rows", str(counts["rows"])),
        ("Students", str(counts["students"])),
        ("Verified live", str(counts["verified"])),
        ("Recorded by hand", str(counts["manual"])),
        ("Sessions", str(counts["sessions"])),
        ("Day follows", data.timezone),
    ]
    story: list[Flowable] = [
        Paragraph("Attendance sheet", TITLE),
        Paragraph(esc(_days(data)), SUBTITLE),
        *section("Totals"),
        facts_table(summary, [0.15 * width, 0.35 * width, 0.15 * width, 0.35 * width]),
        Spacer(1, 4),
        Paragraph(f"Ledger chain head: {esc(data.chain_head or MISSING)}", MONO_SMALL),
        *section("Attendance"),
    ]
    if data.rows:
        rows = [
            [
                str(i),
                r.timestamp,
                r.session,
                r.roll_no,
                r.name,
                r.method,
                r.match_distance or MISSING,
                r.id_check or MISSING,
                r.recorded_by or MISSING,
                r.reason or MISSING,
            ]
            for i, r in enumerate(data.rows, start=1)
        ]
        header = [
            "#",
            "timestamp",
            "session",
            "roll no",
            "name",
            "method",
            "distance",
            "ID check",
            "recorded by",
            "reason",
        ]
        shares = (0.035, 0.155, 0.125, 0.075, 0.15, 0.11, 0.07, 0.07, 0.09, 0.12)
        story.append(data_table(header, rows, [s * width for s in shares]))
    else:
        story.append(Paragraph("No attendance was recorded on these days.", BODY))
    if counts["per_session"]:
        story += [
            *section("Per session"),
            data_table(
                ["session", "rows"],
                [[name, str(n)] for name, n in counts["per_session"].items()],
                [0.4 * width, 0.12 * width],
            ),
        ]
    return story + integrity_section(ctx)
