"""Session audit report of 40 students and the printable attendance sheet."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

from attendance.reports import (
    AttendanceSheetData,
    FlagEvent,
    ReviewerNote,
    SessionReportData,
    write_attendance_sheet,
    write_session_report,
)
from tests.unit.reports.report_inputs import (
    CHAIN_HEAD,
    START,
    body_std,
    pdf_text,
    render_pages,
    session_data,
    sheet_data,
)

MIN_BODY_STD = 8.0


def test_forty_student_session_report(tmp_path: Path) -> None:
    data = session_data(40)
    info = write_session_report(data, tmp_path / "session.pdf")

    text = pdf_text(info.pdf_path)
    for row in data.roster:
        assert row.roll_no in text
        assert row.name in text
    for expected in (
        "Algebra II midterm",
        "Attendance totals",
        "Flag timelines",
        "different_person",
        "Fire alarm test at 10:20.",
        "Camera replaced; recheck.",
        info.report_id,
        info.evidence_sha256,
        CHAIN_HEAD,
        f"Page {info.pages} of {info.pages}",
    ):
        assert expected in text, expected

    pages = render_pages(info.pdf_path, tmp_path / "png")
    assert len(pages) == info.pages >= 2
    assert all(body_std(page) > MIN_BODY_STD for page in pages)

    totals = json.loads(info.sidecar_path.read_text("utf-8"))["figures"]["totals"]
    statuses = [row.status for row in data.roster]
    assert totals["enrolled"] == 40
    assert totals["verified"] == statuses.count("verified")
    assert totals["absent"] == statuses.count("absent")
    assert totals["attended"] == 40 - statuses.count("absent")
    assert totals["flags"] == sum(len(row.events) for row in data.roster)


def test_empty_session_report(tmp_path: Path) -> None:
    base = session_data(1)
    info = write_session_report(SessionReportData(base.session, [], ""), tmp_path / "empty.pdf")
    text = pdf_text(info.pdf_path)
    assert "The roster is empty." in text
    assert "No student was flagged." in text
    assert len(render_pages(info.pdf_path, tmp_path / "png")) == info.pages


def test_attendance_sheet(tmp_path: Path) -> None:
    data = sheet_data(25)
    info = write_attendance_sheet(data, tmp_path / "sheet.pdf")

    text = pdf_text(info.pdf_path)
    for row in data.rows:
        assert row.roll_no in text
        assert row.timestamp in text
    for expected in (
        "2025-03-14 (Europe/London)",
        "camera failed",
        "j.smith",
        "0.4100",
        CHAIN_HEAD,
        info.report_id,
    ):
        assert expected in text, expected
    pages = render_pages(info.pdf_path, tmp_path / "png")
    assert len(pages) == info.pages
    assert all(body_std(page) > MIN_BODY_STD for page in pages)
    assert pages[0].shape[1] > pages[0].shape[0]  # landscape A4: the columns need the width

    totals = json.loads(info.sidecar_path.read_text("utf-8"))["figures"]["totals"]
    assert totals["rows"] == 25
    assert totals["manual"] == sum(1 for row in data.rows if row.method == "manual")


def test_empty_attendance_sheet_over_several_days(tmp_path: Path) -> None:
    data = AttendanceSheetData(date(2025, 3, 1), date(2025, 3, 7), "UTC", [], CHAIN_HEAD)
    info = write_attendance_sheet(data, tmp_path / "week.pdf")
    text = pdf_text(info.pdf_path)
    assert "2025-03-01 to 2025-03-07" in text
    assert "No attendance was recorded on these days." in text


def test_very_long_user_text_flows_over_pages(tmp_path: Path) -> None:
    base = session_data(3)
    essay = "word " * 4000 + "x" * 3000  # taller than a page in one table cell
    base.roster[0].events.append(FlagEvent(START, "tab_switch", "alert", essay))
    data = replace(base, reviewer_notes=[ReviewerNote("a.lee", START, essay)])
    info = write_session_report(data, tmp_path / "long.pdf")
    assert info.pages > 4
    assert "Reviewer notes" in pdf_text(info.pdf_path)
