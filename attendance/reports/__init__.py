"""PDF audit reports (reportlab, A4) with JSON sidecars, written atomically.

Plain dataclasses in, files out: nothing here knows HTTP, WebRTC or the database.
"""

from attendance.reports.atomic import atomic_writer, write_bytes_atomic
from attendance.reports.attendance_sheet import write_attendance_sheet
from attendance.reports.evidence import canonical_json, evidence_sha256
from attendance.reports.model import (
    AttendanceSheetData,
    Detection,
    FlagEvent,
    IdCheck,
    PresenceEvent,
    Prompt,
    ReportInfo,
    ReviewerNote,
    RosterRow,
    SessionInfo,
    SessionReportData,
    SheetRow,
    StudentInfo,
    StudentReportData,
    TimelineSample,
)
from attendance.reports.session_report import write_session_report
from attendance.reports.student_report import write_student_report

__all__ = [
    "AttendanceSheetData",
    "Detection",
    "FlagEvent",
    "IdCheck",
    "PresenceEvent",
    "Prompt",
    "ReportInfo",
    "ReviewerNote",
    "RosterRow",
    "SessionInfo",
    "SessionReportData",
    "SheetRow",
    "StudentInfo",
    "StudentReportData",
    "TimelineSample",
    "atomic_writer",
    "canonical_json",
    "evidence_sha256",
    "write_attendance_sheet",
    "write_bytes_atomic",
    "write_session_report",
    "write_student_report",
]
