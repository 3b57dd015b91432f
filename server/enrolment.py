"""Enrolling, re-photographing and deleting students: photo file, embedding and row together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from server.analysis import faces
from server.analysis.images import EXTENSIONS
from server.analysis.matching import MatchResult, verify
from server.config import Settings
from server.store import id_checks, sessions, students
from server.store.database import Database
from server.store.errors import StoreError
from server.store.photos import PhotoStore
from server.store.runs import RunStore
from server.workers import AnalysisPool, enrol_photo


@dataclass
class Enrolment:
    """The enrolment rules, shared by the HTTP API and `invigilator enroll`."""

    settings: Settings
    db: Database
    photos: PhotoStore
    pool: AnalysisPool
    snapshots: PhotoStore  # presence-event stills, deleted with the student
    id_files: PhotoStore  # submitted ID photos and their heatmaps, deleted with the student
    runs: RunStore  # verification signals and stills, deleted with the student

    @property
    def limits(self) -> faces.QualityLimits:
        return faces.QualityLimits(
            min_face_px=self.settings.min_face_px, min_sharpness=self.settings.min_blur_variance
        )

    async def analyse(self, data: bytes) -> tuple[str, faces.Portrait]:
        """Format and portrait of an enrolment photo (AnalysisError when unusable)."""
        return await self.pool.run(
            enrol_photo,
            data,
            self.settings.max_image_pixels,
            self.limits,
            self.settings.detect_width,
        )

    async def enrol(self, roll_no: str, name: str, data: bytes) -> students.StudentRecord:
        """Analyse the photo, keep it under a UUID name and insert the student."""
        roll_no, name = _clean(roll_no, "roll_no"), _clean(name, "name")
        fmt, portrait = await self.analyse(data)
        photo_file = await asyncio.to_thread(self.photos.save, data, EXTENSIONS[fmt])
        try:
            return await asyncio.to_thread(
                students.add_student, self.db, roll_no, name, photo_file, portrait.embedding
            )
        except BaseException:
            await asyncio.to_thread(self.photos.delete, photo_file)
            raise

    async def update(
        self, roll_no: str, name: str | None, data: bytes | None
    ) -> students.StudentRecord:
        """Rename and/or replace the baseline photo (the old photo file is removed)."""
        name = None if name is None else _clean(name, "name")
        if data is None:
            record, _ = await asyncio.to_thread(
                students.update_student, self.db, roll_no, name=name
            )
            return record
        await asyncio.to_thread(students.get_student, self.db, roll_no)  # 404 before analysis
        fmt, portrait = await self.analyse(data)
        photo_file = await asyncio.to_thread(self.photos.save, data, EXTENSIONS[fmt])
        try:
            record, replaced = await asyncio.to_thread(
                students.update_student,
                self.db,
                roll_no,
                name=name,
                photo_file=photo_file,
                embedding=portrait.embedding,
            )
        except BaseException:
            await asyncio.to_thread(self.photos.delete, photo_file)
            raise
        if replaced:
            await asyncio.to_thread(self.photos.delete, replaced)
        return record

    async def delete(self, roll_no: str) -> None:
        """Remove the row (embedding, events, attendance, ID checks) and every file of theirs."""
        stills = await asyncio.to_thread(sessions.snapshot_files_of, self.db, roll_no)
        id_files = await asyncio.to_thread(id_checks.files_of, self.db, roll_no)
        record = await asyncio.to_thread(students.delete_student, self.db, roll_no)
        await asyncio.to_thread(self.photos.delete, record.photo_file)
        for name in stills:
            await asyncio.to_thread(self.snapshots.delete, name)
        for name in id_files:
            await asyncio.to_thread(self.id_files.delete, name)
        await asyncio.to_thread(self.runs.delete_student, roll_no)
        await asyncio.to_thread(self._delete_reports, roll_no)

    def _delete_reports(self, roll_no: str) -> None:
        """Student reports hold their photos: they go too (session reports keep the name)."""
        for path in self.settings.reports_dir.glob(f"*/{roll_no}.*"):
            if path.suffix in (".pdf", ".json"):
                path.unlink(missing_ok=True)

    async def verify(self, roll_no: str, data: bytes) -> tuple[MatchResult, faces.Portrait]:
        """Distance of a new photo's face to the student's enrolled embedding."""
        record = await asyncio.to_thread(students.get_student, self.db, roll_no)
        _, portrait = await self.analyse(data)
        return verify(portrait.embedding, record.embedding, self.settings.match_threshold), portrait


_MAX_LENGTH = {"roll_no": 64, "name": 200}


def _clean(value: str, field: str) -> str:
    """Trimmed text within its length; roll numbers go into URLs, so their alphabet is small."""
    value = value.strip()
    limit = _MAX_LENGTH[field]
    if not 0 < len(value) <= limit:
        raise StoreError("VALIDATION_ERROR", f"{field} must be 1-{limit} characters")
    if field == "roll_no" and not all(c.isalnum() or c in "-_." for c in value):
        raise StoreError("VALIDATION_ERROR", "roll_no may hold letters, digits, '-', '_' and '.'")
    return value
