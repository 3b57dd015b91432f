"""Queries on exam sessions, their rosters, attendance and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.store.database import Database
from server.store.errors import StoreError
from server.store.tables import Attendance, Enrolment, Event, ExamSession, Student


@dataclass(frozen=True)
class SessionRecord:
    """An exam session and the roll numbers on its roster."""

    id: str
    name: str
    status: str
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime
    roster: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "created_at": self.created_at.isoformat(),
            "roster": self.roster,
        }


@dataclass(frozen=True)
class AttendanceRecord:
    session_id: str
    roll_no: str
    name: str
    verified_at: datetime
    method: str
    match_distance: float | None
    recorded_by: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class EventRecord:
    id: int
    session_id: str
    roll_no: str
    occurred_at: datetime
    kind: str
    severity: str
    detail: dict[str, object]
    snapshot_file: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "roll_no": self.roll_no,
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "severity": self.severity,
            "detail": self.detail,
            "snapshot_url": f"/api/events/{self.id}/snapshot" if self.snapshot_file else None,
        }


def _session_row(session: Session, session_id: str) -> ExamSession:
    row = session.get(ExamSession, session_id)
    if row is None:
        raise StoreError("SESSION_NOT_FOUND", f"no exam session {session_id!r}")
    return row


def _student_row(session: Session, roll_no: str) -> Student:
    row = session.scalar(select(Student).where(Student.roll_no == roll_no))
    if row is None:
        raise StoreError("STUDENT_NOT_FOUND", f"no student with roll number {roll_no!r}")
    return row


def _record(row: ExamSession) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        name=row.name,
        status=row.status,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_at=row.created_at,
        roster=sorted(e.student.roll_no for e in row.enrolments),
    )


def create_session(
    db: Database,
    name: str,
    roll_nos: list[str],
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> SessionRecord:
    """A new open session whose roster is the given enrolled students (all must exist)."""
    wanted = list(dict.fromkeys(r.strip() for r in roll_nos if r.strip()))
    with db.session() as session:
        found = {
            s.roll_no: s
            for s in session.scalars(select(Student).where(Student.roll_no.in_(wanted)))
        }
        missing = [r for r in wanted if r not in found]
        if missing:
            raise StoreError("STUDENT_NOT_FOUND", f"not enrolled: {', '.join(missing[:20])}")
        row = ExamSession(name=name, starts_at=starts_at, ends_at=ends_at)
        session.add(row)
        for roll_no in wanted:
            session.add(Enrolment(session=row, student=found[roll_no]))
        session.flush()
        return _record(row)


def get_session(db: Database, session_id: str) -> SessionRecord:
    with db.session() as session:
        return _record(_session_row(session, session_id))


def list_sessions(db: Database) -> list[SessionRecord]:
    with db.session() as session:
        rows = session.scalars(select(ExamSession).order_by(ExamSession.created_at.desc()))
        return [_record(row) for row in rows]


def set_status(db: Database, session_id: str, status: str) -> SessionRecord:
    with db.session() as session:
        row = _session_row(session, session_id)
        row.status = status
        session.flush()
        return _record(row)


def is_on_roster(db: Database, session_id: str, roll_no: str) -> bool:
    with db.session() as session:
        student = _student_row(session, roll_no)
        return session.get(Enrolment, (session_id, student.id)) is not None


def record_attendance(
    db: Database,
    session_id: str,
    roll_no: str,
    method: str,
    match_distance: float | None,
    recorded_by: str | None = None,
    reason: str | None = None,
) -> tuple[AttendanceRecord, bool]:
    """Record a verified student once per session; returns the row and whether it is new."""
    try:
        with db.session() as session:
            student = _student_row(session, roll_no)
            _session_row(session, session_id)
            row = Attendance(
                session_id=session_id,
                student_id=student.id,
                method=method,
                match_distance=match_distance,
                recorded_by=recorded_by,
                reason=reason,
            )
            session.add(row)
            session.flush()
            return _attendance(row, student), True
    except IntegrityError:
        # Already recorded (a reconnect, a retry, or a concurrent writer): keep the first row.
        return get_attendance(db, session_id, roll_no), False


def _attendance(row: Attendance, student: Student) -> AttendanceRecord:
    return AttendanceRecord(
        session_id=row.session_id,
        roll_no=student.roll_no,
        name=student.name,
        verified_at=row.verified_at,
        method=row.method,
        match_distance=row.match_distance,
        recorded_by=row.recorded_by,
        reason=row.reason,
    )


def get_attendance(db: Database, session_id: str, roll_no: str) -> AttendanceRecord:
    with db.session() as session:
        student = _student_row(session, roll_no)
        row = session.scalar(
            select(Attendance).where(
                Attendance.session_id == session_id, Attendance.student_id == student.id
            )
        )
        if row is None:
            raise StoreError("NOT_FOUND", f"{roll_no} has no attendance in {session_id}")
        return _attendance(row, student)


def list_attendance(db: Database, session_id: str) -> list[AttendanceRecord]:
    with db.session() as session:
        rows = session.execute(
            select(Attendance, Student)
            .join(Student, Student.id == Attendance.student_id)
            .where(Attendance.session_id == session_id)
            .order_by(Attendance.verified_at)
        )
        return [_attendance(a, s) for a, s in rows]


def add_event(
    db: Database,
    session_id: str,
    roll_no: str,
    kind: str,
    severity: str,
    detail: dict[str, object],
    snapshot_file: str | None = None,
    occurred_at: datetime | None = None,
) -> EventRecord:
    with db.session() as session:
        student = _student_row(session, roll_no)
        row = Event(
            session_id=session_id,
            student_id=student.id,
            kind=kind,
            severity=severity,
            detail=detail,
            snapshot_file=snapshot_file,
        )
        if occurred_at is not None:
            row.occurred_at = occurred_at
        session.add(row)
        session.flush()
        return _event(row, student.roll_no)


def _event(row: Event, roll_no: str) -> EventRecord:
    return EventRecord(
        id=row.id,
        session_id=row.session_id,
        roll_no=roll_no,
        occurred_at=row.occurred_at,
        kind=row.kind,
        severity=row.severity,
        detail=dict(row.detail or {}),
        snapshot_file=row.snapshot_file,
    )


def list_events(db: Database, session_id: str, roll_no: str | None = None) -> list[EventRecord]:
    with db.session() as session:
        query = (
            select(Event, Student.roll_no)
            .join(Student, Student.id == Event.student_id)
            .where(Event.session_id == session_id)
            .order_by(Event.occurred_at, Event.id)
        )
        if roll_no is not None:
            query = query.where(Student.roll_no == roll_no)
        return [_event(e, r) for e, r in session.execute(query)]


def get_event(db: Database, event_id: int) -> EventRecord:
    with db.session() as session:
        row = session.get(Event, event_id)
        if row is None:
            raise StoreError("NOT_FOUND", f"no event {event_id}")
        return _event(row, row_roll_no(session, row.student_id))


def row_roll_no(session: Session, student_id: int) -> str:
    student = session.get(Student, student_id)
    return student.roll_no if student else ""


def snapshot_files_of(db: Database, roll_no: str) -> list[str]:
    """Every event snapshot of a student (deleted with the student)."""
    with db.session() as session:
        student = _student_row(session, roll_no)
        return [
            f
            for f in session.scalars(
                select(Event.snapshot_file).where(Event.student_id == student.id)
            )
            if f
        ]
