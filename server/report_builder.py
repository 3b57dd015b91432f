"""Audit reports from what the service stored: the store, the run files and the ledger."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from attendance.ledger import Ledger
from attendance.reports import (
    AttendanceSheetData,
    Detection,
    FlagEvent,
    IdCheck,
    PresenceEvent,
    Prompt,
    ReviewerNote,
    RosterRow,
    SessionInfo,
    SessionReportData,
    SheetRow,
    StudentInfo,
    StudentReportData,
    TimelineSample,
    write_attendance_sheet,
    write_session_report,
    write_student_report,
)
from server.config import Settings
from server.flags import is_flag, review_priority, settled_status
from server.store import id_checks, reviews, sessions, students
from server.store.database import Database
from server.store.errors import StoreError
from server.store.photos import PhotoStore
from server.store.runs import RunStore


def attendance_sheet_pdf(ledger: Ledger, start: date | None, end: date | None) -> bytes:
    """The daily attendance sheet of the ledger's rows between two days, as PDF bytes."""
    rows = ledger.rows(start, end)
    days = ledger.days()
    first = start or (days[0] if days else date.today())
    last = end or (days[-1] if days else first)
    data = AttendanceSheetData(
        first_day=first,
        last_day=last,
        timezone=str(ledger.tz),
        rows=[
            SheetRow(
                r.timestamp,
                r.session,
                r.roll_no,
                r.name,
                r.method,
                r.match_distance,
                r.id_check,
                r.recorded_by,
                r.reason,
            )
            for r in rows
        ],
        chain_head=ledger.chain_head(),
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "attendance.pdf"
        write_attendance_sheet(data, path)
        return path.read_bytes()


def _notes(records: list[dict[str, str]], roll_no: str | None) -> list[ReviewerNote]:
    return [
        ReviewerNote(n["author"], datetime.fromisoformat(n["time"]), n["text"], roll_no)
        for n in records
    ]


@dataclass
class Reports:
    settings: Settings
    db: Database
    photos: PhotoStore
    snapshots: PhotoStore
    id_files: PhotoStore
    runs: RunStore
    ledger: Ledger

    def _path(self, session_id: str, name: str) -> Path:
        folder = self.settings.reports_dir / session_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def _session_info(self, session_id: str) -> tuple[sessions.SessionRecord, SessionInfo]:
        record = sessions.get_session(self.db, session_id)
        return record, SessionInfo(record.id, record.name, record.starts_at, record.ends_at)

    def student_report(self, session_id: str, roll_no: str) -> Path:
        """Write the student's verification report (PDF and JSON sidecar); return the PDF."""
        record, session = self._session_info(session_id)
        if roll_no not in record.roster:
            raise StoreError("NOT_ENROLLED", f"{roll_no} is not on the roster of {session_id}")
        student = students.get_student(self.db, roll_no)
        run, stills = self.runs.load(session_id, roll_no)
        run = run or {}
        try:
            attended = sessions.get_attendance(self.db, session_id, roll_no)
        except StoreError:
            attended = None
        events = sessions.list_events(self.db, session_id, roll_no)
        review = reviews.reviews_of(self.db, session_id).get(roll_no)
        data = StudentReportData(
            session=session,
            student=StudentInfo(student.roll_no, student.name),
            verified=attended is not None,
            method=attended.method if attended else str(run.get("method", "")),
            match_distance=attended.match_distance if attended else None,
            threshold=self.settings.match_threshold,
            chain_head=self.ledger.chain_head(),
            enrolled_photo=self.photos.read(student.photo_file),
            live_snapshot=stills.get("live.jpg"),
            landmarks_overlay=stills.get("landmarks.jpg"),
            timeline=[TimelineSample(*row) for row in run.get("timeline", [])],
            prompts=[Prompt(t, a) for t, a in run.get("prompts", [])],
            detections=[Detection(k, s, e) for k, s, e in run.get("detections", [])],
            attempts=int(run.get("attempts", 1)),
            failure_reasons=list(run.get("failures", [])),
            id_check=self._id_check(session_id, roll_no, student.photo_file),
            presence_events=[
                PresenceEvent(
                    e.occurred_at,
                    e.kind,
                    e.severity,
                    e.detail,
                    self._snapshot(e.snapshot_file),
                )
                for e in events
                if is_flag(e) and e.kind != "id_check"
            ],
            reviewer_notes=_notes(review.notes, roll_no) if review else [],
        )
        path = self._path(session_id, f"{roll_no}.pdf")
        write_student_report(data, path)
        return path

    def _snapshot(self, name: str | None) -> bytes | None:
        path = self.snapshots.path(name) if name else None
        return path.read_bytes() if path and path.exists() else None

    def _id_check(self, session_id: str, roll_no: str, enrolled: str) -> IdCheck | None:
        checks = id_checks.list_id_checks(self.db, session_id, roll_no)
        if not checks:
            return None
        check = checks[-1]
        summary = check.report.get("summary", {})

        def heatmap(name: str) -> bytes | None:
            file = check.heatmap_files.get(name)
            return self.id_files.read(file) if file else None

        return IdCheck(
            ssim_score=check.ssim_score,
            forgery_percent=check.forgery_percent,
            verdict=check.verdict,
            risk_tier=check.risk_tier,
            risk_percent=check.risk_percent,
            threshold=self.settings.ssim_threshold,
            summary=list(summary.get("issues", [])) + list(summary.get("positives", [])),
            recommendation=str(summary.get("recommendation", "")),
            original=self.photos.read(enrolled),
            submitted=self.id_files.read(check.photo_file),
            heatmap=heatmap("reference"),
            boxed=heatmap("reference_boxes"),
        )

    def session_report(self, session_id: str) -> Path:
        """Write the session's audit report (PDF and JSON sidecar); return the PDF."""
        record, session = self._session_info(session_id)
        attended = {a.roll_no: a for a in sessions.list_attendance(self.db, session_id)}
        names = {s.roll_no: s.name for s in students.list_students(self.db)}
        all_events = sessions.list_events(self.db, session_id)
        review_map = reviews.reviews_of(self.db, session_id)
        roster = []
        for roll_no in record.roster:
            events = [e for e in all_events if e.roll_no == roll_no]
            flags = [e for e in events if is_flag(e)]
            attendance = attended.get(roll_no)
            roster.append(
                RosterRow(
                    roll_no=roll_no,
                    name=names.get(roll_no, ""),
                    status=settled_status(attendance is not None, events),
                    verified_at=attendance.verified_at if attendance else None,
                    match_distance=attendance.match_distance if attendance else None,
                    flags=len(flags),
                    review_priority=review_priority(events),
                    events=[
                        FlagEvent(e.occurred_at, e.kind, e.severity, _describe(e.detail))
                        for e in flags
                    ],
                )
            )
        notes = [n for r in review_map.values() for n in _notes(r.notes, r.roll_no)]
        data = SessionReportData(session, roster, self.ledger.chain_head(), notes)
        path = self._path(session_id, "session.pdf")
        write_session_report(data, path)
        return path


def _describe(detail: dict[str, object]) -> str:
    keep = ("reason", "verdict", "distance", "seconds", "faces", "what", "ssim_score")
    return ", ".join(f"{k} {detail[k]}" for k in keep if detail.get(k) is not None)
