"""Per-stream face analysis: HOG now and then, the face followed by its own landmarks.

Costs on a 640x480 luma plane (2 shared cores, noisy): HOG at 320 px wide ~6-9 ms, the 68
landmarks ~1.4-2.2 ms, everything else here ~0.3 ms. So HOG runs only (a) when no face is
followed, (b) when the tracked fit fails a sanity check and (c) on every `detect_every`th
frame to count faces (presence monitoring needs "no face" and "more than one face"). On
every other frame the previous frame's landmarks, mapped into the box convention the shape
predictor was trained with (HOG's boxes), are where this frame's landmarks are fitted. On
the shared liveness videos HOG runs on ~7 % of frames: (c) ~6 %, (b) ~0.8 %.

Everything a stream needs between frames is a `TrackState`: small, frozen, picklable and
free of dlib objects, so any worker process can serve any frame of any stream, and
`analyse_frame` is a pure function of (frame, timestamp, state, config).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace

import cv2
import numpy as np

from server.analysis.faces import FaceBox, detect_faces, face_landmarks
from server.analysis.liveness import FrameFeatures, frame_features

# Brows, nose and eyes (iBUG 17-47): their centroid and spread locate the face. The jaw and
# the mouth are left out because they move when the mouth opens, which the box must not.
_STABLE = slice(17, 48)
_LEFT_EYE, _RIGHT_EYE = slice(36, 42), slice(42, 48)
PATCH = 24  # side of the grey face patch compared between frames (576 bytes in the state)


@dataclass(frozen=True)
class AnalyserConfig:
    """When HOG runs, how landmarks map to the next search box, and what counts as lost.

    Calibration (measured on the 3989 frames of the shared liveness videos at 640 px, HOG at
    320 px, landmarks fitted in the HOG box; `scale` is the RMS distance of points 17-47 from
    their centroid): the HOG box is square with side 3.86 scale (per-video means 3.73-4.09),
    centred 0.74 scale below that centroid along the face's vertical axis (per-video means
    0.65-0.87) and 0.00 across it. Within one video the same ratios jitter by 0.1-0.3 scale
    (HOG's box sizes come in pyramid steps of 17 %), three times the spread between faces,
    so a fixed mapping is steadier than re-calibrating on each detection. One clip
    (source_s32) is left out: its face is below HOG's 80 px window at 320 px, and the box
    HOG reports there (5.2 scale) is the window, not the face.
    """

    detect_width: int = 320  # HOG runs on a copy this wide (faces of ~160 px and up at 640)
    max_detect_width: int = 640  # while no face is found, HOG retries this wide every Nth frame
    detect_every: int = 15  # N: HOG counts faces on every Nth frame even when tracking is sane
    box_side: float = 3.86  # detector box side / landmark scale
    box_drop: float = 0.74  # detector box centre below the landmark centroid, in scale units
    # Sanity of a tracked fit against the previous frame (the measurements behind these are
    # in _sane). A false alarm costs one HOG run; a missed loss costs landmarks on a non-face
    # until the next periodic HOG.
    min_patch_ncc: float = 0.75  # correlation of the face patch with the previous frame's
    min_patch_std: float = 2.0  # grey levels; below this the patch is flat (a blank frame)
    max_scale_change: float = 0.12  # |log| of the landmark scale ratio between frames
    max_jump: float = 0.5  # landmark centroid move between frames, in scale units
    min_inside: float = 0.75  # share of the mapped box that lies inside the frame
    min_overlap: float = 0.3  # IoU with a HOG box for the tracked face to be that face
    verify_face_px: int = 100  # a tracked face HOG missed is re-checked on a crop this size
    # The regression cascade converges only from a box near the face: when the landmarks
    # moved more than this (scale units) since the last frame, they are fitted again from
    # the box they now give (see _track).
    refit_jump: float = 0.2
    # A 2-D input is the Y plane of I420, video range 16-235: it is stretched to 0-255, the
    # range dlib's models were trained on (and what PyAV's to_ndarray("gray") returns).
    video_range: bool = True


@dataclass(frozen=True)
class TrackState:
    """What one stream carries from frame to frame (a few hundred bytes when pickled)."""

    shape: tuple[int, int]  # (height, width) of the frames it belongs to
    face_count: int  # faces HOG found at its last run
    since_detect: int  # frames since HOG's last run (with no face: since its last wide run)
    box: tuple[float, float, float, float] | None = None  # next search box; None: no face
    centre: tuple[float, float] = (0.0, 0.0)  # landmark centroid (points 17-47) last frame
    scale: float = 0.0  # landmark scale last frame
    patch: bytes = b""  # PATCH x PATCH grey face patch last frame
    reason: str = "start"  # why HOG ran last: start | periodic | degraded | absent


@dataclass(frozen=True)
class _Fit:
    """Landmarks fitted in a box and what the next frame needs from them."""

    landmarks: np.ndarray
    centre: tuple[float, float]
    scale: float
    box: tuple[float, float, float, float]  # in the detector's box convention
    patch: np.ndarray  # float32 (PATCH, PATCH)


def analyse_frame(
    gray: np.ndarray, timestamp: float, state: TrackState | None, config: AnalyserConfig
) -> tuple[FrameFeatures, TrackState]:
    """Features of one frame and the state for the stream's next frame.

    `gray` is the luma plane: 2-D uint8, the Y plane of I420 in video range 16-235 (or
    0-255 with config.video_range False); a 3-D array is taken as BGR, for old callers.
    """
    gray = _luma(gray, config.video_range)
    shape = (gray.shape[0], gray.shape[1])
    if state is None or state.shape != shape:  # a new stream or a new resolution
        state = TrackState(shape=shape, face_count=0, since_detect=0)
        return _search(gray, timestamp, state, config, wide=True, reason="start")
    if state.box is None:
        wide = state.since_detect + 1 >= config.detect_every
        return _search(gray, timestamp, state, config, wide=wide, reason="absent")
    fit = _track(gray, state, config)
    sane = _sane(fit, state, shape, config)
    if sane and state.since_detect + 1 < config.detect_every:
        tracked = _state(state, fit, state.face_count, state.since_detect + 1, "")
        return _features(timestamp, state.face_count, fit, shape, detected=False), tracked
    return _redetect(gray, timestamp, state, config, fit if sane else None)


class FrameAnalyser:
    """One stream's analyser in one process: `analyse_frame` with the state kept here."""

    def __init__(
        self, config: AnalyserConfig | None = None, state: TrackState | None = None
    ) -> None:
        self.config = config or AnalyserConfig()
        self.state = state  # another process's state continues that stream here
        self.detections = 0  # frames on which HOG ran on the whole frame (for timing reports)
        self.frames = 0
        self.reasons: Counter[str] = Counter()  # why HOG ran: start, periodic, degraded, absent

    def reset(self) -> None:
        """Forget the followed face (a new attempt or a new stream source)."""
        self.state = None

    def analyse(self, frame: np.ndarray, timestamp: float) -> FrameFeatures:
        """Features of one frame (luma plane, or BGR for old callers)."""
        features, self.state = analyse_frame(frame, timestamp, self.state, self.config)
        self.frames += 1
        if features.detected:
            self.detections += 1
            self.reasons[self.state.reason] += 1
        return features


# --- detection ---------------------------------------------------------------------------


def _search(
    gray: np.ndarray,
    timestamp: float,
    state: TrackState,
    config: AnalyserConfig,
    wide: bool,
    reason: str,
) -> tuple[FrameFeatures, TrackState]:
    """No face is followed: HOG on the whole frame, and now and then wider (small faces).

    While no face is found, since_detect counts frames since the last wide try."""
    boxes = _hog(gray, config.detect_width)
    since = state.since_detect + 1
    if not boxes and wide and config.max_detect_width > config.detect_width:
        boxes = _hog(gray, config.max_detect_width)
        since = 0
    if not boxes:
        empty = TrackState(shape=state.shape, face_count=0, since_detect=since, reason=reason)
        return frame_features(timestamp, 0, detected=True), empty
    return _start(gray, timestamp, state, config, boxes, None, reason)


def _redetect(
    gray: np.ndarray,
    timestamp: float,
    state: TrackState,
    config: AnalyserConfig,
    tracked: _Fit | None,
) -> tuple[FrameFeatures, TrackState]:
    """HOG on the whole frame while following a face: periodic (tracked is the sane fit) or
    because the fit failed its checks (tracked is None)."""
    reason = "periodic" if tracked is not None else "degraded"
    boxes = _hog(gray, config.detect_width)
    if tracked is not None:
        # The followed face keeps its landmarks (no jump to HOG's coarser box). One HOG
        # misses at 320 px (too small, or turned near its limit) while its landmarks hold is
        # checked on a crop where it is verify_face_px wide, not swapped for another face.
        same = any(_iou(tracked.box, _corners(b)) >= config.min_overlap for b in boxes)
        if same or _verify(gray, tracked.box, config):
            count = len(boxes) if same else len(boxes) + 1
            kept = _state(state, tracked, count, 0, reason)
            return _features(timestamp, count, tracked, state.shape, detected=True), kept
    if not boxes:
        empty = TrackState(shape=state.shape, face_count=0, since_detect=0, reason=reason)
        return frame_features(timestamp, 0, detected=True), empty
    return _start(gray, timestamp, state, config, boxes, state.centre, reason)


def _start(
    gray: np.ndarray,
    timestamp: float,
    state: TrackState,
    config: AnalyserConfig,
    boxes: list[FaceBox],
    near: tuple[float, float] | None,
    reason: str,
) -> tuple[FrameFeatures, TrackState]:
    """Follow a face HOG found: the one nearest the face followed so far, else the largest.

    Its landmarks are fitted in HOG's own box (the convention the predictor was trained
    on), then once more from the box those landmarks give."""
    box = _primary(boxes, near)
    # Fitted again from the box its landmarks give: HOG's box is coarse (pyramid steps of
    # 17 %), and this puts the first frame's points where tracking will keep them, instead
    # of a step in EAR at the next frame (distance to the converged fit, 403 HOG frames:
    # median 0.0079 -> 0.0058 inter-ocular distances, EAR 0.010 -> 0.008).
    fit = _fit(gray, _fit(gray, _corners(box), config).box, config)
    new = _state(state, fit, len(boxes), 0, reason)
    return _features(timestamp, len(boxes), fit, state.shape, detected=True), new


def _hog(gray: np.ndarray, width: int) -> list[FaceBox]:
    """HOG faces on a copy at most `width` wide, in full-frame coordinates."""
    return detect_faces(gray, detect_width=width)


def _verify(
    gray: np.ndarray, box: tuple[float, float, float, float], config: AnalyserConfig
) -> bool:
    """HOG on a padded crop around box, scaled so the face is verify_face_px wide (~1-2 ms)."""
    left, top, right, bottom = box
    side = right - left
    pad = 0.3 * side
    height, width = gray.shape
    x0, y0 = max(0, int(left - pad)), max(0, int(top - pad))
    x1, y1 = min(width, int(right + pad)), min(height, int(bottom + pad))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return False
    factor = config.verify_face_px / side
    crop = gray[y0:y1, x0:x1]
    size = (max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor)))
    interpolation = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
    crop = np.ascontiguousarray(cv2.resize(crop, size, interpolation=interpolation))
    return bool(detect_faces(crop, detect_width=crop.shape[1]))


def _primary(boxes: list[FaceBox], near: tuple[float, float] | None) -> FaceBox:
    if near is None:
        return max(boxes, key=lambda b: b.width * b.height)
    return min(
        boxes,
        key=lambda b: math.hypot(
            (b.left + b.right) / 2 - near[0], (b.top + b.bottom) / 2 - near[1]
        ),
    )


# --- tracking ----------------------------------------------------------------------------


def _track(gray: np.ndarray, state: TrackState, config: AnalyserConfig) -> _Fit:
    """The landmarks fitted in the box the previous frame's landmarks give.

    After a fast move the cascade stops short of the face. Measured on the shared videos
    (fit from the previous box, then twice more from each result's box, the third taken as
    converged): below a centroid move of 0.2 scale the first fit is as close to converged
    as a refit (0.006 inter-ocular distances, the predictor's own box sensitivity); at
    0.3-0.5 scale it is 0.016 off (90th percentile 0.098) and one refit brings it to
    0.007. So frames that moved more than refit_jump (~3 % of frames) are fitted twice.
    """
    assert state.box is not None
    fit = _fit(gray, state.box, config)
    moved = math.hypot(fit.centre[0] - state.centre[0], fit.centre[1] - state.centre[1])
    if state.scale > 0.0 and moved > config.refit_jump * state.scale:
        fit = _fit(gray, fit.box, config)
    return fit


def _fit(gray: np.ndarray, box: tuple[float, float, float, float], config: AnalyserConfig) -> _Fit:
    """The 68 landmarks in box, and the box, centre, scale and patch they give."""
    left, top, right, bottom = (round(v) for v in box)
    landmarks = face_landmarks(gray, FaceBox(left, top, right, bottom))
    stable = landmarks[_STABLE]
    centre = stable.mean(axis=0)
    scale = float(np.sqrt(((stable - centre) ** 2).sum(axis=1).mean()))
    mapped = landmark_box(landmarks, config.box_side, config.box_drop)
    return _Fit(
        landmarks, (float(centre[0]), float(centre[1])), scale, mapped, _patch(gray, mapped)
    )


def landmark_box(
    landmarks: np.ndarray, side: float, drop: float
) -> tuple[float, float, float, float]:
    """The square box HOG would give the face whose 68 landmarks these are (left, top, right,
    bottom as floats): `side` scale wide, `drop` scale below the centroid of points 17-47
    along the face's own vertical axis (so a rolled head gets a box centred on its face)."""
    stable = landmarks[_STABLE]
    cx, cy = stable.mean(axis=0)
    scale = float(np.sqrt(((stable - (cx, cy)) ** 2).sum(axis=1).mean()))
    ex, ey = landmarks[_RIGHT_EYE].mean(axis=0) - landmarks[_LEFT_EYE].mean(axis=0)
    roll = math.atan2(ey, ex)
    cx, cy = cx - math.sin(roll) * drop * scale, cy + math.cos(roll) * drop * scale
    half = side * scale / 2
    return (float(cx - half), float(cy - half), float(cx + half), float(cy + half))


def _patch(gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The face region (clipped to the frame) shrunk to PATCH x PATCH, as float32.

    Every step-th pixel first, keeping at least 2 x 2 samples per patch pixel, then area
    averaging: ~0.01 ms instead of ~0.13 ms for a 270 px face area-averaged in full."""
    height, width = gray.shape
    x0, y0 = max(0, round(box[0])), max(0, round(box[1]))
    x1, y1 = min(width, round(box[2])), min(height, round(box[3]))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((PATCH, PATCH), np.float32)
    step = max(1, min(x1 - x0, y1 - y0) // (2 * PATCH))
    region = gray[y0:y1:step, x0:x1:step]
    small = cv2.resize(region, (PATCH, PATCH), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def _sane(fit: _Fit, state: TrackState, shape: tuple[int, int], config: AnalyserConfig) -> bool:
    """Does the tracked fit still sit on the face of the previous frame?

    The regression cascade returns a face-shaped set of points on anything: its Procrustes
    residual against the mean shape is 0.064-0.076 on a blank frame, more face-like than
    the median real fit (0.092, 1st-99th percentile 0.047-0.20), so the shape cannot tell.
    What changes when the face goes is the picture under the points and their jump.
    Measured on the shared videos at 640 px (3977 tracked frames, and every 7th frame also
    replaced by a blank, noise, the frame rolled by half its width or height, flipped, or
    another clip's frame: 3378 replaced frames), the face patch's correlation with the
    previous frame's is >= 0.78 on 99.5 % of real frames and < 0.75 on all but 2 replaced
    ones (highest 0.759); the scale change and centroid jump stay below 0.077 and 0.48
    scale on 99.5 % of real frames, and catch those 2. The rule flags all 3378 replaced
    frames and 31 real ones (25 in driving_d12's blurred head throws, up to 0.8 scale a
    frame, 6 in driving_d6's grimaces), where one more HOG run does no harm.
    """
    if state.scale <= 0.0 or not state.patch or fit.scale <= 0.0:
        return False
    if _inside(fit.box, shape) < config.min_inside:
        return False
    if abs(math.log(fit.scale / state.scale)) > config.max_scale_change:
        return False
    jump = math.hypot(fit.centre[0] - state.centre[0], fit.centre[1] - state.centre[1])
    if jump > config.max_jump * state.scale:
        return False
    if float(fit.patch.std()) < config.min_patch_std:
        return False
    previous = np.frombuffer(state.patch, np.uint8).reshape(PATCH, PATCH).astype(np.float32)
    return _ncc(fit.patch, previous) >= config.min_patch_ncc


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm > 1e-6 else 0.0


def _inside(box: tuple[float, float, float, float], shape: tuple[int, int]) -> float:
    height, width = shape
    left, top, right, bottom = box
    area = (right - left) * (bottom - top)
    if area <= 0:
        return 0.0
    w = max(0.0, min(right, width) - max(left, 0.0))
    h = max(0.0, min(bottom, height) - max(top, 0.0))
    return w * h / area


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _corners(box: FaceBox) -> tuple[float, float, float, float]:
    return (float(box.left), float(box.top), float(box.right), float(box.bottom))


# --- results -----------------------------------------------------------------------------


def _state(state: TrackState, fit: _Fit, count: int, since: int, reason: str) -> TrackState:
    patch = np.clip(np.rint(fit.patch), 0, 255).astype(np.uint8).tobytes()
    return replace(
        state,
        face_count=count,
        since_detect=since,
        box=fit.box,
        centre=fit.centre,
        scale=fit.scale,
        patch=patch,
        reason=reason or state.reason,
    )


# Y' 16-235 to 0-255 (BT.601 video range to full range), as swscale's gray conversion does.
_STRETCH = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)


def _features(
    timestamp: float, count: int, fit: _Fit, shape: tuple[int, int], detected: bool
) -> FrameFeatures:
    """The frame's features; its box is the one the landmarks map to, clipped to the frame."""
    height, width = shape
    left, top, right, bottom = fit.box
    box = FaceBox(
        max(0, round(left)),
        max(0, round(top)),
        min(width, round(right)),
        min(height, round(bottom)),
    )
    return frame_features(timestamp, count, box, fit.landmarks, detected)


def _luma(frame: np.ndarray, video_range: bool) -> np.ndarray:
    """A C-contiguous 2-D uint8 plane, 0-255 (dlib reads nothing else without a copy)."""
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # BGR is full range already
    if video_range:
        return cv2.LUT(np.ascontiguousarray(frame), _STRETCH)  # ~0.05 ms at 640x480
    return np.ascontiguousarray(frame)
