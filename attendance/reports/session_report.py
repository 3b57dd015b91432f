"""The session audit report: totals, roster with status, each student's flags, reviewer notes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from attendance.reports.charts import flag_strip
from attendance.reports.common import ReportContext, integrity_section, section
from attendance.reports.evidence import evidence_of
from attendance.reports.model import ReportInfo, RosterRow, SessionReportData
from attendance.reports.output import new_context, publish
from attendance.reports.styles import (
    BODY,
    MISSING,
    SMALL,
    SUBHEADING,
    SUBTITLE,
    TITLE,
    coloured,
    esc,
    number,
    para,
    when,
)
from attendance.reports.tables import data_table, facts_table

KIND = "session_report"
STATUSES = ("verified", "flagged", "failed", "absent")


def write_session_report(
    data: SessionReportData,
    path: Path,
    *,
    report_id: str | None = None,
    now: datetime | None = None,
) -> ReportInfo:
    """Write the session audit PDF and its JSON sidecar atomically."""
    evidence = evidence_of(KIND, data)
    subject = f"{data.session.name} ({data.session.id})"
    ctx = new_context(
        KIND, "SES", "Session audit report", subject, evidence, data.chain_head, report_id, now
    )
    return publish(path, ctx, _story(data, ctx), evidence, figures(data))


def totals(data: SessionReportData) -> dict[str, int]:
    """Students per status (every status seen, the usual four always), flags and attendance."""
    counts = Counter(row.status.lower() for row in data.roster)
    result = {status: counts.get(status, 0) for status in STATUSES}
    result.update({status: n for status, n in counts.items() if status not in result})
    result["enrolled"] = len(data.roster)
    result["attended"] = len(data.roster) - counts.get("absent", 0)
    result["flags"] = sum(row.flag_count for row in data.roster)
    return result


def figures(data: SessionReportData) -> dict[str, Any]:
    """The report's figures as plain values, for the sidecar."""
    return {
        "session_id": data.session.id,
        "session_name": data.session.name,
        "totals": totals(data),
        "roster": [
            {
                "roll_no": row.roll_no,
                "name": row.name,
                "status": row.status,
                "verified_at": row.verified_at,
                "match_distance": row.match_distance,
                "flags": row.flag_count,
                "review_priority": row.review_priority,
            }
            for row in data.roster
        ],
        "reviewer_notes": len(data.reviewer_notes),
    }


def _story(data: SessionReportData, ctx: ReportContext) -> list[Flowable]:
    width = ctx.frame_width
    session = data.session
    counts = totals(data)
    summary = [
        ("Enrolled", str(counts["enrolled"])),
        ("Attended", str(counts["attended"])),
        *[
            (status.capitalize(), str(n))
            for status, n in counts.items()
            if status not in ("enrolled", "attended", "flags")
        ],
        ("Flags raised", str(counts["flags"])),
    ]
    return [
        Paragraph(esc(session.name), TITLE),
        Paragraph(
            f"Session {esc(session.id)}  ·  {when(session.start)} to {when(session.end)}",
            SUBTITLE,
        ),
        *section("Attendance totals"),
        facts_table(summary, [0.17 * width, 0.33 * width, 0.17 * width, 0.33 * width]),
        *section("Roster"),
        _roster(data.roster, width),
        *_flag_timelines(data, width),
        *_notes(data, width),
        *integrity_section(ctx),
    ]


def _roster(roster: list[RosterRow], width: float) -> Flowable:
    if not roster:
        return Paragraph("The roster is empty.", BODY)
    rows = [
        [
            str(i),
            row.roll_no,
            row.name,
            coloured(row.status or MISSING),
            when(row.verified_at),
            number(row.match_distance),
            str(row.flag_count),
            coloured(row.review_priority or MISSING),
        ]
        for i, row in enumerate(roster, start=1)
    ]
    header = ["#", "roll no", "name", "status", "verified at", "distance", "flags", "review"]
    shares = (0.04, 0.1, 0.25, 0.1, 0.23, 0.09, 0.07, 0.12)
    return data_table(header, rows, [s * width for s in shares])


def _flag_timelines(data: SessionReportData, width: float) -> list[Flowable]:
    story: list[Flowable] = section("Flag timelines")
    flagged = [row for row in data.roster if row.events]
    if not flagged:
        story.append(Paragraph("No student was flagged.", BODY))
    for row in flagged:
        heading = (
            f"{esc(row.roll_no)}  ·  {esc(row.name)}  —  {row.flag_count} flag"
            f"{'' if row.flag_count == 1 else 's'}, review priority "
            f"{esc(row.review_priority or 'none')}"
        )
        events = [
            [when(e.time), e.kind, coloured(e.severity or MISSING), e.detail or MISSING]
            for e in row.events
        ]
        table = data_table(
            ["time", "kind", "severity", "detail"],
            events,
            [0.22 * width, 0.2 * width, 0.12 * width, 0.46 * width],
        )
        strip = flag_strip(row.events, data.session.start, data.session.end, width)
        story.append(KeepTogether([Paragraph(heading, SUBHEADING), strip, Spacer(1, 2), table]))
    quiet = [row.roll_no for row in data.roster if not row.events]
    if quiet and flagged:
        story += [Spacer(1, 6), Paragraph(f"No flags: {esc(', '.join(quiet))}.", SMALL)]
    return story


def _notes(data: SessionReportData, width: float) -> list[Flowable]:
    story: list[Flowable] = section("Reviewer notes")
    if not data.reviewer_notes:
        return [*story, Paragraph("No reviewer notes.", BODY)]
    rows = [
        [when(n.time), n.author, n.roll_no or "session", para(n.text)] for n in data.reviewer_notes
    ]
    return [
        *story,
        data_table(
            ["time", "author", "about", "note"],
            rows,
            [0.23 * width, 0.15 * width, 0.12 * width, 0.5 * width],
        ),
    ]
