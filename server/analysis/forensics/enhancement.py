"""Enhancement views for a human eye: equalised luminance, edges, histogram peaks, DCT spectrum."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.signal import find_peaks

from server.analysis.forensics.imaging import as_bgr, downscale, normalise_map, to_gray
from server.analysis.forensics.result import IMAGE, Result

WORK_SIDE = 1024


@dataclass
class EnhancementResult(Result):
    """Views that make retouching easier to see, and what the histogram shows."""

    histogram_peaks: list[int]  # gray levels of the prominent histogram peaks
    histogram_gaps: int  # most empty levels inside one channel's range: a levels/curves edit
    edge_density: float
    equalised: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    edges: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    spectrum: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)


def enhancement_views(image: np.ndarray) -> EnhancementResult:
    """CLAHE luminance, Canny edges, log DCT spectrum and histogram peaks of a working copy."""
    work, _ = downscale(as_bgr(image), WORK_SIDE)
    lab = cv2.cvtColor(work, cv2.COLOR_BGR2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(lab[:, :, 0])
    gray = to_gray(work)
    edges = cv2.Canny(gray, 80, 160)
    histogram = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    smooth = np.convolve(histogram, np.ones(5) / 5, mode="same")
    peaks, _ = find_peaks(smooth, prominence=0.01 * smooth.sum(), distance=8)
    # A levels/curves edit stretches each channel and leaves empty codes between used ones.
    gaps = max(_gaps(np.bincount(channel.ravel(), minlength=256)) for channel in cv2.split(work))
    return EnhancementResult(
        histogram_peaks=[int(p) for p in peaks],
        histogram_gaps=gaps,
        edge_density=round(float((edges > 0).mean()), 4),
        equalised=cv2.cvtColor(lab, cv2.COLOR_LAB2BGR),
        edges=cv2.cvtColor(edges, cv2.COLOR_GRAY2BGR),
        spectrum=_dct_spectrum(gray),
    )


def _gaps(histogram: np.ndarray) -> int:
    """Empty levels between the lowest and highest used level."""
    used = np.flatnonzero(histogram)
    return int((histogram[used[0] : used[-1] + 1] == 0).sum()) if used.size else 0


def _dct_spectrum(gray: np.ndarray) -> np.ndarray:
    """Log-magnitude DCT of the whole copy: periodic traces (resampling, grids) show as dots."""
    height, width = gray.shape[0] // 2 * 2, gray.shape[1] // 2 * 2  # cv2.dct wants even sizes
    coefficients = cv2.dct(gray[:height, :width].astype(np.float32))
    magnitude = np.log1p(np.abs(coefficients))
    scaled = (normalise_map(magnitude, high=float(magnitude.max())) * 255).astype(np.uint8)
    return cv2.cvtColor(scaled, cv2.COLOR_GRAY2BGR)
