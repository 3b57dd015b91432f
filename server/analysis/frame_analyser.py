"""Per-stream face analysis: detect on a downscaled frame now and then, track in between.

HOG detection costs ~6-12 ms at 320 px wide and ~25-60 ms at 640; dlib's correlation tracker
~5 ms; the 68 landmarks ~3 ms on the full frame. Detecting every Nth frame (or when the
tracker's confidence drops) keeps the average near 10 ms per 640x480 frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from server.analysis.faces import FaceBox, detect_faces, face_landmarks
from server.analysis.liveness import FrameFeatures, frame_features


@dataclass(frozen=True)
class AnalyserConfig:
    """How often to detect, at what size, and when to stop trusting the tracker."""

    detect_width: int = 320  # smallest detection width; HOG finds faces of ~80 px and up
    max_detect_width: int = 640  # widest retry when nothing is found at the current width
    target_face_px: int = 110  # detection width is chosen so the face is about this wide
    redetect_every: int = 10  # detect on every Nth frame while tracking goes well
    min_track_psr: float = 7.0  # peak-to-sidelobe ratio below which the tracker is lost


class FrameAnalyser:
    """One per stream: turns each frame into FrameFeatures, keeping tracker state between calls."""

    def __init__(self, config: AnalyserConfig | None = None) -> None:
        self.config = config or AnalyserConfig()
        self._tracker: dlib.correlation_tracker | None = None
        self._scale = 1.0  # small-frame pixels per full-frame pixel at the last detection
        self._width = self.config.detect_width
        self._since_detect = 0
        self._face_count = 0
        self._size = (0, 0)  # full-frame size of the face at the last detection
        self.detections = 0  # frames on which the detector ran (for timing reports)
        self.frames = 0

    def reset(self) -> None:
        """Forget the tracked face (a new attempt or a new stream source)."""
        self._tracker = None
        self._since_detect = 0
        self._face_count = 0

    def analyse(self, frame_bgr: np.ndarray, timestamp: float) -> FrameFeatures:
        """Features of one frame: detect or track the face, then its 68 landmarks."""
        self.frames += 1
        box, detected = self._locate(frame_bgr)
        if box is None:
            return frame_features(timestamp, self._face_count, detected=detected)
        landmarks = face_landmarks(frame_bgr, box)
        return frame_features(timestamp, self._face_count, box, landmarks, detected)

    def _locate(self, frame_bgr: np.ndarray) -> tuple[FaceBox | None, bool]:
        if self._tracker is not None and self._since_detect + 1 < self.config.redetect_every:
            box = self._track(frame_bgr)
            if box is not None:
                return box, False
        return self._detect(frame_bgr), True

    def _small_gray(self, frame_bgr: np.ndarray, width: int) -> tuple[np.ndarray, float]:
        height, full_width = frame_bgr.shape[:2]
        scale = min(1.0, width / full_width)
        small = frame_bgr
        if scale < 1.0:
            size = (round(full_width * scale), round(height * scale))
            small = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
        gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return np.ascontiguousarray(gray), scale

    def _track(self, frame_bgr: np.ndarray) -> FaceBox | None:
        assert self._tracker is not None
        gray, _ = self._small_gray(frame_bgr, self._tracked_width(frame_bgr))
        psr = self._tracker.update(gray)
        self._since_detect += 1
        if psr < self.config.min_track_psr:
            return None
        # Only the tracker's centre is used: its scale estimate drifts (10 % in a few frames
        # on a talking head) and the landmarks follow the box; the size comes from the last
        # detection, which is at most redetect_every frames old.
        centre = self._tracker.get_position().center()
        cx, cy = centre.x / self._scale, centre.y / self._scale
        width, height = self._size
        box = FaceBox(
            round(cx - width / 2),
            round(cy - height / 2),
            round(cx + width / 2),
            round(cy + height / 2),
        )
        return _clip(box, frame_bgr.shape)

    def _tracked_width(self, frame_bgr: np.ndarray) -> int:
        return round(frame_bgr.shape[1] * self._scale)

    def _detect(self, frame_bgr: np.ndarray) -> FaceBox | None:
        """Run HOG at the preferred width, widening once when it finds nothing."""
        self.detections += 1
        self._since_detect = 0
        previous = self._tracked_box_hint()
        for width in self._widths(frame_bgr.shape[1]):
            gray, scale = self._small_gray(frame_bgr, width)
            boxes = detect_faces(gray, detect_width=gray.shape[1])
            if boxes:
                return self._start_track(gray, scale, boxes, previous, frame_bgr.shape)
        self._tracker = None
        self._face_count = 0
        return None

    def _widths(self, full_width: int) -> list[int]:
        first = min(self._width, full_width)
        wider = min(self.config.max_detect_width, full_width)
        return [first] if wider <= first else [first, wider]

    def _tracked_box_hint(self) -> tuple[float, float] | None:
        if self._tracker is None:
            return None
        centre = self._tracker.get_position().center()
        return centre.x / self._scale, centre.y / self._scale

    def _start_track(
        self,
        gray: np.ndarray,
        scale: float,
        boxes: list[FaceBox],
        previous: tuple[float, float] | None,
        shape: tuple[int, ...],
    ) -> FaceBox | None:
        small_box = _primary(boxes, previous, scale)
        self._face_count = len(boxes)
        self._scale = scale
        self._tracker = dlib.correlation_tracker()
        self._tracker.start_track(gray, _to_dlib(small_box))
        full = _scaled(small_box, 1.0 / scale)
        self._size = (full.width, full.height)
        box = _clip(full, shape)
        if box is not None:
            self._width = self._next_width(box, shape[1])
        return box

    def _next_width(self, box: FaceBox, full_width: int) -> int:
        """Detection width that shows this face at about target_face_px (within the limits)."""
        wanted = full_width * self.config.target_face_px / max(1, box.width)
        limit = min(self.config.max_detect_width, full_width)
        return int(min(limit, max(self.config.detect_width, wanted)))


def _primary(boxes: list[FaceBox], previous: tuple[float, float] | None, scale: float) -> FaceBox:
    """The face to follow: nearest the one tracked so far, else the largest."""
    if previous is None:
        return max(boxes, key=lambda b: b.width * b.height)
    px, py = previous[0] * scale, previous[1] * scale

    def distance(b: FaceBox) -> float:
        return float(np.hypot((b.left + b.right) / 2 - px, (b.top + b.bottom) / 2 - py))

    return min(boxes, key=distance)


def _scaled(box: FaceBox, factor: float) -> FaceBox:
    return FaceBox(
        left=round(box.left * factor),
        top=round(box.top * factor),
        right=round(box.right * factor),
        bottom=round(box.bottom * factor),
    )


def _to_dlib(box: FaceBox) -> dlib.rectangle:
    """dlib rectangles are inclusive; FaceBox's right and bottom are exclusive."""
    return dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)


def _clip(box: FaceBox, shape: tuple[int, ...]) -> FaceBox | None:
    height, width = shape[:2]
    clipped = FaceBox(
        max(0, box.left), max(0, box.top), min(width, box.right), min(height, box.bottom)
    )
    if clipped.width < 8 or clipped.height < 8:
        return None
    return clipped
