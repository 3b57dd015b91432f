"""Recording attendance: the store's one row per session and the daily ledger's hash-chained row."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from attendance.ledger import AttendanceEntry, Ledger, LedgerRow
from server.store import id_checks, sessions, students
from server.store.database import Database
from server.store.errors import StoreError


@dataclass
class AttendanceBook:
    """Both records of attendance, written together so they never disagree on who was there."""

    db: Database
    ledger: Ledger

    def _id_check(self, session_id: str, roll_no: str) -> str:
        checks = id_checks.list_id_checks(self.db, session_id, roll_no)
        return checks[-1].verdict if checks else "pending"

    def verified(
        self, session_id: str, roll_no: str, name: str, method: str, distance: float | None
    ) -> LedgerRow | None:
        """A student passed the live check: store row (once) and ledger row (once a day)."""
        sessions.record_attendance(self.db, session_id, roll_no, method, distance)
        entry = AttendanceEntry(
            session=session_id,
            roll_no=roll_no,
            name=name,
            method=method,
            match_distance=None if distance is None else round(distance, 4),
            id_check=self._id_check(session_id, roll_no),
        )
        return self.ledger.append(entry) or self.ledger.find(session_id, roll_no)

    def manual(
        self, session_id: str, roll_no: str, reason: str, recorded_by: str
    ) -> LedgerRow | None:
        """An invigilator records a student by hand (their camera failed, say)."""
        reason = reason.strip()
        if not reason:
            raise StoreError("VALIDATION_ERROR", "a manual entry needs a reason")
        if not sessions.is_on_roster(self.db, session_id, roll_no):
            raise StoreError("NOT_ENROLLED", f"{roll_no} is not on the roster of {session_id}")
        student = students.get_student(self.db, roll_no)
        sessions.record_attendance(
            self.db, session_id, roll_no, "manual", None, recorded_by=recorded_by, reason=reason
        )
        entry = AttendanceEntry.manual(session_id, roll_no, student.name, recorded_by, reason)
        return self.ledger.append(entry) or self.ledger.find(session_id, roll_no)

    async def verified_async(
        self, session_id: str, roll_no: str, name: str, method: str, distance: float | None
    ) -> LedgerRow | None:
        return await asyncio.to_thread(self.verified, session_id, roll_no, name, method, distance)
