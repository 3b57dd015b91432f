"""dlib faces: HOG detection on a downscaled copy, 68 landmarks, 128-d embeddings, quality checks.

Models load once per process, on first use. The weight files come from the
`face_recognition_models` package, located by its own directory (no pkg_resources).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np

from server.analysis.errors import AnalysisError

# dlib's own HOG detector is trained for faces of about 80 px: a webcam or ID portrait face
# is far larger, so detecting on a 640-px-wide copy loses nothing and is ~10x cheaper.
DEFAULT_DETECT_WIDTH = 640
# HOG scores on photos: real faces 0.42-2.3 (deepface set, group photos included); a JPEG
# artefact on skimage's astronaut scored 0.04 and made a portrait "two faces".
PHOTO_MIN_SCORE = 0.2


@dataclass(frozen=True)
class FaceBox:
    """A face rectangle in the pixel coordinates of the full image (right/bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def scaled(self, factor: float) -> FaceBox:
        """The same box in an image `factor` times the size."""
        return FaceBox(*(round(v * factor) for v in (self.left, self.top, self.right, self.bottom)))

    def to_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom}

    def to_dlib(self) -> dlib.rectangle:
        return dlib.rectangle(self.left, self.top, self.right, self.bottom)


@dataclass(frozen=True)
class Portrait:
    """The one face of a photo: where it is, its landmarks, its embedding and its sharpness."""

    box: FaceBox
    landmarks: np.ndarray  # (68, 2) float, image coordinates
    embedding: np.ndarray  # (128,) float64
    sharpness: float  # Laplacian variance of the normalised face crop


@dataclass(frozen=True)
class QualityLimits:
    """What an enrolment or verification photo must satisfy."""

    min_face_px: int = 80
    min_sharpness: float = 15.0


def models_dir() -> Path:
    """The directory holding dlib's weight files inside the face_recognition_models package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RuntimeError("face_recognition_models is not installed")
    return Path(spec.origin).parent / "models"


@functools.cache
def _detector() -> dlib.fhog_object_detector:
    return dlib.get_frontal_face_detector()


@functools.cache
def _shape_predictor() -> dlib.shape_predictor:
    return dlib.shape_predictor(str(models_dir() / "shape_predictor_68_face_landmarks.dat"))


@functools.cache
def _recogniser() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(
        str(models_dir() / "dlib_face_recognition_resnet_model_v1.dat")
    )


def load_models() -> None:
    """Load every model now (a worker's initializer) instead of on the first request."""
    _detector()
    _shape_predictor()
    _recogniser()


def to_rgb(image_bgr: np.ndarray) -> np.ndarray:
    """dlib wants contiguous RGB (or gray) uint8."""
    if image_bgr.ndim == 2:
        return np.ascontiguousarray(image_bgr)
    return np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))


def detect_faces(
    image_bgr: np.ndarray,
    detect_width: int = DEFAULT_DETECT_WIDTH,
    upsample: int = 0,
    min_score: float = 0.0,
) -> list[FaceBox]:
    """Face boxes found by HOG on a copy at most detect_width wide, mapped back to full size.

    min_score raises dlib's detection threshold (its default is 0).
    """
    height, width = image_bgr.shape[:2]
    scale = min(1.0, detect_width / width)
    small = (
        image_bgr
        if scale == 1.0
        else cv2.resize(
            image_bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    )
    gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    rects, _scores, _kinds = _detector().run(np.ascontiguousarray(gray), upsample, min_score)
    return [_scale_box(r, 1.0 / scale, width, height) for r in rects]


def _scale_box(rect: dlib.rectangle, factor: float, width: int, height: int) -> FaceBox:
    return FaceBox(
        left=max(0, round(rect.left() * factor)),
        top=max(0, round(rect.top() * factor)),
        right=min(width, round((rect.right() + 1) * factor)),
        bottom=min(height, round((rect.bottom() + 1) * factor)),
    )


def detect_faces_robust(
    image_bgr: np.ndarray, detect_width: int = DEFAULT_DETECT_WIDTH
) -> list[FaceBox]:
    """Faces of a photo: detect_faces with a score floor, retried upsampled if none is found."""
    boxes = detect_faces(image_bgr, detect_width, min_score=PHOTO_MIN_SCORE)
    return boxes or detect_faces(image_bgr, detect_width, upsample=1, min_score=PHOTO_MIN_SCORE)


def _shape(image: np.ndarray, box: FaceBox) -> dlib.full_object_detection:
    return _shape_predictor()(image, box.to_dlib())


def _shape_to_array(shape: dlib.full_object_detection) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def face_landmarks(image_bgr: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 68 iBUG landmarks of the face in box, as a (68, 2) float array."""
    return _shape_to_array(_shape(to_rgb(image_bgr), box))


def face_embedding(image_bgr: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 128-d ResNet embedding of the face in box (aligned by its 68 landmarks)."""
    rgb = to_rgb(image_bgr)
    return _embedding(rgb, _shape(rgb, box))


def _embedding(rgb: np.ndarray, shape: dlib.full_object_detection) -> np.ndarray:
    return np.array(_recogniser().compute_face_descriptor(rgb, shape), dtype=np.float64)


def sharpness(image_bgr: np.ndarray, box: FaceBox) -> float:
    """Laplacian variance of the face crop resized to 128 px, so the measure ignores scale."""
    crop = image_bgr[box.top : box.bottom, box.left : box.right]
    if crop.size == 0:
        return 0.0
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    gray = cv2.resize(gray, (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def check_quality(image_bgr: np.ndarray, boxes: list[FaceBox], limits: QualityLimits) -> FaceBox:
    """The single acceptable face of a photo, or an AnalysisError saying what is wrong."""
    if not boxes:
        raise AnalysisError("NO_FACE", "no face found in the photo")
    if len(boxes) > 1:
        raise AnalysisError("MULTIPLE_FACES", f"{len(boxes)} faces found; exactly one is needed")
    box = boxes[0]
    side = min(box.width, box.height)
    if side < limits.min_face_px:
        raise AnalysisError(
            "FACE_TOO_SMALL", f"the face is {side} px; at least {limits.min_face_px} px is needed"
        )
    value = sharpness(image_bgr, box)
    if value < limits.min_sharpness:
        raise AnalysisError(
            "TOO_BLURRY",
            f"the face is too blurry (sharpness {value:.0f}, at least {limits.min_sharpness:.0f})",
        )
    return box


def analyse_portrait(
    image_bgr: np.ndarray,
    limits: QualityLimits | None = None,
    detect_width: int = DEFAULT_DETECT_WIDTH,
) -> Portrait:
    """Find the one face of a photo, check its quality, and compute landmarks and embedding."""
    limits = limits or QualityLimits()
    box = check_quality(image_bgr, detect_faces_robust(image_bgr, detect_width), limits)
    rgb = to_rgb(image_bgr)
    shape = _shape(rgb, box)
    return Portrait(
        box=box,
        landmarks=_shape_to_array(shape),
        embedding=_embedding(rgb, shape),
        sharpness=sharpness(image_bgr, box),
    )


def draw_landmarks(image_bgr: np.ndarray, box: FaceBox, landmarks: np.ndarray) -> np.ndarray:
    """A copy of the image with the face box and the 68 landmarks drawn on it."""
    out = image_bgr.copy()
    thickness = max(1, round(max(out.shape[:2]) / 400))
    cv2.rectangle(out, (box.left, box.top), (box.right, box.bottom), (0, 200, 0), thickness)
    for x, y in landmarks.round().astype(int):
        cv2.circle(out, (int(x), int(y)), thickness + 1, (0, 0, 255), -1)
    return out
