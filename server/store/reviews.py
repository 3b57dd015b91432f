"""Invigilators' reviews of a student in a session: the reviewed mark and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.store.database import Database
from server.store.errors import StoreError
from server.store.tables import Review, Student


@dataclass(frozen=True)
class ReviewRecord:
    roll_no: str
    reviewed: bool
    reviewed_by: str | None
    notes: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "roll_no": self.roll_no,
            "reviewed": self.reviewed,
            "reviewed_by": self.reviewed_by,
            "notes": self.notes,
        }


def _row(session_id: str, roll_no: str, session: Session) -> tuple[Review, Student]:
    student = session.scalar(select(Student).where(Student.roll_no == roll_no))
    if student is None:
        raise StoreError("STUDENT_NOT_FOUND", f"no student with roll number {roll_no!r}")
    review = session.scalar(
        select(Review).where(Review.session_id == session_id, Review.student_id == student.id)
    )
    if review is None:
        review = Review(session_id=session_id, student_id=student.id, reviewed=False, notes=[])
        session.add(review)
    return review, student


def update_review(
    db: Database,
    session_id: str,
    roll_no: str,
    author: str,
    reviewed: bool | None = None,
    note: str | None = None,
) -> ReviewRecord:
    with db.session() as session:
        review, student = _row(session_id, roll_no, session)
        if reviewed is not None:
            review.reviewed = reviewed
            review.reviewed_by = author if reviewed else None
        if note and note.strip():
            entry = {"author": author, "time": datetime.now(UTC).isoformat(), "text": note.strip()}
            review.notes = [*(review.notes or []), entry]
        session.flush()
        return ReviewRecord(
            student.roll_no, review.reviewed, review.reviewed_by, list(review.notes)
        )


def reviews_of(db: Database, session_id: str) -> dict[str, ReviewRecord]:
    with db.session() as session:
        rows = session.execute(
            select(Review, Student.roll_no)
            .join(Student, Student.id == Review.student_id)
            .where(Review.session_id == session_id)
        )
        return {
            roll: ReviewRecord(roll, r.reviewed, r.reviewed_by, list(r.notes or []))
            for r, roll in rows
        }
