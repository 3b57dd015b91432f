"""Reference comparison: register the submission onto the enrolled reference, then SSIM."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from server.analysis.forensics.heatmaps import colourise
from server.analysis.forensics.imaging import as_bgr, downscale, to_gray
from server.analysis.forensics.registration import (
    content_mask,
    register,
    resize_matrix,
    valid_mask,
    warp,
)
from server.analysis.forensics.result import IMAGE, MAP, Result
from server.analysis.forensics.ssim import ssim_map

DEFAULT_THRESHOLD = 0.90
WORK_SIDE = 768  # registration and SSIM run on copies this size: edits stay visible, noise less
MIN_COMPARE_SIDE = 96
PRE_BLUR = 1.0
WINDOW_FRACTION = 1 / 6  # the score is the worst SSIM over windows this share of the short side
CHANGED_SSIM = 0.55  # a pixel whose smoothed SSIM falls below this counts as changed
MIN_REGION_FRACTION = 0.001  # changed blobs smaller than this share of the image are noise


@dataclass
class ReferenceResult(Result):
    """SSIM of the registered submission against the reference, with the changed regions."""

    score: float  # worst local SSIM: a small edit cannot hide in a large unchanged image
    mean_ssim: float
    forged: bool
    threshold: float
    forgery_percent: float  # share of the compared area that changed
    registration: str
    inliers: int
    compared_size: tuple[int, int]  # (width, height) at which SSIM was computed
    regions: list[dict[str, int]]  # changed regions as boxes in submission pixels
    heatmap: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    boxes: np.ndarray | None = field(default=None, repr=False, metadata=IMAGE)
    # 0..1 in the submission's frame; 0.5 and above reads as changed.
    evidence: np.ndarray | None = field(default=None, repr=False, metadata=MAP)


def _match_histogram(source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Map source gray levels so their distribution over mask matches the target's."""
    src_hist = np.bincount(source[mask].ravel(), minlength=256).astype(np.float64)
    tgt_hist = np.bincount(target[mask].ravel(), minlength=256).astype(np.float64)
    if src_hist.sum() == 0 or tgt_hist.sum() == 0:
        return source
    src_cdf = np.cumsum(src_hist) / src_hist.sum()
    tgt_cdf = np.cumsum(tgt_hist) / tgt_hist.sum()
    present = np.flatnonzero(tgt_hist)  # strictly increasing CDF points only
    lut = np.interp(src_cdf, tgt_cdf[present], present).round().clip(0, 255).astype(np.uint8)
    return cv2.LUT(source, lut)


def _soften(gray: np.ndarray) -> np.ndarray:
    """A slight blur: JPEG noise and resampling differ between copies, real edits do not."""
    return cv2.GaussianBlur(gray.astype(np.float32), (0, 0), PRE_BLUR)


def _masked_box_mean(values: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """Mean of values over the covered pixels of each size x size window (NaN if mostly bare)."""
    weights = mask.astype(np.float32)
    total = cv2.boxFilter(values * weights, -1, (size, size), normalize=True)
    cover = cv2.boxFilter(weights, -1, (size, size), normalize=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / cover
    mean[cover < 0.6] = np.nan
    return mean


def _changed_mask(smap: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Changed pixels: low smoothed SSIM, cleaned of specks and small blobs."""
    smooth = cv2.GaussianBlur(smap, (0, 0), 2.0)
    raw = ((smooth < CHANGED_SSIM) & covered).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    raw = cv2.morphologyEx(raw, cv2.MORPH_OPEN, kernel)
    raw = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(raw, connectivity=8)
    min_area = MIN_REGION_FRACTION * raw.size
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return keep[labels]


@dataclass(frozen=True)
class _AlignedPair:
    """Both images in one gray frame at the comparison size, and how they got there."""

    submission: np.ndarray
    reference: np.ndarray
    covered: np.ndarray  # reference pixels the submission's content covers
    matrix: np.ndarray  # submission working pixels -> comparison pixels
    method: str
    inliers: int


def _align(
    sub_gray: np.ndarray, ref_gray: np.ndarray, sub_work: np.ndarray, ref_work: np.ndarray
) -> _AlignedPair:
    """Register, pick the comparison size, warp and match tones."""
    content = content_mask(sub_gray)
    reg = register(sub_gray, ref_gray, sub_work, ref_work, content)
    # A low-resolution submission is compared at its own resolution: upsampling blur is benign.
    sub_per_ref = 1.0 / max(1e-6, float(np.sqrt(abs(np.linalg.det(reg.matrix[:2, :2])))))
    factor = min(1.0, max(sub_per_ref, MIN_COMPARE_SIDE / min(ref_gray.shape)))
    shape = (max(8, round(ref_gray.shape[0] * factor)), max(8, round(ref_gray.shape[1] * factor)))
    matrix = resize_matrix(ref_gray.shape, shape) @ reg.matrix
    ref_cmp = cv2.resize(ref_gray, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    covered = valid_mask(content, matrix, shape)
    warped = warp(sub_gray, matrix, shape)
    # The reference is mapped onto the submission's tones (not the reverse) so that highlights
    # the submission clipped are clipped in the reference too instead of reading as edits.
    ref_cmp = _match_histogram(ref_cmp, warped, covered)
    # Outside the covered area the reference stands in, so the border adds no false edge.
    bare = ~valid_mask(content, matrix, shape, erode=0)
    warped[bare] = ref_cmp[bare]
    return _AlignedPair(warped, ref_cmp, covered, matrix, reg.method, reg.inliers)


def compare_to_reference(
    submission: np.ndarray, reference: np.ndarray, threshold: float = DEFAULT_THRESHOLD
) -> ReferenceResult:
    """Register submission onto reference, SSIM-compare them and outline what changed."""
    sub_work, sub_scale = downscale(as_bgr(submission), WORK_SIDE)
    ref_work, _ = downscale(as_bgr(reference), WORK_SIDE)
    sub_gray = to_gray(sub_work)
    pair = _align(sub_gray, to_gray(ref_work), sub_work, ref_work)
    covered = pair.covered
    smap = ssim_map(_soften(pair.submission), _soften(pair.reference))
    shape = smap.shape
    window = max(9, round(min(shape) * WINDOW_FRACTION)) | 1
    local = _masked_box_mean(smap, covered, window)
    mean_ssim = float(smap[covered].mean()) if covered.any() else 0.0
    score = float(np.nanmin(local)) if np.isfinite(local).any() else mean_ssim
    changed = _changed_mask(smap, covered)
    forgery = 100.0 * float(changed.sum()) / max(1, int(covered.sum()))
    regions, boxes = _outline(changed, pair.matrix, sub_work, sub_scale)
    # Maps are returned in the submission's frame: that is the picture people look at.
    back = np.linalg.inv(pair.matrix)
    heat = np.where(covered, np.clip(1.0 - smap, 0.0, 1.0), 0.0).astype(np.float32)
    smooth = cv2.GaussianBlur(smap, (0, 0), 2.0)
    evidence = np.where(covered, np.clip((1.0 - smooth) / (2 * (1 - CHANGED_SSIM)), 0, 1), 0.0)
    return ReferenceResult(
        score=round(score, 4),
        mean_ssim=round(mean_ssim, 4),
        forged=score < threshold,
        threshold=threshold,
        forgery_percent=round(forgery, 2),
        registration=pair.method,
        inliers=pair.inliers,
        compared_size=(shape[1], shape[0]),
        regions=regions,
        heatmap=colourise(warp(heat, back, sub_gray.shape)),
        boxes=boxes,
        evidence=warp(evidence.astype(np.float32), back, sub_gray.shape),
    )


def _outline(
    changed: np.ndarray, matrix: np.ndarray, sub_work: np.ndarray, sub_scale: float
) -> tuple[list[dict[str, int]], np.ndarray]:
    """Boxes of the changed blobs, mapped back into submission pixels and drawn on a copy."""
    contours, _ = cv2.findContours(
        changed.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    inverse = np.linalg.inv(matrix)
    canvas = sub_work.copy()
    regions: list[dict[str, int]] = []
    height, width = sub_work.shape[:2]
    for contour in sorted(contours, key=cv2.contourArea, reverse=True):
        points = cv2.perspectiveTransform(contour.astype(np.float32), inverse)
        x, y, w, h = cv2.boundingRect(points)
        x, y = max(0, x), max(0, y)
        w, h = min(width - x, w), min(height - y, h)
        if w <= 0 or h <= 0:
            continue
        cv2.rectangle(canvas, (x, y), (x + w, y + h), (0, 0, 255), 2)
        full = [round(v / sub_scale) for v in (x, y, w, h)]
        regions.append({"x": full[0], "y": full[1], "width": full[2], "height": full[3]})
    return regions, canvas
