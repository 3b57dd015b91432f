"""The store on SQLite and, when INVIGILATOR_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select

from server.store import students
from server.store.database import Database
from server.store.errors import StoreError
from server.store.tables import Enrolment, ExamSession, Student


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128)


def test_migrations_create_the_tables_and_are_idempotent(db: Database) -> None:
    assert {"students", "exam_sessions", "enrolments", "alembic_version"} <= set(db.table_names())
    db.migrate()  # a second start-up changes nothing


def test_student_round_trip_keeps_embedding_and_utc_times(db: Database) -> None:
    embedding = vector(1)
    added = students.add_student(db, "R001", "Ada Lovelace", "abc.jpg", embedding)
    fetched = students.get_student(db, "R001")
    assert fetched.name == "Ada Lovelace" and fetched.photo_file == "abc.jpg"
    assert np.array_equal(fetched.embedding, embedding)
    assert fetched.created_at.tzinfo is not None
    assert fetched.created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - fetched.created_at).total_seconds()) < 60
    assert added.roll_no == fetched.roll_no


def test_roll_number_is_unique(db: Database) -> None:
    students.add_student(db, "R001", "A", "a.jpg", vector(1))
    with pytest.raises(StoreError) as error:
        students.add_student(db, "R001", "B", "b.jpg", vector(2))
    assert error.value.code == "DUPLICATE_ROLL_NO"
    assert [s.name for s in students.list_students(db)] == ["A"]


def test_update_replaces_photo_and_reports_the_old_file(db: Database) -> None:
    students.add_student(db, "R001", "A", "old.jpg", vector(1))
    record, replaced = students.update_student(
        db, "R001", name="A B", photo_file="new.jpg", embedding=vector(2)
    )
    assert replaced == "old.jpg" and record.photo_file == "new.jpg" and record.name == "A B"
    assert np.array_equal(students.get_student(db, "R001").embedding, vector(2))
    assert record.updated_at >= record.created_at


def test_unknown_student_is_not_found(db: Database) -> None:
    for call in (
        lambda: students.get_student(db, "nobody"),
        lambda: students.update_student(db, "nobody", name="x"),
        lambda: students.delete_student(db, "nobody"),
    ):
        with pytest.raises(StoreError) as error:
            call()
        assert error.value.code == "STUDENT_NOT_FOUND"


def test_sessions_enrol_students_and_deleting_a_student_removes_enrolments(db: Database) -> None:
    students.add_student(db, "R001", "A", "a.jpg", vector(1))
    students.add_student(db, "R002", "B", "b.jpg", vector(2))
    with db.session() as session:
        exam = ExamSession(name="Algebra I", starts_at=datetime(2026, 11, 22, 9, tzinfo=UTC))
        session.add(exam)
        for row in session.scalars(select(Student)):
            session.add(Enrolment(session=exam, student=row))
        session_id = exam.id
    students.delete_student(db, "R001")
    with db.session() as session:
        roster = session.scalars(select(Enrolment).where(Enrolment.session_id == session_id))
        assert [e.student.roll_no for e in roster] == ["R002"]
        exam = session.get(ExamSession, session_id)
        assert exam is not None and exam.starts_at == datetime(2026, 11, 22, 9, tzinfo=UTC)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive"), db.session() as session:
        session.add(ExamSession(name="x", starts_at=datetime(2026, 1, 1)))
        session.flush()
