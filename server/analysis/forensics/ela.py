"""Error level analysis: re-save at JPEG quality 95 and look where the image changes most."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from server.analysis.errors import AnalysisError
from server.analysis.forensics.heatmaps import colourise
from server.analysis.forensics.imaging import as_bgr, downscale, normalise_map
from server.analysis.forensics.result import IMAGE, MAP, Result

QUALITY = 95
ENHANCE = 10  # the difference is tiny: x10 makes it visible and gives the seed's score scale
LOW_BELOW, HIGH_ABOVE = 8.0, 15.0  # Low < 8 <= Medium <= 15 < High
HEATMAP_SIDE = 1024
_BLOCK = 16  # outlier regions are judged on blocks of this size (working copy pixels)
_RAISED = 1.5  # a pixel whose error level is this many times the typical one is marked
_OUTLIER = 2.5  # a block whose error level exceeds this many times the image median stands out


@dataclass
class ElaResult(Result):
    """Mean enhanced error level, its level, and how much of the image stands out."""

    score: float  # mean of the x10 difference image, 0..255
    level: str  # "Low", "Medium" or "High"
    outlier_percent: float  # share of blocks far above the image's typical error level
    suspicion: float  # 0..1 evidence of a region compressed differently from the rest
    quality: int = QUALITY
    enhancement: int = ENHANCE
    enhanced: np.ndarray | None = field(
        default=None, repr=False, metadata=IMAGE
    )  # the x10 difference image itself
    heatmap: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    evidence: np.ndarray | None = field(
        default=None, repr=False, metadata=MAP
    )  # 0.5 and above: an outlier error level


def level_of(score: float) -> str:
    """The seed's three-step level of an ELA score."""
    if score < LOW_BELOW:
        return "Low"
    return "Medium" if score <= HIGH_ABOVE else "High"


def error_levels(image_bgr: np.ndarray, quality: int = QUALITY) -> np.ndarray:
    """Per-pixel absolute difference (max over channels) between the image and its re-save."""
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise AnalysisError("ANALYSIS_ERROR", "JPEG re-encoding for ELA failed")
    resaved = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    diff = cv2.absdiff(image_bgr, resaved)
    blue, green, red = cv2.split(diff)  # cv2.max is ~4x faster than numpy's channel max
    return cv2.max(cv2.max(blue, green), red)


def error_level_analysis(image: np.ndarray) -> ElaResult:
    """ELA at quality 95 with x10 enhancement: score, level, outlier share and heatmaps."""
    image_bgr = as_bgr(image)
    diff = error_levels(image_bgr)
    enhanced = cv2.convertScaleAbs(diff, alpha=ENHANCE)  # saturates at 255
    score = float(cv2.mean(enhanced)[0])
    # Everything after the score works on a small copy: at 20 MP a float copy alone costs more.
    small_u8, _ = downscale(diff, HEATMAP_SIDE)
    local = cv2.GaussianBlur(small_u8.astype(np.float32), (0, 0), 4.0)
    typical = _typical_level(local)
    outliers = _outlier_share(local, typical)
    heat = normalise_map(local, high=max(1.0, float(np.percentile(local, 99.5))))
    ela_view = cv2.convertScaleAbs(small_u8, alpha=ENHANCE)
    return ElaResult(
        score=round(score, 2),
        level=level_of(score),
        outlier_percent=round(100 * outliers, 2),
        suspicion=round(float(np.clip(outliers / 0.10, 0.0, 1.0)), 3),
        enhanced=cv2.cvtColor(ela_view, cv2.COLOR_GRAY2BGR),
        heatmap=colourise(heat),
        evidence=np.clip(local / (2 * _RAISED * typical), 0.0, 1.0),
    )


def _blocks(local: np.ndarray) -> np.ndarray:
    """Mean error level of each _BLOCK x _BLOCK block."""
    height, width = local.shape
    rows, cols = max(1, height // _BLOCK), max(1, width // _BLOCK)
    size = min(_BLOCK, height, width)
    cut = local[: rows * size, : cols * size]
    return cut.reshape(rows, size, cols, size).mean(axis=(1, 3))


def _typical_level(local: np.ndarray) -> float:
    """The median block's error level, floored: near-zero medians inflate every ratio."""
    return max(0.5, float(np.median(_blocks(local))))


def _outlier_share(local: np.ndarray, typical: float) -> float:
    """Share of blocks whose mean error level is far above the typical block's."""
    return float((_blocks(local) > _OUTLIER * typical).mean())
