"""Time to write a session audit report and a student report from a populated store."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2

from attendance.ledger import AttendanceEntry, Ledger
from server.analysis import faces
from server.analysis.images import encode_jpeg
from server.config import Settings
from server.report_builder import Reports
from server.store import sessions, students
from server.store.database import Database
from server.store.photos import PhotoStore
from server.store.runs import RunStore
from server.workers import describe_photo

FLAG_KINDS = ("face_absent", "tab_switch", "multiple_faces")


def _populate(settings: Settings, db: Database, count: int, photo: bytes) -> tuple[str, Reports]:
    """count enrolled students in one session: attendance, ledger rows, flags with stills."""
    photos, snapshots = PhotoStore(settings.photos_dir), PhotoStore(settings.snapshots_dir)
    embedding = describe_photo(photo, 100_000_000, faces.DEFAULT_DETECT_WIDTH, False).embedding
    rolls = [f"R{i:03d}" for i in range(count)]
    for roll in rolls:
        students.add_student(db, roll, f"Student {roll}", photos.save(photo, ".jpg"), embedding)
    record = sessions.create_session(db, "Benchmark exam", rolls)
    ledger = Ledger(settings.data_dir, settings.tz)
    start = datetime.now(UTC) - timedelta(hours=1)
    for index, roll in enumerate(rolls):
        if index % 10 == 9:
            continue  # a few absent
        sessions.record_attendance(db, record.id, roll, "blink+smile+turn_left", 0.41)
        ledger.append(AttendanceEntry(record.id, roll, f"Student {roll}", "blink+smile", 0.41))
        for k in range(index % 3):
            sessions.add_event(
                db,
                record.id,
                roll,
                FLAG_KINDS[k],
                "alert",
                {"seconds": 3.4},
                snapshots.save(photo, ".jpg"),
                start + timedelta(minutes=index + k),
            )
    reports = Reports(
        settings,
        db,
        photos,
        snapshots,
        PhotoStore(settings.id_checks_dir),
        RunStore(settings.runs_dir),
        ledger,
    )
    return record.id, reports


def bench_reports(
    students_count: int = 40, repeats: int = 5, photo: Path | None = None
) -> dict[str, Any]:
    from skimage import data as skdata

    image = cv2.imread(str(photo)) if photo else cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    data = encode_jpeg(image, 90)
    with tempfile.TemporaryDirectory(prefix="invigilator-bench-") as folder:
        settings = replace(Settings(), data_dir=Path(folder))
        db = Database(settings.effective_database_url)
        db.migrate()
        try:
            session_id, reports = _populate(settings, db, students_count, data)
            session_times, student_times = [], []
            for _ in range(repeats):
                began = time.perf_counter()
                path = reports.session_report(session_id)
                session_times.append(time.perf_counter() - began)
                began = time.perf_counter()
                reports.student_report(session_id, "R001")
                student_times.append(time.perf_counter() - began)
            pages = path.read_bytes().count(b"/Type /Page") - path.read_bytes().count(
                b"/Type /Pages"
            )
        finally:
            db.dispose()
    return {
        "students": students_count,
        "session_report_median_s": round(statistics.median(session_times), 3),
        "session_report_pages": pages,
        "student_report_median_s": round(statistics.median(student_times), 3),
        "repeats": repeats,
    }


def format_table(result: dict[str, Any]) -> str:
    return (
        f"session audit report, {result['students']} students ({result['session_report_pages']}"
        f" pages): {result['session_report_median_s']:.3f} s median of {result['repeats']}\n"
        f"student verification report: {result['student_report_median_s']:.3f} s"
    )
