"""Noise inconsistency: local noise level of the high-pass residual, compared across the image."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from server.analysis.forensics.heatmaps import colourise
from server.analysis.forensics.imaging import downscale, normalise_map, to_gray
from server.analysis.forensics.result import IMAGE, MAP, Result

WINDOW = 15  # local variance window (pixels of the working copy)
WORK_SIDE = 1024
_BLOCK = 32
_EVEN_UP_TO = 2.0  # natural photos spread up to ~2 log units (sky vs foliage): not suspicious
_EDGE_PERCENTILE = 80  # the most textured blocks estimate texture, not sensor noise: dropped


@dataclass
class NoiseResult(Result):
    """How unevenly the residual noise is spread, and where it departs from the image's own."""

    inconsistency: float  # spread of block noise levels in log units (0 = perfectly even)
    noise_level: float  # median local noise standard deviation (gray levels)
    suspicion: float  # 0..1
    heatmap: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    evidence: np.ndarray | None = field(
        default=None, repr=False, metadata=MAP
    )  # 0.5 and above: noise off by a factor of 2


def local_noise(gray: np.ndarray) -> np.ndarray:
    """Standard deviation of the blur residual in WINDOW x WINDOW windows."""
    values = gray.astype(np.float32)
    residual = values - cv2.GaussianBlur(values, (0, 0), 1.0)
    size = (WINDOW, WINDOW)
    mean = cv2.boxFilter(residual, -1, size)
    mean_sq = cv2.boxFilter(residual * residual, -1, size)
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))


def analyse_noise(image: np.ndarray) -> NoiseResult:
    """Local residual noise in 15x15 windows, its inconsistency score and heatmap."""
    gray, _ = downscale(to_gray(image), WORK_SIDE)
    sigma = local_noise(gray)
    blocks = _block_medians(sigma)
    if blocks.size == 0:
        empty = np.zeros_like(sigma)
        return NoiseResult(0.0, float(np.median(sigma)), 0.0, colourise(empty), empty)
    # Texture raises the residual too: judge spread on the smoother majority of blocks.
    smooth = blocks[blocks <= np.percentile(blocks, _EDGE_PERCENTILE)]
    logs = np.log(smooth + 0.5)
    spread = float(np.percentile(logs, 95) - np.percentile(logs, 5)) if logs.size else 0.0
    typical = float(np.median(sigma))
    deviation = np.abs(np.log((sigma + 0.5) / (typical + 0.5)))
    deviation = cv2.GaussianBlur(deviation, (0, 0), 3.0)
    return NoiseResult(
        inconsistency=round(spread, 3),
        noise_level=round(typical, 3),
        suspicion=round(float(np.clip((spread - _EVEN_UP_TO) / 1.5, 0.0, 1.0)), 3),
        heatmap=colourise(normalise_map(deviation, high=1.5)),
        evidence=np.clip(deviation / (2 * np.log(2.0)), 0.0, 1.0),
    )


def _block_medians(values: np.ndarray) -> np.ndarray:
    height, width = values.shape
    rows, cols = height // _BLOCK, width // _BLOCK
    if rows == 0 or cols == 0:
        return np.empty(0, np.float32)
    blocks = values[: rows * _BLOCK, : cols * _BLOCK].reshape(rows, _BLOCK, cols, _BLOCK)
    return np.median(blocks.transpose(0, 2, 1, 3).reshape(rows, cols, -1), axis=2).ravel()
