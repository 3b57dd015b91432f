"""Liveness signals from 68 iBUG landmarks (EAR, MAR, mouth shape, yaw) and event detectors.

Point numbers are dlib's 0-based iBUG indices. "Left"/"right" always mean the IMAGE side:
the left eye is points 36-41 (the subject's right eye in a non-mirrored camera image).
The detectors consume timestamped FrameFeatures only, so they are testable without video.
"""

from __future__ import annotations

import bisect
import math
import statistics
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
    """Width, opening and corner lift of the mouth, roll-corrected and scaled by the IOD."""
    pts = _upright(landmarks)
    scale = inter_ocular(landmarks) or 1.0
    lip_line_y = (pts[62, 1] + pts[66, 1]) / 2.0
    opening = float(np.mean([_dist(pts[a], pts[b]) for a, b in ((61, 67), (62, 66), (63, 65))]))
    return MouthShape(
        width=_dist(pts[MOUTH_LEFT], pts[MOUTH_RIGHT]) / scale,
        opening=opening / scale,
        lift_left=float(lip_line_y - pts[MOUTH_LEFT, 1]) / scale,
        lift_right=float(lip_line_y - pts[MOUTH_RIGHT, 1]) / scale,
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
    """Running percentile over a sliding time window, kept sorted (a frame costs O(n) moves)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._items: deque[tuple[float, float]] = deque()
        self._sorted: list[float] = []

    def add(self, timestamp: float, value: float) -> None:
        self._items.append((timestamp, value))
        bisect.insort(self._sorted, value)
        while self._items and self._items[0][0] < timestamp - self.window:
            _, old = self._items.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]

    def __len__(self) -> int:
        return len(self._items)

    def value(self, percentile: float) -> float:
        """Linear interpolation between closest ranks, as numpy.percentile does."""
        values = self._sorted
        rank = (len(values) - 1) * percentile / 100.0
        low = math.floor(rank)
        high = min(low + 1, len(values) - 1)
        return values[low] + (values[high] - values[low]) * (rank - low)

    def clear(self) -> None:
        self._items.clear()
        self._sorted.clear()


@dataclass(frozen=True)
class BlinkConfig:
    """Blink = both eyes' EAR dips well below the person's open-eye level, briefly."""

    ratio: float = 0.6  # closed: mean EAR below baseline * ratio ...
    eye_ratio: float = 0.7  # ... and each eye below its own baseline * eye_ratio (not a wink)
    depth: float = 0.3  # the eyes must be open by this much more (x baseline) on both sides
    edge_window: float = 0.3  # seconds before and after the closure searched for open eyes
    baseline_percentile: float = 90.0  # of recent EAR: the eyes' "fully open" level
    baseline_window: float = 10.0  # seconds of history behind the baseline
    min_baseline_samples: int = 15  # until then the fixed threshold applies
    fallback_threshold: float = 0.20  # Soukupová & Čech's fixed EAR threshold
    min_duration: float = 0.06  # seconds between the open frames around the closure
    max_duration: float = 0.5  # seconds from the first to the last closed frame


@dataclass
class _Closure:
    """A run of closed-eye frames being followed until the eyes have clearly reopened."""

    first: float
    last: float
    lowest: float  # lowest EAR / baseline in the run
    open_before: float | None  # last open frame before the run
    peak_before: float  # highest EAR / baseline within edge_window before the run
    reopened: float | None = None  # first open frame after the run


class BlinkDetector:
    """Finds blinks in a stream of FrameFeatures; a blink is reported once the eyes reopen.

    A frame is closed when the mean EAR and each eye's EAR fall below fractions of their
    baselines (a running high percentile of open-eye EAR, so narrow or wide eyes both work).
    A run of closed frames is a blink when it is short and the EAR around it rises at least
    `depth` above its lowest value on both sides: noise flickering across the threshold
    during a squint, a smile or lowered lids has no such open edges.
    """

    def __init__(self, config: BlinkConfig | None = None) -> None:
        self.config = config or BlinkConfig()
        window = self.config.baseline_window
        self._mean, self._left, self._right = (
            _Percentile(window),
            _Percentile(window),
            _Percentile(window),
        )
        self._recent: deque[tuple[float, float]] = deque()  # (t, EAR / baseline), open frames
        self._run: _Closure | None = None
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

    def baseline(self) -> float:
        """The open-eye mean EAR level (the fallback's equivalent before enough samples)."""
        if len(self._mean) < self.config.min_baseline_samples:
            return self.config.fallback_threshold / self.config.ratio
        return self._mean.value(self.config.baseline_percentile)

    def update(self, features: FrameFeatures) -> list[LivenessEvent]:
        """Feed one frame; returns the blink confirmed on it, if any."""
        if features.ear is None or features.ear_left is None or features.ear_right is None:
            self._run = None  # a lost face is no evidence of closed eyes
            self._last_open = None
            self._recent.clear()
            return []
        t = features.timestamp
        level = features.ear / self.baseline()
        closed = self._is_closed(features.ear, features.ear_left, features.ear_right)
        # Every frame feeds the baseline: its high percentile ignores the few closed frames,
        # and eyes open below the fallback threshold (narrow eyes) still get a baseline.
        self._mean.add(t, features.ear)
        self._left.add(t, features.ear_left)
        self._right.add(t, features.ear_right)
        if closed:
            self._extend_run(t, level)
            return []
        events = self._reopen(t, level)
        self._remember_open(t, level)
        return events

    def _is_closed(self, ear: float, left: float, right: float) -> bool:
        mean_thr, left_thr, right_thr = self.thresholds()
        return ear < mean_thr and left < left_thr and right < right_thr

    def _extend_run(self, t: float, level: float) -> None:
        run = self._run
        if run is None or run.reopened is not None:
            # A new closure (a pending one that never reopened properly is dropped).
            peak = max(
                (v for u, v in self._recent if u >= t - self.config.edge_window), default=0.0
            )
            self._run = _Closure(t, t, level, self._last_open, peak)
            return
        run.last = t
        run.lowest = min(run.lowest, level)

    def _reopen(self, t: float, level: float) -> list[LivenessEvent]:
        run = self._run
        if run is None:
            return []
        if run.reopened is None:
            run.reopened = t
        needed = run.lowest + self.config.depth
        if level >= needed:
            self._run = None
            return self._judge(run)
        if t - run.last > self.config.edge_window:
            self._run = None  # the eyes never opened clearly again: a squint, not a blink
        return []

    def _judge(self, run: _Closure) -> list[LivenessEvent]:
        cfg = self.config
        if run.open_before is None or run.reopened is None:
            return []  # the closure began before we saw the eyes open
        if run.peak_before < run.lowest + cfg.depth:
            return []
        # The closure lasted at least last-first and at most between the open frames around it.
        if (
            run.reopened - run.open_before < cfg.min_duration
            or run.last - run.first > cfg.max_duration
        ):
            return []
        event = LivenessEvent("blink", run.first, run.last)
        self.history.append(event)
        return [event]

    def _remember_open(self, t: float, level: float) -> None:
        self._last_open = t
        self._recent.append((t, level))
        while self._recent and self._recent[0][0] < t - self.config.edge_window:
            self._recent.popleft()

    def finish(self) -> list[LivenessEvent]:
        """End of stream: an unfinished closure is not a blink."""
        self._run = None
        return []


@dataclass(frozen=True)
class SmileConfig:
    """Smile = mouth wider than the person's neutral AND both corners raised, evenly, held."""

    width_gain: float = 1.08  # mouth width over the neutral width
    lift: float = 0.04  # both corners above the lip line by this much more than at rest (x IOD)
    max_asymmetry: float = 0.05  # corner lift difference beyond which it is a smirk (x IOD)
    neutral_percentile: float = 30.0  # of recent mouth width: the relaxed mouth
    neutral_lift_percentile: float = 50.0  # of recent corner lift (a low one is talking noise)
    neutral_window: float = 30.0  # seconds: long, so a long smile does not become neutral
    max_neutral_width: float = 0.85  # a neutral mouth is narrower than this (x IOD)
    max_neutral_lift: float = 0.02  # and its corners no higher than this above the lip line
    min_baseline_samples: int = 15  # until then the caps alone are the neutral mouth
    min_duration: float = 0.3  # seconds the shape must hold
    max_gap: float = 0.15  # seconds of non-smile frames tolerated inside one smile


class _Hold:
    """Hysteresis on a per-frame condition: an event is confirmed once the condition has held
    for min_duration (forgiving gaps up to max_gap / 2), and ends when it has failed for
    longer than max_gap."""

    def __init__(self, min_duration: float, max_gap: float) -> None:
        self.min_duration = min_duration
        self.max_gap = max_gap
        self.start: float | None = None
        self.last_true: float | None = None
        self.confirmed = False

    def step(self, t: float, condition: bool) -> tuple[bool, tuple[float, float] | None]:
        """Advance; returns (just confirmed, interval that just ended if confirmed)."""
        if condition:
            if self.start is None:
                self.start = t
            self.last_true = t
            if not self.confirmed and t - self.start >= self.min_duration:
                self.confirmed = True
                return True, None
            return False, None
        if self.start is None or self.last_true is None:
            return False, None
        # Before confirmation only a dropped frame or two is forgiven: a talking mouth that
        # flickers in and out of a smile shape never adds up to a held smile.
        gap = self.max_gap if self.confirmed else self.max_gap / 2
        if t - self.last_true <= gap:
            return False, None
        return False, self.close()

    def close(self) -> tuple[float, float] | None:
        """End the current run; its interval if it had been confirmed."""
        ended = None
        if self.confirmed and self.start is not None and self.last_true is not None:
            ended = (self.start, self.last_true)
        self.start = self.last_true = None
        self.confirmed = False
        return ended


class SmileDetector:
    """Finds smiles: wider mouth plus raised, symmetric corners, held for a moment.

    Talking opens and stretches the mouth for a few frames without lifting the corners;
    an open "O" mouth narrows it; a smirk lifts one corner only. The neutral mouth is a low
    percentile of recent widths, capped at typical relaxed values so that a person who
    smiles from the first frame still has a neutral reference.
    """

    def __init__(self, config: SmileConfig | None = None) -> None:
        self.config = config or SmileConfig()
        self._width = _Percentile(self.config.neutral_window)
        self._lift = _Percentile(self.config.neutral_window)
        self._hold = _Hold(self.config.min_duration, self.config.max_gap)
        self.history: list[LivenessEvent] = []

    def neutral(self) -> tuple[float, float]:
        """The person's relaxed mouth width and corner lift (x IOD)."""
        cfg = self.config
        if len(self._width) < cfg.min_baseline_samples:
            return cfg.max_neutral_width, cfg.max_neutral_lift
        return (
            min(self._width.value(cfg.neutral_percentile), cfg.max_neutral_width),
            min(self._lift.value(cfg.neutral_lift_percentile), cfg.max_neutral_lift),
        )

    def is_smiling(self, mouth: MouthShape) -> bool:
        """Whether one frame's mouth shape is a smile against the current neutral."""
        cfg = self.config
        width, lift = self.neutral()
        raised = min(mouth.lift_left, mouth.lift_right) - lift
        return (
            mouth.width >= width * cfg.width_gain
            and raised >= cfg.lift
            and abs(mouth.lift_left - mouth.lift_right) <= cfg.max_asymmetry
        )

    def update(self, features: FrameFeatures) -> list[LivenessEvent]:
        """Feed one frame; returns a smile when it is confirmed (complete=False) and none else."""
        t = features.timestamp
        mouth = features.mouth
        if mouth is None:
            self._record(self._hold.close())
            return []
        confirmed, ended = self._hold.step(t, self.is_smiling(mouth))
        self._width.add(t, mouth.width)
        self._lift.add(t, min(mouth.lift_left, mouth.lift_right))
        self._record(ended)
        if confirmed and self._hold.start is not None:
            return [LivenessEvent("smile", self._hold.start, t, complete=False)]
        return []

    def _record(self, interval: tuple[float, float] | None) -> None:
        if interval is not None:
            self.history.append(LivenessEvent("smile", interval[0], interval[1]))

    def finish(self) -> list[LivenessEvent]:
        """End of stream: close a smile still going on."""
        self._record(self._hold.close())
        return []


@dataclass(frozen=True)
class TurnConfig:
    """Turn = yaw held beyond a threshold away from the person's rest pose."""

    threshold: float = 12.0  # degrees from the rest pose (see estimate_yaw for the scale)
    min_duration: float = 0.15  # seconds held
    max_gap: float = 0.1  # seconds of frames back inside the threshold tolerated in one turn
    rest_window: float = 5.0  # seconds of near-rest yaw behind the rest pose (its median)
    min_rest_samples: int = 10  # until then there is no rest pose and no turn
    smoothing: int = 3  # frames in the running median that removes single-frame glitches
    max_hold: float = 4.0  # seconds turned after which the pose becomes the new rest


class TurnDetector:
    """Finds head turns; direction is where the nose moves in the image."""

    def __init__(self, config: TurnConfig | None = None) -> None:
        self.config = config or TurnConfig()
        self._rest = _Percentile(self.config.rest_window)
        self._recent: deque[float] = deque(maxlen=max(1, self.config.smoothing))
        self._holds = {
            side: _Hold(self.config.min_duration, self.config.max_gap)
            for side in ("image_left", "image_right")
        }
        self.history: list[LivenessEvent] = []

    def rest(self) -> float | None:
        """The rest yaw (degrees): median of recent near-rest frames, once there are enough."""
        if len(self._rest) < self.config.min_rest_samples:
            return None
        return self._rest.value(50.0)

    def update(self, features: FrameFeatures) -> list[LivenessEvent]:
        """Feed one frame; returns a turn when it is confirmed (complete=False)."""
        t = features.timestamp
        if features.yaw is None:
            self._recent.clear()
            self._close_all()
            return []
        self._recent.append(features.yaw)
        # statistics.median equals np.median here and costs ~1 us, not ~20, on 3 values.
        yaw = float(statistics.median(self._recent))
        rest = self.rest()
        if rest is None:
            self._rest.add(t, yaw)
            return []
        offset = yaw - rest
        events = []
        for side, hold in self._holds.items():
            beyond = (
                offset <= -self.config.threshold
                if side == "image_left"
                else (offset >= self.config.threshold)
            )
            confirmed, ended = hold.step(t, beyond)
            self._record(side, ended)
            if confirmed and hold.start is not None:
                events.append(LivenessEvent("turn", hold.start, t, side, complete=False))
        self._follow_rest(t, yaw, offset)
        return events

    def _follow_rest(self, t: float, yaw: float, offset: float) -> None:
        """Near-rest frames refine the rest pose; a turn held too long becomes the new rest."""
        if abs(offset) < self.config.threshold / 2:
            self._rest.add(t, yaw)
            return
        for hold in self._holds.values():
            if hold.start is not None and t - hold.start > self.config.max_hold:
                self._rest.clear()  # the next frames define the new rest

    def _record(self, side: str, interval: tuple[float, float] | None) -> None:
        if interval is not None:
            self.history.append(LivenessEvent("turn", interval[0], interval[1], side))

    def _close_all(self) -> None:
        for side, hold in self._holds.items():
            self._record(side, hold.close())

    def finish(self) -> list[LivenessEvent]:
        """End of stream: close a turn still going on."""
        self._close_all()
        return []
