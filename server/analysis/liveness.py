"""Liveness signals from 68 iBUG landmarks (EAR, MAR, mouth shape, yaw) and event detectors.

Point numbers are dlib's 0-based iBUG indices. "Left"/"right" always mean the IMAGE side:
the left eye is points 36-41 (the subject's right eye in a non-mirrored camera image).
The detectors consume timestamped FrameFeatures only, so they are testable without video.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from server.analysis.faces import FaceBox

LEFT_EYE = tuple(range(36, 42))  # image-left eye: p1..p6 of Soukupová & Čech
RIGHT_EYE = tuple(range(42, 48))
MOUTH_LEFT, MOUTH_RIGHT = 48, 54  # outer lip corners
NOSE_TIP = 30
# How far the nose tip stands in front of the outer eye corners, in units of the corners'
# distance: 0.47 in OpenFace's 68-point mean face (43 mm ahead, 91 mm apart); the dataset
# labellers' proxy used 0.43. Under a yaw turn the tip shifts sideways by depth * tan(yaw)
# relative to the corners' midpoint, so yaw = atan(offset / NOSE_DEPTH).
NOSE_DEPTH = 0.45


@dataclass(frozen=True)
class MouthShape:
    """Mouth measurements in a roll-corrected frame, in units of the inter-ocular distance."""

    width: float  # corner-to-corner distance (48-54)
    opening: float  # inner-lip gap: mean of 61-67, 62-66, 63-65
    lift_left: float  # how far corner 48 sits above the inner-lip line (62/66 midpoint); + = up
    lift_right: float  # same for corner 54
    offset_left: float  # horizontal distance of corner 48 from the nose line
    offset_right: float  # horizontal distance of corner 54 from the nose line


@dataclass(frozen=True)
class FrameFeatures:
    """What one frame says about the face: presence, landmarks and the liveness signals."""

    timestamp: float  # seconds
    face_count: int  # faces found at the last detection (tracking frames carry it over)
    box: FaceBox | None = None
    landmarks: np.ndarray | None = None  # (68, 2) float, image coordinates
    ear_left: float | None = None  # image-left eye (36-41)
    ear_right: float | None = None  # image-right eye (42-47)
    ear: float | None = None  # mean of both eyes
    mar: float | None = None  # inner-lip MAR, see mouth_aspect_ratio
    mouth_width_ratio: float | None = None  # corner distance / inter-ocular distance
    yaw: float | None = None  # degrees; + = nose moves toward the image right
    mouth: MouthShape | None = None
    detected: bool = False  # True when the face detector (not the tracker) ran on this frame

    @property
    def has_face(self) -> bool:
        return self.landmarks is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly summary (no landmarks)."""
        return {
            "timestamp": self.timestamp,
            "face_count": self.face_count,
            "box": self.box.to_dict() if self.box else None,
            "ear": self.ear,
            "ear_left": self.ear_left,
            "ear_right": self.ear_right,
            "mar": self.mar,
            "mouth_width_ratio": self.mouth_width_ratio,
            "yaw": self.yaw,
        }


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.hypot(*(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """EAR = (|p2-p6| + |p3-p5|) / (2 |p1-p4|) for the six points of one eye (Soukupová & Čech)."""
    p1, p2, p3, p4, p5, p6 = np.asarray(eye, dtype=np.float64)
    width = _dist(p1, p4)
    if width == 0:
        return 0.0
    return (_dist(p2, p6) + _dist(p3, p5)) / (2.0 * width)


def mouth_aspect_ratio(landmarks: np.ndarray) -> float:
    """Inner-lip MAR = (|61-67| + |62-66| + |63-65|) / (3 |60-64|): 0 with the lips together.

    The inner lips, not the outer ones: the outer-lip ratio is ~0.3 on a closed mouth (lip
    thickness), so a fixed threshold such as the seed's MAR > 0.22 only makes sense inside.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    width = _dist(pts[60], pts[64])
    if width == 0:
        return 0.0
    gaps = _dist(pts[61], pts[67]) + _dist(pts[62], pts[66]) + _dist(pts[63], pts[65])
    return gaps / (3.0 * width)


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the image-left and image-right eyes (mean of their six points)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    return pts[list(LEFT_EYE)].mean(axis=0), pts[list(RIGHT_EYE)].mean(axis=0)


def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the eye centres: the face's scale unit."""
    left, right = eye_centres(landmarks)
    return _dist(left, right)


def _upright(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks rotated about the eye midpoint so the eye line is horizontal (roll removed)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    left, right = eye_centres(pts)
    angle = math.atan2(right[1] - left[1], right[0] - left[0])
    cos, sin = math.cos(-angle), math.sin(-angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    centre = (left + right) / 2.0
    return (pts - centre) @ rotation.T


def mouth_shape(landmarks: np.ndarray) -> MouthShape:
    """Width, opening, corner lift and corner offsets of the mouth, roll-corrected and scaled."""
    pts = _upright(landmarks)
    scale = inter_ocular(landmarks) or 1.0
    lip_line_y = (pts[62, 1] + pts[66, 1]) / 2.0
    nose_x = float(np.mean(pts[27:31, 0]))  # nose bridge and tip: the face's vertical axis
    opening = float(np.mean([_dist(pts[a], pts[b]) for a, b in ((61, 67), (62, 66), (63, 65))]))
    return MouthShape(
        width=_dist(pts[MOUTH_LEFT], pts[MOUTH_RIGHT]) / scale,
        opening=opening / scale,
        lift_left=float(lip_line_y - pts[MOUTH_LEFT, 1]) / scale,
        lift_right=float(lip_line_y - pts[MOUTH_RIGHT, 1]) / scale,
        offset_left=float(nose_x - pts[MOUTH_LEFT, 0]) / scale,
        offset_right=float(pts[MOUTH_RIGHT, 0] - nose_x) / scale,
    )


def estimate_yaw(landmarks: np.ndarray) -> float:
    """Head yaw in degrees from the nose tip's sideways offset; + = nose toward image right.

    Roll-corrected offset of the nose tip (30) from the midpoint of the outer eye corners
    (36, 45), divided by their distance, read as tan(yaw) * NOSE_DEPTH. Cheaper and steadier
    than solvePnP with a generic 3D head, which under-reads turns on faces unlike the model.
    """
    pts = _upright(landmarks)
    corners = pts[[36, 45]]
    span = abs(corners[1, 0] - corners[0, 0])
    if span == 0:
        return 0.0
    offset = (pts[NOSE_TIP, 0] - corners.mean(axis=0)[0]) / span
    return math.degrees(math.atan(offset / NOSE_DEPTH))


def frame_features(
    timestamp: float,
    face_count: int,
    box: FaceBox | None = None,
    landmarks: np.ndarray | None = None,
    detected: bool = False,
) -> FrameFeatures:
    """Compute every signal of one frame from its landmarks (or an empty frame without them)."""
    if landmarks is None:
        return FrameFeatures(timestamp, face_count, box, detected=detected)
    pts = np.asarray(landmarks, dtype=np.float64)
    ear_left = eye_aspect_ratio(pts[list(LEFT_EYE)])
    ear_right = eye_aspect_ratio(pts[list(RIGHT_EYE)])
    shape = mouth_shape(pts)
    return FrameFeatures(
        timestamp=timestamp,
        face_count=face_count,
        box=box,
        landmarks=pts,
        ear_left=ear_left,
        ear_right=ear_right,
        ear=(ear_left + ear_right) / 2.0,
        mar=mouth_aspect_ratio(pts),
        mouth_width_ratio=shape.width,
        yaw=estimate_yaw(pts),
        mouth=shape,
        detected=detected,
    )


# --- detectors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LivenessEvent:
    """A detected action: what, when it started and when it ended (or was confirmed)."""

    kind: str  # "blink" | "smile" | "turn"
    start: float  # seconds, first frame showing the action
    end: float  # seconds, last frame showing it (or the confirming frame while it goes on)
    direction: str | None = None  # turns: "image_left" | "image_right" (where the nose moves)
    complete: bool = True  # False when emitted at confirmation while the action still lasts


class _Percentile:
    """Running percentile over a sliding time window (small windows: a sort per query is fine)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._items: deque[tuple[float, float]] = deque()

    def add(self, timestamp: float, value: float) -> None:
        self._items.append((timestamp, value))
        while self._items and self._items[0][0] < timestamp - self.window:
            self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)

    def value(self, percentile: float) -> float:
        return float(np.percentile([v for _, v in self._items], percentile))

    def clear(self) -> None:
        self._items.clear()


@dataclass(frozen=True)
class BlinkConfig:
    """Blink = both eyes' EAR below a fraction of the person's open-eye level, briefly."""

    ratio: float = 0.75  # mean EAR below baseline * ratio counts as closed
    eye_ratio: float = 0.85  # and each eye below its own baseline * eye_ratio (rejects winks)
    baseline_percentile: float = 90.0  # of recent open-eye EAR: the eyes' "fully open" level
    baseline_window: float = 10.0  # seconds of history behind the baseline
    min_baseline_samples: int = 15  # until then the fixed threshold applies
    fallback_threshold: float = 0.20  # Soukupová & Čech's fixed EAR threshold
    min_duration: float = 0.06  # seconds between the last open frames around the closure
    max_duration: float = 0.5  # seconds from first to last closed frame


class BlinkDetector:
    """Finds blinks in a stream of FrameFeatures; a blink is reported when the eyes reopen."""

    def __init__(self, config: BlinkConfig | None = None) -> None:
        self.config = config or BlinkConfig()
        self._mean = _Percentile(self.config.baseline_window)
        self._left = _Percentile(self.config.baseline_window)
        self._right = _Percentile(self.config.baseline_window)
        self._closed: list[float] = []  # timestamps of the current run of closed frames
        self._last_open: float | None = None
        self.history: list[LivenessEvent] = []

    def thresholds(self) -> tuple[float, float, float]:
        """Current closed-eye thresholds for the mean EAR and each eye (image left, right)."""
        cfg = self.config
        if len(self._mean) < cfg.min_baseline_samples:
            return cfg.fallback_threshold, math.inf, math.inf
        pct = cfg.baseline_percentile
        return (
            self._mean.value(pct) * cfg.ratio,
            self._left.value(pct) * cfg.eye_ratio,
            self._right.value(pct) * cfg.eye_ratio,
        )

    def update(self, features: FrameFeatures) -> list[LivenessEvent]:
        """Feed one frame; returns the blink that ended on it, if any."""
        if features.ear is None or features.ear_left is None or features.ear_right is None:
            self._closed.clear()  # a lost face is no evidence of closed eyes
            self._last_open = None
            return []
        mean_thr, left_thr, right_thr = self.thresholds()
        t = features.timestamp
        closed = features.ear < mean_thr
        if closed and features.ear_left < left_thr and features.ear_right < right_thr:
            self._closed.append(t)
            return []
        events = self._finish_run(t)
        self._last_open = t
        self._mean.add(t, features.ear)
        self._left.add(t, features.ear_left)
        self._right.add(t, features.ear_right)
        return events

    def _finish_run(self, reopened: float) -> list[LivenessEvent]:
        if not self._closed:
            return []
        first, last = self._closed[0], self._closed[-1]
        self._closed = []
        if self._last_open is None:
            return []  # the closure began before we saw the eyes open
        # The closure lasted at least last-first and at most between the open frames around it.
        if reopened - self._last_open < self.config.min_duration:
            return []
        if last - first > self.config.max_duration:
            return []
        event = LivenessEvent("blink", first, last)
        self.history.append(event)
        return [event]

    def finish(self) -> list[LivenessEvent]:
        """End of stream: an unfinished closure is not a blink."""
        self._closed = []
        return []
