"""The liveness seed's blur heuristic: Laplacian variance and colour variance -> 0-1 score."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from server.analysis.forensics.imaging import as_bgr, downscale, to_gray
from server.analysis.forensics.result import Result

# The seed measured on webcam-sized frames: a fixed working size keeps 500 meaningful.
WORK_SIDE = 1024
SHARP_FROM = 500.0  # Laplacian variance below this is suspicious (the seed's threshold)
COLOUR_FROM = 1500.0  # pixel variance below this reads as flat, washed-out colour
_BLUR_WEIGHT = 0.7


@dataclass
class BlurResult(Result):
    """Blur and colour flatness, the signs of a re-rendered or face-swapped picture."""

    laplacian_variance: float
    colour_variance: float
    deepfake_score: float  # 0..1
    suspicious: bool
    suspicion: float


def blur_heuristic(image: np.ndarray) -> BlurResult:
    """Laplacian variance (< 500 suspicious) and colour variance combined into 0..1."""
    work, _ = downscale(as_bgr(image), WORK_SIDE)
    sharpness = float(cv2.Laplacian(to_gray(work), cv2.CV_64F).var())
    _, std = cv2.meanStdDev(work)
    colour = float(np.mean(std.ravel() ** 2))
    blur_part = float(np.clip(1.0 - sharpness / SHARP_FROM, 0.0, 1.0))
    colour_part = float(np.clip(1.0 - colour / COLOUR_FROM, 0.0, 1.0))
    score = _BLUR_WEIGHT * blur_part + (1 - _BLUR_WEIGHT) * colour_part
    return BlurResult(
        laplacian_variance=round(sharpness, 2),
        colour_variance=round(colour, 2),
        deepfake_score=round(score, 3),
        suspicious=sharpness < SHARP_FROM,
        suspicion=round(score, 3),
    )
