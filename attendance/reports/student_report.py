"""The student verification report: identity, photos, liveness timeline, ID check, presence."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepInFrame,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from attendance.reports.charts import timeline_chart
from attendance.reports.common import ReportContext, integrity_section, section
from attendance.reports.evidence import evidence_of
from attendance.reports.images import picture
from attendance.reports.model import IdCheck, ReportInfo, StudentReportData
from attendance.reports.output import new_context, publish
from attendance.reports.styles import (
    BAD,
    BODY,
    BOLD,
    CAPTION,
    GOOD,
    MISSING,
    SMALL,
    SUBHEADING,
    SUBTITLE,
    TITLE,
    coloured,
    esc,
    number,
    para,
    percent,
    when,
)
from attendance.reports.tables import data_table, facts_table

KIND = "student_report"


def write_student_report(
    data: StudentReportData,
    path: Path,
    *,
    report_id: str | None = None,
    now: datetime | None = None,
) -> ReportInfo:
    """Write the student verification PDF and its JSON sidecar atomically."""
    evidence = evidence_of(KIND, data)
    subject = f"{data.student.roll_no} · {data.student.name} · {data.session.name}"
    ctx = new_context(
        KIND,
        "STU",
        "Student verification report",
        subject,
        evidence,
        data.chain_head,
        report_id,
        now,
    )
    story = _story(data, ctx, evidence["inputs"])
    return publish(path, ctx, story, evidence, figures(data))


def figures(data: StudentReportData) -> dict[str, Any]:
    """The report's figures as plain values, for the sidecar."""
    check = data.id_check
    return {
        "session_id": data.session.id,
        "roll_no": data.student.roll_no,
        "name": data.student.name,
        "verified": data.verified,
        "method": data.method,
        "match_distance": data.match_distance,
        "threshold": data.threshold,
        "attempts": data.attempts,
        "failure_reasons": list(data.failure_reasons),
        "samples": len(data.timeline),
        "prompts": [p.action for p in data.prompts],
        "detections": dict(Counter(d.kind for d in data.detections)),
        "id_check": None
        if check is None
        else {
            "ssim_score": check.ssim_score,
            "threshold": check.threshold,
            "forgery_percent": check.forgery_percent,
            "verdict": check.verdict,
            "risk_tier": check.risk_tier,
            "risk_percent": check.risk_percent,
        },
        "presence_events": dict(Counter(e.kind for e in data.presence_events)),
        "reviewer_notes": len(data.reviewer_notes),
    }


def _story(data: StudentReportData, ctx: ReportContext, inputs: dict[str, Any]) -> list[Flowable]:
    width = ctx.frame_width
    story: list[Flowable] = [
        Paragraph(esc(data.student.name), TITLE),
        Paragraph(
            f"Roll no {esc(data.student.roll_no)}  ·  session {esc(data.session.name)} "
            f"({esc(data.session.id)})",
            SUBTITLE,
        ),
        Spacer(1, 6),
        _outcome(data, width),
        Spacer(1, 6),
        facts_table(_facts(data), [0.17 * width, 0.33 * width, 0.17 * width, 0.33 * width]),
        *section("Photos", 75 * mm),
        _photo_row(data, width),
        *_liveness(data, width),
        *_id_check(data.id_check, width),
        *_presence(data, width),
        *_notes(data, width),
        *integrity_section(ctx, _image_refs(inputs)),
    ]
    return story


def _outcome(data: StudentReportData, width: float) -> Table:
    """A coloured banner: verified or not, and the match distance against the threshold."""
    word, colour = ("VERIFIED", GOOD) if data.verified else ("NOT VERIFIED", BAD)
    distance = number(data.match_distance)
    detail = (
        f"match distance {distance} against threshold {number(data.threshold)} "
        "(a match is at or below the threshold)"
    )
    banner = Table([[word, Paragraph(esc(detail), BODY)]], colWidths=[0.3 * width, 0.7 * width])
    banner.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (0, 0), colour),
                ("TEXTCOLOR", (0, 0), (0, 0), colors.white),
                ("FONT", (0, 0), (0, 0), BOLD, 13),
                ("ALIGN", (0, 0), (0, 0), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.8, colour),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                ("LEFTPADDING", (1, 0), (1, 0), 8),
            ]
        )
    )
    return banner


def _facts(data: StudentReportData) -> list[tuple[str, Any]]:
    return [
        ("Roll no", data.student.roll_no),
        ("Name", data.student.name),
        ("Session", data.session.name),
        ("Session id", data.session.id),
        ("Session start", when(data.session.start)),
        ("Session end", when(data.session.end)),
        ("Verified", "yes" if data.verified else "no"),
        ("Steps passed", data.method or MISSING),
        ("Match distance", number(data.match_distance)),
        ("Threshold", number(data.threshold)),
        ("Attempts", str(data.attempts)),
        ("Failure reasons", "; ".join(data.failure_reasons) or MISSING),
    ]


def _photo_row(data: StudentReportData, width: float) -> Table:
    """Enrolled photo beside the live snapshot and the 68-landmark overlay."""
    gap = 4 * mm
    box_w, box_h = (width - 2 * gap) / 3, 58 * mm
    cells = [
        picture(data.enrolled_photo, box_w, box_h, "no enrolled photo"),
        picture(data.live_snapshot, box_w, box_h, "no live snapshot"),
        picture(data.landmarks_overlay, box_w, box_h, "no landmark overlay"),
    ]
    captions = [
        Paragraph("enrolled photo", CAPTION),
        Paragraph("live snapshot", CAPTION),
        Paragraph("68-point landmarks", CAPTION),
    ]
    return _grid([cells, captions], [box_w + gap] * 3)


def _liveness(data: StudentReportData, width: float) -> list[Flowable]:
    if data.timeline:
        chart = timeline_chart(data.timeline, data.prompts, data.detections, width)
        story = [*section("Liveness challenge", chart.height + 30), chart]
    else:
        story = [
            *section("Liveness challenge"),
            Paragraph("No EAR/MAR samples were recorded.", BODY),
        ]
    events = [(p.t, "prompt", p.action, MISSING) for p in data.prompts]
    events += [(d.start, "detected", d.kind, f"{d.end:.2f}") for d in data.detections]
    if events:
        rows = [[f"{t:.2f}", what, name, until] for t, what, name, until in sorted(events)]
        story += [
            CondPageBreak(30 * mm),
            Paragraph("Prompts and detections", SUBHEADING),
            data_table(
                ["from (s)", "event", "what", "until (s)"],
                rows,
                [0.15 * width, 0.2 * width, 0.45 * width, 0.2 * width],
            ),
        ]
    elif data.timeline:
        story.append(Paragraph("No prompts or detections were recorded.", SMALL))
    return story


def _id_check(check: IdCheck | None, width: float) -> list[Flowable]:
    story: list[Flowable] = section("ID photo check", 60 * mm)
    if check is None:
        return [*story, Paragraph("No ID photo was checked.", BODY)]
    pairs: list[tuple[str, Any]] = [
        ("SSIM score", number(check.ssim_score)),
        ("SSIM threshold", number(check.threshold)),
        ("Forgery", percent(check.forgery_percent)),
        ("Verdict", coloured(check.verdict or MISSING)),
        ("Risk tier", coloured(check.risk_tier or MISSING)),
        ("Risk", percent(check.risk_percent)),
    ]
    story.append(facts_table(pairs, [0.17 * width, 0.33 * width, 0.17 * width, 0.33 * width]))
    if check.summary:
        story.append(Spacer(1, 4))
        story += [Paragraph(f"•  {esc(line)}", BODY) for line in check.summary]
    if check.recommendation:
        story += [
            Spacer(1, 3),
            Paragraph(f"<b>Recommendation:</b> {esc(check.recommendation)}", BODY),
        ]
    gap = 4 * mm
    box_w, box_h = (width - gap) / 2, 62 * mm
    grid = [
        [
            picture(check.original, box_w, box_h, "no reference image"),
            picture(check.submitted, box_w, box_h, "no submitted image"),
        ],
        [Paragraph("original (enrolled reference)", CAPTION), Paragraph("submitted", CAPTION)],
        [
            picture(check.heatmap, box_w, box_h, "no heatmap"),
            picture(check.boxed, box_w, box_h, "no boxed image"),
        ],
        [
            Paragraph("SSIM difference heatmap", CAPTION),
            Paragraph("changed regions boxed", CAPTION),
        ],
    ]
    # The seed's 2x2 figure reads as one picture: never split across pages, rather shrunk a
    # little to fit the rest of this page, or moved whole to the next when too little is left.
    figure = KeepInFrame(0, 0, [_grid(grid, [box_w + gap / 2] * 2)], mode="shrink")
    figure.hAlign = "CENTER"
    story += [CondPageBreak(100 * mm), Spacer(1, 6), figure]
    return story


def _presence(data: StudentReportData, width: float) -> list[Flowable]:
    story: list[Flowable] = section("Presence events")
    if not data.presence_events:
        return [*story, Paragraph("No presence events were recorded.", BODY)]
    thumb_w, thumb_h = 0.2 * width - 8, 22 * mm  # minus the cell padding
    rows = [
        [
            when(event.time),
            event.kind,
            coloured(event.severity or MISSING),
            "; ".join(f"{k}={v}" for k, v in event.detail.items()) or MISSING,
            picture(event.snapshot, thumb_w, thumb_h, "no snapshot"),
        ]
        for event in data.presence_events
    ]
    header = ["time", "kind", "severity", "detail", "snapshot"]
    widths = [0.23 * width, 0.16 * width, 0.1 * width, 0.31 * width, 0.2 * width]
    return [*story, data_table(header, rows, widths)]


def _notes(data: StudentReportData, width: float) -> list[Flowable]:
    story: list[Flowable] = section("Reviewer notes", 30 * mm)
    if not data.reviewer_notes:
        return [*story, Paragraph("No reviewer notes.", BODY)]
    rows = [[when(n.time), n.author, para(n.text)] for n in data.reviewer_notes]
    return [
        *story,
        data_table(["time", "author", "note"], rows, [0.23 * width, 0.15 * width, 0.62 * width]),
    ]


def _grid(rows: list[list[Any]], widths: list[float]) -> Table:
    """Images over their captions, centred, without rules."""
    table = Table(rows, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _image_refs(inputs: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each embedded image's digest as recorded in the evidence, for the integrity table."""
    refs: list[tuple[str, Any]] = [
        ("enrolled photo", inputs["enrolled_photo"]),
        ("live snapshot", inputs["live_snapshot"]),
        ("landmark overlay", inputs["landmarks_overlay"]),
    ]
    check = inputs["id_check"] or {}
    for key in ("original", "submitted", "heatmap", "boxed"):
        refs.append((f"ID check: {key}", check.get(key)))
    for i, event in enumerate(inputs["presence_events"], start=1):
        refs.append((f"presence event {i} snapshot", event["snapshot"]))
    return refs
