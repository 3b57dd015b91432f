"""Copy-move detection: DCT features of overlapping blocks, lexicographic sort, shift voting."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from server.analysis.forensics.heatmaps import colourise
from server.analysis.forensics.imaging import downscale, to_gray
from server.analysis.forensics.result import IMAGE, MAP, Result

WORK_SIDE = 512  # overlapping 8x8 blocks of a 512-px copy: ~170k blocks, fast to sort
BLOCK = 8
_COEFFS = ((0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1), (2, 2))
_QUANT = 2.0  # quantisation step of the features used for sorting
_KEY_FEATURES, _KEY_BITS = 5, 12  # 5 x 12 bits fit one int64 sort key
_KEY_OFFSET = 1 << (_KEY_BITS - 1)  # AC coefficients are signed
_NEIGHBOURS = 6  # sorted rows compared with this many followers
_MAX_DISTANCE = 4.0  # feature-space distance under which two blocks count as copies ...
_RELATIVE_DISTANCE = 0.08  # ... plus this share of the block's AC energy
_MIN_STD = 5.0  # flat blocks (sky, walls, paper) match everything: ignored
_MAX_COHERENCE = 0.85  # a straight edge matches itself shifted along it: such blocks are skipped
_MIN_SHIFT = 24  # shorter shifts are mostly self-similar texture, not a copy
_MIN_VOTES = 30  # blocks agreeing on one shift before it counts as a copied region


@dataclass
class CopyMoveResult(Result):
    """Duplicated regions found inside the image and their share of it."""

    detected: bool
    clone_percent: float
    matches: list[dict[str, int]]  # per accepted shift: dx, dy (original pixels), blocks
    suspicion: float
    mask: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    heatmap: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    evidence: np.ndarray | None = field(
        default=None, repr=False, metadata=MAP
    )  # 1 on duplicated blocks


def _dct_kernels() -> list[np.ndarray]:
    """8x8 DCT-II basis images: correlating with one gives that coefficient for every block."""
    n = np.arange(BLOCK)
    kernels = []
    for u, v in _COEFFS:
        cu = np.cos(np.pi * (2 * n + 1) * u / (2 * BLOCK))
        cv = np.cos(np.pi * (2 * n + 1) * v / (2 * BLOCK))
        scale = (1 / BLOCK) * (1 if u == 0 else np.sqrt(2)) * (1 if v == 0 else np.sqrt(2))
        kernels.append((np.outer(cu, cv) * scale).astype(np.float32))
    return kernels


_KERNELS = _dct_kernels()


def block_features(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DCT features, top-left positions and standard deviations of every textured 8x8 block."""
    values = gray.astype(np.float32)
    rows, cols = values.shape[0] - BLOCK + 1, values.shape[1] - BLOCK + 1
    planes = [
        cv2.filter2D(values, -1, k, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[:rows, :cols]
        for k in _KERNELS
    ]
    mean = cv2.boxFilter(values, -1, (BLOCK, BLOCK), anchor=(0, 0))[:rows, :cols]
    mean_sq = cv2.boxFilter(values * values, -1, (BLOCK, BLOCK), anchor=(0, 0))[:rows, :cols]
    std = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))
    keep = (std >= _MIN_STD) & (_coherence(values)[:rows, :cols] <= _MAX_COHERENCE)
    ys, xs = np.nonzero(keep)
    features = np.stack([p[keep] for p in planes], axis=1)
    return features, np.stack([xs, ys], axis=1), std[keep]


def _coherence(values: np.ndarray) -> np.ndarray:
    """Structure-tensor coherence of each block: near 1 for a straight edge or line."""
    gx = cv2.Sobel(values, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(values, cv2.CV_32F, 0, 1, ksize=3)
    size, anchor = (BLOCK, BLOCK), (0, 0)
    jxx = cv2.boxFilter(gx * gx, -1, size, anchor=anchor)
    jyy = cv2.boxFilter(gy * gy, -1, size, anchor=anchor)
    jxy = cv2.boxFilter(gx * gy, -1, size, anchor=anchor)
    spread = np.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy)
    return spread / (jxx + jyy + 1e-3)


def _sort_keys(features: np.ndarray) -> np.ndarray:
    """Lexicographic order of the quantised leading features packed in one int64 (one argsort)."""
    quantised = np.round(features[:, :_KEY_FEATURES] / _QUANT).astype(np.int64)
    quantised = np.clip(quantised + _KEY_OFFSET, 0, (1 << _KEY_BITS) - 1)
    keys = np.zeros(len(features), np.int64)
    for column in quantised.T:
        keys = (keys << _KEY_BITS) | column
    return keys


def _matched_pairs(
    features: np.ndarray, positions: np.ndarray, std: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of near-identical blocks far enough apart, from lexicographic neighbours."""
    # Resampling and recompression perturb textured blocks more: the tolerance grows with
    # texture (8 x std is the norm of a block's AC coefficients).
    tolerance = _MAX_DISTANCE + _RELATIVE_DISTANCE * 8.0 * std
    order = np.argsort(_sort_keys(features), kind="stable")
    firsts, seconds = [], []
    for step in range(1, _NEIGHBOURS + 1):
        a, b = order[:-step], order[step:]
        close = np.linalg.norm(features[a] - features[b], axis=1) < np.minimum(
            tolerance[a], tolerance[b]
        )
        shift = np.abs(positions[a] - positions[b]).max(axis=1) >= _MIN_SHIFT
        pick = close & shift
        firsts.append(a[pick])
        seconds.append(b[pick])
    return np.concatenate(firsts), np.concatenate(seconds)


def detect_copy_move(image: np.ndarray) -> CopyMoveResult:
    """Blocks copied elsewhere in the image, grouped by a shared shift vector."""
    full_gray = to_gray(image)
    gray, scale = downscale(full_gray, WORK_SIDE)
    mask = np.zeros(gray.shape, np.uint8)
    matches: list[dict[str, int]] = []
    if min(gray.shape) > 2 * BLOCK:
        features, positions, std = block_features(gray)
        if len(features) > 1:
            first, second = _matched_pairs(features, positions, std)
            matches = _vote(positions, first, second, mask, scale)
    # Isolated blocks are chance matches; a copied object is a compact group of them.
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    share = float(mask.mean() / 255.0)
    detected = bool(matches) and share > 0.0005
    return CopyMoveResult(
        detected=detected,
        clone_percent=round(100 * share, 2) if detected else 0.0,
        matches=matches if detected else [],
        suspicion=round(float(np.clip(share / 0.02, 0.0, 1.0)) if detected else 0.0, 3),
        mask=cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR),
        heatmap=colourise(cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 2.0)),
        evidence=mask.astype(np.float32) / 255.0,
    )


def _vote(
    positions: np.ndarray, first: np.ndarray, second: np.ndarray, mask: np.ndarray, scale: float
) -> list[dict[str, int]]:
    """Keep shift vectors many blocks agree on (within a pixel) and paint their blocks."""
    if len(first) == 0:
        return []
    shifts = positions[second] - positions[first]
    # A shift and its opposite describe the same copy: make them one key.
    flip = (shifts[:, 0] < 0) | ((shifts[:, 0] == 0) & (shifts[:, 1] < 0))
    shifts[flip] *= -1
    first, second = np.where(flip, second, first), np.where(flip, first, second)
    height, width = mask.shape
    # Votes in a 2-D histogram of shifts; a resampled copy spreads over neighbouring shifts.
    offset = np.array([0, height])
    cells = shifts + offset
    votes = np.zeros((2 * height + 1, width + 1), np.float32)
    np.add.at(votes, (cells[:, 1], cells[:, 0]), 1.0)
    pooled = cv2.boxFilter(votes, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    min_votes = max(_MIN_VOTES, int(0.0004 * mask.size))
    peaks = (pooled >= min_votes) & (pooled == cv2.dilate(pooled, np.ones((5, 5), np.uint8)))
    matches: list[dict[str, int]] = []
    taken: list[tuple[int, int]] = []
    ys, xs = np.nonzero(peaks)
    for index in np.argsort(-pooled[ys, xs], kind="stable"):
        py, px = int(ys[index]), int(xs[index])
        if any(abs(py - ty) <= 2 and abs(px - tx) <= 2 for ty, tx in taken):
            continue  # a plateau of equal votes is one peak
        taken.append((py, px))
        near = (np.abs(cells[:, 0] - px) <= 1) & (np.abs(cells[:, 1] - py) <= 1)
        for x, y in np.concatenate([positions[first[near]], positions[second[near]]]):
            mask[y : y + BLOCK, x : x + BLOCK] = 255
        dx, dy = px - offset[0], py - offset[1]
        matches.append(
            {"dx": round(dx / scale), "dy": round(dy / scale), "blocks": int(near.sum())}
        )
    return sorted(matches, key=lambda m: -m["blocks"])
