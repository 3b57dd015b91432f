"""AI-generation signals: spectrum, saturation, sharpness, texture and face symmetry heuristics.

These are weak, hand-set heuristics (no learned model): they flag images that are unusually
smooth, uniform or regular. Treat the score as a prompt for a closer look, never as proof.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from server.analysis.forensics.heatmaps import colourise
from server.analysis.forensics.imaging import as_bgr, downscale, to_gray
from server.analysis.forensics.result import IMAGE, MAP, Result
from server.analysis.forensics.ssim import ssim

WORK_SIDE = 512
_BLOCK = 32
LIKELY_FROM, POSSIBLE_FROM = 65.0, 40.0

# (low, high) of each signal: at `low` it reads fully synthetic, at `high` fully natural
# (reversed for symmetry, where more is more suspicious). Set from the literature's camera
# ranges on a 512-px copy, not fitted to a data set.
_RANGES: dict[str, tuple[float, float]] = {
    "fft_high_low_ratio": (0.0015, 0.006),
    "saturation_uniformity": (0.80, 0.45),  # 1 - coefficient of variation of saturation
    "laplacian_variance": (40.0, 300.0),
    "spectrum_flatness": (0.01, 0.04),
    "edge_density": (0.01, 0.05),
    "lbp_entropy": (0.70, 0.85),
    "face_symmetry": (0.92, 0.75),
}
_WEIGHTS = {
    "fft_high_low_ratio": 1.0,
    "saturation_uniformity": 0.6,
    "laplacian_variance": 1.0,
    "spectrum_flatness": 0.8,
    "edge_density": 0.6,
    "lbp_entropy": 0.8,
    "face_symmetry": 0.8,
}
_TEXT = {
    "fft_high_low_ratio": "little high-frequency detail in the spectrum",
    "saturation_uniformity": "unusually uniform colour saturation",
    "laplacian_variance": "very smooth, low-sharpness surfaces",
    "spectrum_flatness": "unnaturally peaked frequency spectrum",
    "edge_density": "few edges for the image size",
    "lbp_entropy": "repetitive micro-texture (low LBP entropy)",
    "face_symmetry": "near-perfect facial symmetry",
}


@dataclass
class AiGenerationResult(Result):
    """Heuristic signals of synthetic imagery and their combined 0-100 score."""

    score: float  # 0..100
    verdict: str
    signals: dict[str, float]
    indicators: list[str]
    face_found: bool
    suspicion: float
    heatmap: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    evidence: np.ndarray | None = field(default=None, repr=False, metadata=MAP)


def _synthetic(name: str, value: float) -> float:
    """0 (natural) .. 1 (synthetic) reading of one signal on its range."""
    low, high = _RANGES[name]
    return float(np.clip((high - value) / (high - low), 0.0, 1.0))


def lbp_codes(gray: np.ndarray) -> np.ndarray:
    """8-neighbour local binary pattern codes of the interior pixels."""
    values = gray.astype(np.int16)
    centre = values[1:-1, 1:-1]
    height, width = values.shape
    codes = np.zeros(centre.shape, np.uint8)
    offsets = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
    for bit, (dy, dx) in enumerate(offsets):
        neighbour = values[1 + dy : height - 1 + dy, 1 + dx : width - 1 + dx]
        codes |= (neighbour >= centre).astype(np.uint8) << bit
    return codes


def _entropy(codes: np.ndarray) -> float:
    """Shannon entropy of the code histogram in units of 8 bits (0..1)."""
    counts = np.bincount(codes.ravel(), minlength=256).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum() / 8.0)


def _spectrum_signals(gray: np.ndarray) -> tuple[float, float]:
    """High/low radial energy ratio and spectral flatness of the power spectrum."""
    values = gray.astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2(values - values.mean()))) ** 2
    height, width = power.shape
    yy, xx = np.mgrid[:height, :width]
    radius = np.hypot(yy - height / 2, xx - width / 2) / (min(height, width) / 2)
    low = power[(radius > 0) & (radius <= 0.5)].sum()
    high = power[radius > 0.5].sum()
    band = power[radius > 0.05] + 1e-9
    flatness = float(np.exp(np.log(band).mean()) / band.mean())
    return float(high / max(low, 1e-9)), flatness


def _face_symmetry(image_bgr: np.ndarray) -> float | None:
    """SSIM of the largest face's left half against its mirrored right half, if a face shows."""
    try:
        from server.analysis import faces
    except Exception:  # dlib missing: the other signals stand alone
        return None
    boxes = faces.detect_faces(image_bgr, detect_width=min(640, image_bgr.shape[1]))
    if not boxes:
        return None
    box = max(boxes, key=lambda b: b.width * b.height)
    crop = to_gray(image_bgr[box.top : box.bottom, box.left : box.right])
    half = crop.shape[1] // 2
    if half < 8 or crop.shape[0] < 16:
        return None
    left, right = crop[:, :half], cv2.flip(crop[:, crop.shape[1] - half :], 1)
    return ssim(left, right)


def analyse_ai_generation(image: np.ndarray) -> AiGenerationResult:
    """The seven heuristic signals, their weighted 0-100 score, verdict and block heatmap."""
    work, _ = downscale(as_bgr(image), WORK_SIDE)
    gray = to_gray(work)
    ratio, flatness = _spectrum_signals(gray)
    saturation = cv2.cvtColor(work, cv2.COLOR_BGR2HSV)[:, :, 1].astype(np.float32)
    signals = {
        "fft_high_low_ratio": ratio,
        "saturation_uniformity": 1.0 - float(saturation.std() / (saturation.mean() + 1e-6)),
        "laplacian_variance": float(cv2.Laplacian(gray, cv2.CV_64F).var()),
        "spectrum_flatness": flatness,
        "edge_density": float((cv2.Canny(gray, 100, 200) > 0).mean()),
        "lbp_entropy": _entropy(lbp_codes(gray)),
    }
    symmetry = _face_symmetry(work)
    if symmetry is not None:
        signals["face_symmetry"] = symmetry
    readings = {name: _synthetic(name, value) for name, value in signals.items()}
    weight = sum(_WEIGHTS[name] for name in readings)
    score = 100.0 * sum(_WEIGHTS[n] * r for n, r in readings.items()) / weight
    indicators = [_TEXT[name] for name, r in readings.items() if r >= 0.5]
    evidence = _block_map(gray)
    return AiGenerationResult(
        score=round(score, 1),
        verdict=_verdict(score),
        signals={name: round(value, 5) for name, value in signals.items()},
        indicators=indicators,
        face_found=symmetry is not None,
        suspicion=round(score / 100.0, 3),
        heatmap=colourise(evidence),
        evidence=evidence,
    )


def _verdict(score: float) -> str:
    if score >= LIKELY_FROM:
        return "likely AI-generated"
    if score >= POSSIBLE_FROM:
        return "inconclusive: some synthetic-looking signals"
    return "no strong AI-generation signals"


def _block_map(gray: np.ndarray) -> np.ndarray:
    """Per-block synthetic reading of sharpness and micro-texture, upsampled to the copy."""
    height, width = gray.shape
    rows, cols = max(1, height // _BLOCK), max(1, width // _BLOCK)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    codes = np.pad(lbp_codes(gray), 1, mode="edge")
    grid = np.zeros((rows, cols), np.float32)
    for r in range(rows):
        for c in range(cols):
            window = (slice(r * _BLOCK, (r + 1) * _BLOCK), slice(c * _BLOCK, (c + 1) * _BLOCK))
            sharp = _synthetic("laplacian_variance", float(lap[window].var()))
            texture = _synthetic("lbp_entropy", _entropy(codes[window]))
            grid[r, c] = 0.5 * (sharp + texture)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
