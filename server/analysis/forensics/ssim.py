"""SSIM with Gaussian windows through cv2 filters (about 5x faster than scikit-image)."""

from __future__ import annotations

import cv2
import numpy as np

# Wang et al. 2004 constants for 8-bit data.
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def ssim_map(first: np.ndarray, second: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """The per-pixel SSIM of two same-sized gray images (float32, -1..1)."""
    a = first.astype(np.float32, copy=False)
    b = second.astype(np.float32, copy=False)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a = blur(a * a) - mu_aa
    var_b = blur(b * b) - mu_bb
    cov = blur(a * b) - mu_ab
    numerator = (2 * mu_ab + _C1) * (2 * cov + _C2)
    denominator = (mu_aa + mu_bb + _C1) * (var_a + var_b + _C2)
    return numerator / denominator


def ssim(first: np.ndarray, second: np.ndarray) -> float:
    """The mean SSIM of two same-sized gray images."""
    return float(ssim_map(first, second).mean())
