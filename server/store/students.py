"""Queries on students: the records cross into the rest of the server as StudentRecord values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.analysis.matching import embedding_from_bytes, embedding_to_bytes
from server.store.database import Database
from server.store.errors import StoreError
from server.store.tables import Student


@dataclass(frozen=True)
class StudentRecord:
    """A student as the rest of the server sees one."""

    roll_no: str
    name: str
    photo_file: str
    embedding: np.ndarray
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, str]:
        """Public JSON form: never the embedding."""
        return {
            "roll_no": self.roll_no,
            "name": self.name,
            "photo_url": f"/api/students/{self.roll_no}/photo",
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _record(row: Student) -> StudentRecord:
    return StudentRecord(
        roll_no=row.roll_no,
        name=row.name,
        photo_file=row.photo_file,
        embedding=embedding_from_bytes(row.embedding),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _get_row(session: Session, roll_no: str) -> Student:
    row = session.scalar(select(Student).where(Student.roll_no == roll_no))
    if row is None:
        raise StoreError("STUDENT_NOT_FOUND", f"no student with roll number {roll_no!r}")
    return row


def add_student(
    db: Database, roll_no: str, name: str, photo_file: str, embedding: np.ndarray
) -> StudentRecord:
    """Insert a student; DUPLICATE_ROLL_NO when the roll number is taken."""
    try:
        with db.session() as session:
            row = Student(
                roll_no=roll_no,
                name=name,
                photo_file=photo_file,
                embedding=embedding_to_bytes(embedding),
            )
            session.add(row)
            session.flush()
            return _record(row)
    except IntegrityError as exc:
        raise StoreError(
            "DUPLICATE_ROLL_NO", f"roll number {roll_no!r} is already enrolled"
        ) from exc


def get_student(db: Database, roll_no: str) -> StudentRecord:
    with db.session() as session:
        return _record(_get_row(session, roll_no))


def find_students(db: Database, roll_nos: list[str]) -> dict[str, StudentRecord]:
    """The enrolled students among roll_nos, by roll number."""
    with db.session() as session:
        rows = session.scalars(select(Student).where(Student.roll_no.in_(roll_nos)))
        return {row.roll_no: _record(row) for row in rows}


def list_students(db: Database) -> list[StudentRecord]:
    with db.session() as session:
        rows = session.scalars(select(Student).order_by(Student.roll_no))
        return [_record(row) for row in rows]


def update_student(
    db: Database,
    roll_no: str,
    *,
    name: str | None = None,
    photo_file: str | None = None,
    embedding: np.ndarray | None = None,
) -> tuple[StudentRecord, str | None]:
    """Change name and/or photo; returns the record and the replaced photo file, if any."""
    with db.session() as session:
        row = _get_row(session, roll_no)
        replaced = None
        if name is not None:
            row.name = name
        if photo_file is not None and embedding is not None:
            replaced = row.photo_file
            row.photo_file = photo_file
            row.embedding = embedding_to_bytes(embedding)
        session.flush()
        return _record(row), replaced


def delete_student(db: Database, roll_no: str) -> StudentRecord:
    """Delete the row (embedding included); the caller removes the photo file it names."""
    with db.session() as session:
        row = _get_row(session, roll_no)
        record = _record(row)
        session.delete(row)
        return record
