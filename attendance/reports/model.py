"""Plain inputs of the PDF reports, and what writing one returns: no HTTP, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SessionInfo:
    """The exam session a report is about."""

    id: str
    name: str
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class StudentInfo:
    """Who the student is, as enrolled."""

    roll_no: str
    name: str


@dataclass(frozen=True)
class TimelineSample:
    """One liveness sample: seconds since the verification began and the face signals."""

    t: float
    ear: float | None = None  # eye aspect ratio; None when no face was found in the frame
    mar: float | None = None  # mouth aspect ratio
    yaw: float | None = None  # head yaw in degrees


@dataclass(frozen=True)
class Prompt:
    """A challenge shown to the student at t seconds (blink, smile, turn_left ...)."""

    t: float
    action: str


@dataclass(frozen=True)
class Detection:
    """A detected blink, smile or head turn, from start to end seconds."""

    kind: str
    start: float
    end: float


@dataclass(frozen=True)
class IdCheck:
    """The ID-photo check: reference SSIM, forensic summary and the four figure images."""

    ssim_score: float | None
    forgery_percent: float | None
    verdict: str  # e.g. "authentic", "forged", "review"
    risk_tier: str  # low | medium | high
    risk_percent: float | None = None
    threshold: float | None = None  # SSIM below this counts as forged
    summary: list[str] = field(default_factory=list)  # plain-language findings, one per line
    recommendation: str = ""
    original: bytes | None = None  # the enrolled reference
    submitted: bytes | None = None
    heatmap: bytes | None = None
    boxed: bytes | None = None  # the submission with changed regions boxed


@dataclass(frozen=True)
class PresenceEvent:
    """Something the presence monitor saw during the exam (face absent, two faces ...)."""

    time: datetime
    kind: str
    severity: str  # info | warning | alert
    detail: dict[str, Any] = field(default_factory=dict)
    snapshot: bytes | None = None


@dataclass(frozen=True)
class ReviewerNote:
    """A note an invigilator wrote while reviewing; roll_no None means the whole session."""

    author: str
    time: datetime
    text: str
    roll_no: str | None = None


@dataclass(frozen=True)
class StudentReportData:
    """Everything the student verification report shows."""

    session: SessionInfo
    student: StudentInfo
    verified: bool
    method: str  # challenge steps passed, e.g. "blink+smile+turn_left"
    match_distance: float | None
    threshold: float
    chain_head: str  # the ledger's last row hash when the report was made
    enrolled_photo: bytes | None = None
    live_snapshot: bytes | None = None
    landmarks_overlay: bytes | None = None
    timeline: list[TimelineSample] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    attempts: int = 1
    failure_reasons: list[str] = field(default_factory=list)
    id_check: IdCheck | None = None
    presence_events: list[PresenceEvent] = field(default_factory=list)
    reviewer_notes: list[ReviewerNote] = field(default_factory=list)


@dataclass(frozen=True)
class FlagEvent:
    """One flag on a student's timeline in the session audit report."""

    time: datetime
    kind: str
    severity: str
    detail: str = ""


@dataclass(frozen=True)
class RosterRow:
    """One enrolled student's outcome in a session."""

    roll_no: str
    name: str
    status: str  # verified | failed | absent | flagged
    verified_at: datetime | None = None
    match_distance: float | None = None
    flags: int | None = None  # None: the number of events
    review_priority: str = ""  # high | medium | low | "" (none)
    events: list[FlagEvent] = field(default_factory=list)

    @property
    def flag_count(self) -> int:
        """Flags as given, or counted from the events."""
        return len(self.events) if self.flags is None else self.flags


@dataclass(frozen=True)
class SessionReportData:
    """Everything the session audit report shows."""

    session: SessionInfo
    roster: list[RosterRow]
    chain_head: str
    reviewer_notes: list[ReviewerNote] = field(default_factory=list)


@dataclass(frozen=True)
class SheetRow:
    """One ledger row as stored in the daily CSV (cells are text, already neutralised)."""

    timestamp: str
    session: str
    roll_no: str
    name: str
    method: str
    match_distance: str
    id_check: str
    recorded_by: str
    reason: str = ""


@dataclass(frozen=True)
class AttendanceSheetData:
    """The ledger rows of a range of days, for the printable attendance sheet."""

    first_day: date
    last_day: date
    timezone: str  # the zone the ledger's days follow
    rows: list[SheetRow]
    chain_head: str


@dataclass(frozen=True)
class ReportInfo:
    """What was written: ids and hashes to quote, where the files are, how many pages."""

    report_id: str
    generated_at: datetime
    evidence_sha256: str
    pdf_path: Path
    sidecar_path: Path
    pages: int
