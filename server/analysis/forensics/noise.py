"""Noise inconsistency: local noise of the high-pass residual, compared across smooth regions."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from server.analysis.forensics.heatmaps import colourise
from server.analysis.forensics.imaging import downscale, to_gray
from server.analysis.forensics.result import IMAGE, MAP, Result

WINDOW = 15  # local variance window (pixels of the working copy)
WORK_SIDE = 1024
# Immerkaer's noise operator: the difference of two Laplacians cancels smooth gradients and
# edges better than a blur residual; dividing by 6 gives unit gain on white noise.
_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32) / 6.0
_FLOOR = 0.5  # gray levels added before ratios: near-noiseless areas must not explode
_CUT = np.log(3.0)  # evidence 0.5 = local noise 3x above or below the image's own
_EVEN_UP_TO = 2.5  # spread (log units) of smooth-area noise most natural photos stay under
_CLIPPED = (16, 240)  # windows this dark or bright have clipped, noiseless values


@dataclass
class NoiseResult(Result):
    """How unevenly the residual noise is spread, and where it departs from the image's own."""

    inconsistency: float  # 5-95 % spread of log noise over smooth windows (0 = even)
    noise_level: float  # median local noise standard deviation in smooth areas (gray levels)
    suspicion: float  # 0..1
    heatmap: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    evidence: np.ndarray | None = field(default=None, repr=False, metadata=MAP)


def local_noise(gray: np.ndarray) -> np.ndarray:
    """Standard deviation of the high-pass residual in WINDOW x WINDOW windows."""
    residual = cv2.filter2D(gray.astype(np.float32), -1, _KERNEL)
    size = (WINDOW, WINDOW)
    mean = cv2.boxFilter(residual, -1, size)
    mean_sq = cv2.boxFilter(residual * residual, -1, size)
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))


def _judgeable(gray: np.ndarray) -> np.ndarray:
    """0..1 weight of each pixel: 1 in smooth, unclipped areas where noise can be measured."""
    values = gray.astype(np.float32)
    # Texture is measured after a strong blur so that added noise does not count as texture.
    blurred = cv2.GaussianBlur(values, (0, 0), 3.0)
    gradient = np.hypot(cv2.Sobel(blurred, cv2.CV_32F, 1, 0), cv2.Sobel(blurred, cv2.CV_32F, 0, 1))
    texture = cv2.boxFilter(gradient, -1, (WINDOW, WINDOW))
    median, upper = np.percentile(texture, [50, 75])
    weight = np.clip((upper - texture) / max(1e-6, upper - median), 0.0, 1.0)
    brightness = cv2.boxFilter(values, -1, (WINDOW, WINDOW))
    weight[(brightness < _CLIPPED[0]) | (brightness > _CLIPPED[1])] = 0.0
    return weight


def analyse_noise(image: np.ndarray) -> NoiseResult:
    """Local residual noise in 15x15 windows, its inconsistency score and heatmap."""
    gray, _ = downscale(to_gray(image), WORK_SIDE)
    sigma = local_noise(gray)
    weight = _judgeable(gray)
    smooth = weight >= 1.0
    if smooth.sum() < WINDOW * WINDOW:
        empty = np.zeros(sigma.shape, np.float32)
        return NoiseResult(0.0, float(np.median(sigma)), 0.0, colourise(empty), empty)
    typical = float(np.median(sigma[smooth]))
    logs = np.log(sigma[smooth] + _FLOOR)
    spread = float(np.percentile(logs, 95) - np.percentile(logs, 5))
    deviation = np.abs(np.log((sigma + _FLOOR) / (typical + _FLOOR))) * weight
    evidence = cv2.GaussianBlur(np.clip(deviation / (2 * _CUT), 0.0, 1.0), (0, 0), 3.0)
    return NoiseResult(
        inconsistency=round(spread, 3),
        noise_level=round(typical, 3),
        suspicion=round(float(np.clip((spread - _EVEN_UP_TO) / 1.0, 0.0, 1.0)), 3),
        heatmap=colourise(evidence),
        evidence=evidence,
    )
