"""Heatmap rendering (JET), overlays, and the combined heatmap of all detectors."""

from __future__ import annotations

import cv2
import numpy as np

from server.analysis.forensics.imaging import resize_to


def colourise(values01: np.ndarray) -> np.ndarray:
    """A JET-coloured BGR image of a 0..1 map (blue = nothing, red = strong)."""
    scaled = (np.clip(values01, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return cv2.applyColorMap(scaled, cv2.COLORMAP_JET)


def overlay(image_bgr: np.ndarray, values01: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The map coloured and blended over the image (the map is resized to fit)."""
    heat = colourise(resize_to(values01.astype(np.float32), image_bgr.shape[:2]))
    return cv2.addWeighted(image_bgr, 1.0 - alpha, heat, alpha, 0.0)


def combine(
    maps: dict[str, np.ndarray], weights: dict[str, float], shape: tuple[int, int]
) -> np.ndarray:
    """The weighted mean of 0..1 maps resized to one (height, width) frame."""
    total = np.zeros(shape, np.float32)
    weight_sum = 0.0
    for name, values in maps.items():
        weight = weights.get(name, 1.0)
        if weight <= 0:
            continue
        total += weight * resize_to(values.astype(np.float32), shape)
        weight_sum += weight
    return total / weight_sum if weight_sum else total
