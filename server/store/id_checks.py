"""Queries on submitted ID photos and their forensic results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.analysis.forensics.hashing import hamming_distance
from server.store.database import Database
from server.store.errors import StoreError
from server.store.tables import IdCheck, Student

REUSE_DISTANCE = 6  # perceptual-hash bits: re-encodes and resizes of one photo stay below


@dataclass(frozen=True)
class IdCheckRecord:
    id: int
    session_id: str
    roll_no: str
    submitted_at: datetime
    photo_file: str
    phash: str
    verdict: str
    ssim_score: float | None
    forgery_percent: float | None
    risk_percent: float
    risk_tier: str
    face_distance: float | None
    reused_by: list[str]
    report: dict[str, Any]
    heatmap_files: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        base = f"/api/id-checks/{self.id}"
        return {
            "id": self.id,
            "session_id": self.session_id,
            "roll_no": self.roll_no,
            "submitted_at": self.submitted_at.isoformat(),
            "verdict": self.verdict,
            "ssim_score": self.ssim_score,
            "forgery_percent": self.forgery_percent,
            "risk_percent": self.risk_percent,
            "risk_tier": self.risk_tier,
            "face_distance": self.face_distance,
            "reused_by": self.reused_by,
            "photo_url": f"{base}/photo",
            "heatmaps": {name: f"{base}/heatmaps/{name}.png" for name in self.heatmap_files},
            "summary": self.report.get("summary"),
        }


def _record(row: IdCheck, roll_no: str) -> IdCheckRecord:
    return IdCheckRecord(
        id=row.id,
        session_id=row.session_id,
        roll_no=roll_no,
        submitted_at=row.submitted_at,
        photo_file=row.photo_file,
        phash=row.phash,
        verdict=row.verdict,
        ssim_score=row.ssim_score,
        forgery_percent=row.forgery_percent,
        risk_percent=row.risk_percent,
        risk_tier=row.risk_tier,
        face_distance=row.face_distance,
        reused_by=list(row.reused_by or []),
        report=dict(row.report or {}),
        heatmap_files=dict(row.heatmap_files or {}),
    )


def reused_by(db: Database, phash: str, roll_no: str) -> list[str]:
    """Other students who submitted (nearly) the same photo."""
    with db.session() as session:
        rows = session.execute(
            select(IdCheck.phash, Student.roll_no)
            .join(Student, Student.id == IdCheck.student_id)
            .where(Student.roll_no != roll_no)
        )
        return sorted(
            {other for hash_, other in rows if hamming_distance(hash_, phash) <= REUSE_DISTANCE}
        )


def add_id_check(db: Database, session_id: str, roll_no: str, **values: Any) -> IdCheckRecord:
    with db.session() as session:
        student = session.scalar(select(Student).where(Student.roll_no == roll_no))
        if student is None:
            raise StoreError("STUDENT_NOT_FOUND", f"no student with roll number {roll_no!r}")
        row = IdCheck(session_id=session_id, student_id=student.id, **values)
        session.add(row)
        session.flush()
        return _record(row, roll_no)


def get_id_check(db: Database, check_id: int) -> IdCheckRecord:
    with db.session() as session:
        row = session.get(IdCheck, check_id)
        if row is None:
            raise StoreError("NOT_FOUND", f"no ID check {check_id}")
        student = session.get(Student, row.student_id)
        return _record(row, student.roll_no if student else "")


def list_id_checks(
    db: Database, session_id: str, roll_no: str | None = None
) -> list[IdCheckRecord]:
    with db.session() as session:
        query = (
            select(IdCheck, Student.roll_no)
            .join(Student, Student.id == IdCheck.student_id)
            .where(IdCheck.session_id == session_id)
            .order_by(IdCheck.submitted_at)
        )
        if roll_no is not None:
            query = query.where(Student.roll_no == roll_no)
        return [_record(row, roll) for row, roll in session.execute(query)]


def files_of(db: Database, roll_no: str) -> list[str]:
    """Every stored file of a student's ID checks (deleted with the student)."""
    with db.session() as session:
        rows = session.scalars(
            select(IdCheck)
            .join(Student, Student.id == IdCheck.student_id)
            .where(Student.roll_no == roll_no)
        )
        return [f for row in rows for f in (row.photo_file, *row.heatmap_files.values())]
