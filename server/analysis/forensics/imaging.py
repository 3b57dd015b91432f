"""Shared image preparation: channel normalisation, gray conversion and working copies."""

from __future__ import annotations

import cv2
import numpy as np

from server.analysis.errors import AnalysisError


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A 3-channel BGR uint8 view of a gray, BGR or BGRA array (alpha composited on white)."""
    if image.dtype != np.uint8:
        raise AnalysisError("VALIDATION_ERROR", f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        # Transparent ID-card corners would otherwise turn black and read as content.
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        rgb = image[:, :, :3].astype(np.float32)
        return (rgb * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    raise AnalysisError("VALIDATION_ERROR", f"unsupported image shape {image.shape}")


def to_gray(image: np.ndarray) -> np.ndarray:
    """The uint8 luminance of any supported image array."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2GRAY)


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """A copy whose longer side is at most max_side, and the scale factor applied (<= 1)."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def resize_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a map or image to (height, width), area-averaging when shrinking."""
    height, width = shape
    if image.shape[:2] == (height, width):
        return image
    shrinking = width < image.shape[1]
    method = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=method)


def normalise_map(values: np.ndarray, high: float | None = None) -> np.ndarray:
    """A float32 map scaled to 0..1 by `high` (default: its 99th percentile), clipped."""
    values = values.astype(np.float32, copy=False)
    if high is None:
        high = float(np.percentile(values, 99)) if values.size else 0.0
    if high <= 1e-9:
        return np.zeros_like(values, dtype=np.float32)
    return np.clip(values / high, 0.0, 1.0)
