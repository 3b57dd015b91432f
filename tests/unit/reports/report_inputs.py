"""Report inputs built from real face photos and a synthetic EAR/MAR timeline; PDF probes."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from attendance.reports import (
    AttendanceSheetData,
    Detection,
    FlagEvent,
    IdCheck,
    PresenceEvent,
    Prompt,
    ReviewerNote,
    RosterRow,
    SessionInfo,
    SessionReportData,
    SheetRow,
    StudentInfo,
    StudentReportData,
    TimelineSample,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
START = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
CHAIN_HEAD = "9f2c4e" + "a1" * 29
SESSION = SessionInfo("S-2025-03-14-ALG", "Algebra II midterm", START, START + timedelta(hours=2))
NAMES = ["Amelia Okafor", "Bruno Díaz", "Chen Wei", "Dara O'Neil", "Émile Roux", "Fatima Khan"]


def data_dir() -> Path | None:
    """$INVIGILATOR_DATA or ../shared/data beside the checkout, when present."""
    candidate = Path(os.environ.get("INVIGILATOR_DATA", REPO_ROOT.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None


def tool(name: str) -> str:
    """Path of a poppler tool, or a skip naming the package that provides it."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not found: install poppler-utils")
    return found


def pdf_text(pdf: Path) -> str:
    """The PDF's text as pdftotext extracts it (reading order, physical layout off)."""
    done = subprocess.run([tool("pdftotext"), str(pdf), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def render_pages(pdf: Path, out_dir: Path, dpi: int = 50) -> list[np.ndarray]:
    """Every page rendered to a gray image by pdftoppm."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [tool("pdftoppm"), "-r", str(dpi), "-png", str(pdf), str(out_dir / "page")],
        check=True,
        capture_output=True,
    )
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(out_dir.glob("page*.png"))]


def encode(image: np.ndarray, ext: str = ".jpg") -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


def timeline(seconds: float = 12.0, fps: float = 30.0) -> list[TimelineSample]:
    """EAR dips at 2.1 and 3.0 s (blinks), MAR rises at 6-7.5 s (smile), yaw swings at 9-10.5 s."""
    samples = []
    for i in range(int(seconds * fps)):
        t = i / fps
        ear = 0.30 + 0.01 * math.sin(7 * t)
        for dip in (2.1, 3.0):
            ear -= 0.2 * math.exp(-(((t - dip) / 0.06) ** 2))
        mar = 0.32 + 0.35 * (_rise(t - 6.0) - _rise(t - 7.5))
        yaw = 28 * math.exp(-(((t - 9.7) / 0.5) ** 2))
        lost = 4.4 <= t < 4.8  # the face left the frame: no signal at all
        samples.append(
            TimelineSample(t, None if lost else ear, None if lost else mar, None if lost else yaw)
        )
    return samples


def _rise(x: float) -> float:
    return 1 / (1 + math.exp(-12 * x))


def id_check(original: bytes) -> IdCheck:
    """A tampered submission (a patch pasted on the photo) with a heatmap and a boxed copy."""
    image = cv2.imdecode(np.frombuffer(original, np.uint8), cv2.IMREAD_COLOR)
    image = cv2.resize(image, (480, int(480 * image.shape[0] / image.shape[1])))
    submitted = image.copy()
    h, w = image.shape[:2]
    box = (w // 3, h // 3, w // 3 + w // 5, h // 3 + h // 6)
    submitted[box[1] : box[3], box[0] : box[2]] = cv2.GaussianBlur(
        submitted[box[1] : box[3], box[0] : box[2]], (31, 31), 0
    )
    diff = cv2.absdiff(image, submitted).max(axis=2)
    scaled = cv2.normalize(diff, None, 0, 255, cv2.NORM_MINMAX)
    heatmap = cv2.applyColorMap(scaled, cv2.COLORMAP_JET)
    boxed = submitted.copy()
    cv2.rectangle(boxed, box[:2], box[2:], (0, 0, 255), 3)
    return IdCheck(
        ssim_score=0.7134,
        forgery_percent=6.8,
        verdict="forged",
        risk_tier="high",
        risk_percent=72.5,
        threshold=0.9,
        summary=[
            "Reference SSIM 0.713 is below 0.90: the photo differs from the enrolled one",
            "One changed region covers 6.8 % of the photo",
        ],
        recommendation="Check the original document in person.",
        original=encode(image),
        submitted=encode(submitted),
        heatmap=encode(heatmap),
        boxed=encode(boxed),
    )


def overlay(photo: bytes) -> bytes:
    """The photo with 68 dots on an ellipse: stands in for dlib's landmark drawing."""
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    h, w = image.shape[:2]
    for k in range(68):
        a = 2 * math.pi * k / 68
        centre = (int(w / 2 + 0.2 * w * math.cos(a)), int(h / 2 + 0.25 * h * math.sin(a)))
        cv2.circle(image, centre, max(2, w // 200), (0, 0, 255), -1)
    return encode(image)


def student_data(
    faces: Path, name: str = "Amelia Okafor", roll_no: str = "R-1042", **changes: object
) -> StudentReportData:
    """A verified student with every optional part present, unless changes say otherwise."""
    enrolled = (faces / "img1.jpg").read_bytes()
    live = (faces / "img2.jpg").read_bytes()
    values: dict[str, object] = dict(
        session=SESSION,
        student=StudentInfo(roll_no, name),
        verified=True,
        method="blink+smile+turn_left",
        match_distance=0.4123,
        threshold=0.6,
        chain_head=CHAIN_HEAD,
        enrolled_photo=enrolled,
        live_snapshot=live,
        landmarks_overlay=overlay(live),
        timeline=timeline(),
        prompts=[Prompt(1.5, "blink twice"), Prompt(5.5, "smile"), Prompt(9.0, "turn_left")],
        detections=[
            Detection("blink", 2.0, 2.2),
            Detection("blink", 2.9, 3.1),
            Detection("smile", 6.1, 7.4),
            Detection("turn_left", 9.3, 10.2),
        ],
        attempts=2,
        failure_reasons=["timeout waiting for smile"],
        id_check=id_check(enrolled),
        presence_events=[
            PresenceEvent(
                START + timedelta(minutes=31), "face_absent", "warning", {"seconds": 7.5}, live
            ),
            PresenceEvent(
                START + timedelta(minutes=64), "multiple_faces", "alert", {"faces": 2}, None
            ),
        ],
        reviewer_notes=[
            ReviewerNote(
                "j.smith", START + timedelta(minutes=70), "Second face was a proctor walking by."
            )
        ],
    )
    values.update(changes)
    return StudentReportData(**values)  # type: ignore[arg-type]


def session_data(students: int = 40) -> SessionReportData:
    """A roster of many students: most verified, some failed, absent or flagged with events."""
    statuses = ["verified", "verified", "verified", "flagged", "failed", "absent"]
    roster = []
    for i in range(students):
        status = statuses[i % len(statuses)]
        events = []
        if status in ("flagged", "failed") or i % 7 == 0:
            events = [
                FlagEvent(START + timedelta(minutes=5 + 9 * k + i % 5), kind, severity, detail)
                for k, (kind, severity, detail) in enumerate(
                    [
                        ("face_absent", "warning", "absent 6.0 s"),
                        ("tab_switch", "warning", "left the exam tab"),
                        ("different_person", "alert", "distance 0.71 > 0.60"),
                    ][: 1 + i % 3]
                )
            ]
        roster.append(
            RosterRow(
                roll_no=f"R-{1000 + i}",
                name=f"{NAMES[i % len(NAMES)]} {i}",
                status=status,
                verified_at=(
                    None if status in ("absent", "failed") else START + timedelta(seconds=40 + i)
                ),
                match_distance=None if status == "absent" else 0.35 + (i % 9) * 0.03,
                review_priority={"flagged": "high", "failed": "medium"}.get(status, ""),
                events=events,
            )
        )
    notes = [
        ReviewerNote("j.smith", START + timedelta(minutes=95), "Fire alarm test at 10:20.", None),
        ReviewerNote("a.lee", START + timedelta(minutes=99), "Camera replaced; recheck.", "R-1004"),
    ]
    return SessionReportData(SESSION, roster, CHAIN_HEAD, notes)


def sheet_data(rows: int = 25) -> AttendanceSheetData:
    """Ledger rows of one day, a few of them recorded by hand."""
    out = []
    for i in range(rows):
        manual = i % 8 == 5
        out.append(
            SheetRow(
                timestamp=(START + timedelta(seconds=40 + 13 * i)).isoformat(),
                session=SESSION.id if i % 3 else "S-2025-03-14-BIO",
                roll_no=f"R-{1000 + i}",
                name=f"{NAMES[i % len(NAMES)]} {i}",
                method="manual" if manual else "blink+smile",
                match_distance="" if manual else f"{0.35 + (i % 9) * 0.03:.4f}",
                id_check="" if manual else "pass",
                recorded_by="j.smith" if manual else "",
                reason="camera failed" if manual else "",
            )
        )
    return AttendanceSheetData(
        date(2025, 3, 14), date(2025, 3, 14), "Europe/London", out, CHAIN_HEAD
    )


def body_std(page: np.ndarray) -> float:
    """Pixel spread of the page between header and footer: 0 when only the frame is printed."""
    height = page.shape[0]
    return float(page[int(height * 0.1) : int(height * 0.86)].std())
