"""A student's ID photo: checked against the enrolled photo, stored, shown to invigilators."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from server.analysis.images import EXTENSIONS, sniff_format
from server.config import Settings
from server.events import EventBus
from server.forensic_tasks import ForensicBundle, check_id_photo
from server.store import id_checks, sessions, students
from server.store.database import Database
from server.store.id_checks import IdCheckRecord
from server.store.photos import PhotoStore
from server.workers import AnalysisPool


def verdict_of(
    bundle: ForensicBundle, face_distance: float | None, reused: list[str], threshold: float
) -> str:
    """forged (SSIM below threshold), suspicious (high blind risk, other face, reuse), or ok."""
    reference = bundle.report["detectors"].get("reference", {})
    if reference.get("forged"):
        return "forged"
    high_risk = bundle.report["summary"].get("risk_tier") == "high"
    other_face = face_distance is not None and face_distance > threshold
    return "suspicious" if high_risk or other_face or reused else "ok"


@dataclass
class IdPhotoChecks:
    settings: Settings
    db: Database
    pool: AnalysisPool
    photos: PhotoStore  # enrolled baseline photos
    files: PhotoStore  # submitted ID photos and their heatmaps
    bus: EventBus

    async def submit(self, session_id: str, roll_no: str, data: bytes) -> IdCheckRecord:
        student = await asyncio.to_thread(students.get_student, self.db, roll_no)
        reference = await asyncio.to_thread(self.photos.read, student.photo_file)
        settings = self.settings
        bundle, distance = await self.pool.run(
            check_id_photo,
            data,
            reference,
            student.embedding,
            settings.max_image_pixels,
            settings.ssim_threshold,
            settings.detect_width,
        )
        reused = await asyncio.to_thread(id_checks.reused_by, self.db, bundle.phash, roll_no)
        record = await self._store(session_id, roll_no, data, bundle, distance, reused)
        await self._tell_invigilators(record)
        return record

    async def _store(
        self,
        session_id: str,
        roll_no: str,
        data: bytes,
        bundle: ForensicBundle,
        distance: float | None,
        reused: list[str],
    ) -> IdCheckRecord:
        extension = EXTENSIONS[sniff_format(data[:16]) or "jpeg"]
        photo_file = await asyncio.to_thread(self.files.save, data, extension)
        kept = ("reference", "reference_boxes", "combined", "ela", "copy_move", "noise")
        heatmaps = {
            name: await asyncio.to_thread(self.files.save, png, ".png")
            for name, png in bundle.pngs.items()
            if name in kept
        }
        reference: dict[str, Any] = bundle.report["detectors"].get("reference", {})
        summary = bundle.report["summary"]
        try:
            return await asyncio.to_thread(
                id_checks.add_id_check,
                self.db,
                session_id,
                roll_no,
                photo_file=photo_file,
                phash=bundle.phash,
                verdict=verdict_of(bundle, distance, reused, self.settings.match_threshold),
                ssim_score=reference.get("score"),
                forgery_percent=reference.get("forgery_percent"),
                risk_percent=float(summary.get("risk_percent", 0.0)),
                risk_tier=str(summary.get("risk_tier", "low")),
                face_distance=None if distance is None else round(distance, 4),
                reused_by=reused,
                report=bundle.report,
                heatmap_files=heatmaps,
            )
        except BaseException:
            for name in (photo_file, *heatmaps.values()):
                await asyncio.to_thread(self.files.delete, name)
            raise

    async def _tell_invigilators(self, record: IdCheckRecord) -> None:
        detail = record.to_dict()
        detail.pop("summary", None)
        event = await asyncio.to_thread(
            sessions.add_event,
            self.db,
            record.session_id,
            record.roll_no,
            "id_check",
            "info" if record.verdict == "ok" else "alert",
            detail,
        )
        self.bus.publish(
            f"session:{record.session_id}",
            {"kind": "event", "roll_no": record.roll_no, "event": event.to_dict()},
        )
