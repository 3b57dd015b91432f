"""Register a submitted image onto a reference: features + RANSAC, or face landmarks, then ECC."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from server.analysis.forensics.ssim import ssim_map

MIN_INLIERS = 12
LANDMARKS_BELOW = 0.8  # coarse SSIM under which face landmarks are tried as well
_FEATURES = 2000
_RATIO = 0.8  # Lowe's ratio test
_SCORE_SIDE = 256  # candidates are ranked by SSIM at this size: cheap and enough
_ECC_SIDE = 384  # sub-pixel refinement runs at this size (see refine)
_FILL_DARK, _FILL_LIGHT = 30, 235  # padding a rotation or scan leaves is near-black or near-white
_PAD_BAND = 0.06  # a 3-degree rotation's corner wedge reaches about sin(3 deg) of the long side
_RIM = 3  # outermost pixels never compared: they blend image and padding


@dataclass(frozen=True)
class Registration:
    """A 3x3 transform from submission pixels to reference pixels and how it was found."""

    method: str  # "resize", "homography", "similarity" or "landmarks"
    matrix: np.ndarray
    inliers: int = 0
    agreement: float = 0.0  # mean SSIM of the registered pair at a coarse scale


def resize_matrix(src_shape: tuple[int, ...], dst_shape: tuple[int, ...]) -> np.ndarray:
    """The 3x3 map of a plain resize between two frames (pixel centres stay centres)."""
    sx = dst_shape[1] / src_shape[1]
    sy = dst_shape[0] / src_shape[0]
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)


def warp(image: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The image resampled into a (height, width) frame through the 3x3 matrix."""
    return cv2.warpPerspective(
        image, matrix, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderValue=0
    )


def content_mask(gray: np.ndarray) -> np.ndarray:
    """Pixels that are image content: not the flat padding a rotation or scan adds at the edge."""
    height, width = gray.shape
    band = max(4, round(_PAD_BAND * max(height, width)))
    inner = np.zeros(gray.shape, bool)
    inner[band:-band, band:-band] = True
    # Padding is near-black or near-white (after JPEG ringing), touches the edge, stays in a band.
    flat = (((gray <= _FILL_DARK) | (gray >= _FILL_LIGHT)) & ~inner).astype(np.uint8)
    _, labels = cv2.connectedComponents(flat, connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    padding = np.isin(labels, border[border > 0]).astype(np.uint8)
    content = cv2.dilate(padding, np.ones((5, 5), np.uint8)) == 0
    # The outermost pixels blend image and padding after a small rotation: never compared.
    content[:_RIM] = content[-_RIM:] = False
    content[:, :_RIM] = content[:, -_RIM:] = False
    return content


def valid_mask(
    content: np.ndarray, matrix: np.ndarray, shape: tuple[int, int], erode: int = 2
) -> np.ndarray:
    """Reference pixels the warped submission content covers (optionally eroded off its rim)."""
    source = content.astype(np.uint8) * 255
    mask = cv2.warpPerspective(source, matrix, (shape[1], shape[0]), flags=cv2.INTER_NEAREST)
    if erode:
        mask = cv2.erode(mask, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8))
    return mask > 0


def _feature_matches(sub: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matched point pairs (submission, reference) from ORB binary descriptors."""
    # OpenCV 5 moved AKAZE to contrib; ORB is in the main module and fast enough.
    detector = cv2.ORB_create(nfeatures=_FEATURES, fastThreshold=10)
    kp_s, des_s = detector.detectAndCompute(sub, None)
    kp_r, des_r = detector.detectAndCompute(ref, None)
    if des_s is None or des_r is None or len(kp_s) < 4 or len(kp_r) < 4:
        return np.empty((0, 2), np.float32), np.empty((0, 2), np.float32)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des_s, des_r, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    src = np.float32([kp_s[m.queryIdx].pt for m in good]).reshape(-1, 2)
    dst = np.float32([kp_r[m.trainIdx].pt for m in good]).reshape(-1, 2)
    return src, dst


def _feature_candidates(sub: np.ndarray, ref: np.ndarray) -> list[Registration]:
    """A homography (documents photographed at an angle) and a similarity (crop, rotation)."""
    src, dst = _feature_matches(sub, ref)
    if len(src) < MIN_INLIERS:
        return []
    found: list[Registration] = []
    reproj = max(2.0, 0.004 * max(ref.shape))
    homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, reproj, maxIters=2000)
    if homography is not None and mask is not None and int(mask.sum()) >= MIN_INLIERS:
        found.append(Registration("homography", homography, int(mask.sum())))
    affine, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=reproj
    )
    if affine is not None and mask is not None and int(mask.sum()) >= MIN_INLIERS:
        found.append(Registration("similarity", np.vstack([affine, [0, 0, 1]]), int(mask.sum())))
    return found


def _landmark_candidate(sub_bgr: np.ndarray, ref_bgr: np.ndarray) -> list[Registration]:
    """A similarity from 68 landmarks when exactly one face is found in each image."""
    try:
        from server.analysis import faces
    except Exception:  # dlib or its weights missing: features alone will do
        return []
    points = []
    for image in (sub_bgr, ref_bgr):
        boxes = faces.detect_faces(image, detect_width=min(640, image.shape[1]))
        if len(boxes) != 1:
            return []
        points.append(faces.face_landmarks(image, boxes[0]).astype(np.float32))
    affine, _ = cv2.estimateAffinePartial2D(points[0], points[1], method=cv2.LMEDS)
    if affine is None:
        return []
    return [Registration("landmarks", np.vstack([affine, [0, 0, 1]]), 68)]


def _agreement(sub: np.ndarray, content: np.ndarray, ref: np.ndarray, matrix: np.ndarray) -> float:
    """Mean SSIM of the registered pair on a small copy, over covered pixels only."""
    scale = min(1.0, _SCORE_SIDE / max(ref.shape))
    small = (max(8, round(ref.shape[0] * scale)), max(8, round(ref.shape[1] * scale)))
    to_small = resize_matrix(ref.shape, small) @ matrix
    ref_small = cv2.resize(ref, (small[1], small[0]), interpolation=cv2.INTER_AREA)
    covered = valid_mask(content, to_small, small)
    if covered.mean() < 0.5:  # a degenerate transform that hides most of the image
        return -1.0
    return float(ssim_map(warp(sub, to_small, small), ref_small, sigma=2.0)[covered].mean())


def refine(
    sub: np.ndarray, content: np.ndarray, ref: np.ndarray, reg: Registration
) -> Registration:
    """Sub-pixel refinement of a registration by ECC on the already-aligned pair."""
    warped = warp(sub, reg.matrix, ref.shape[:2])
    covered = valid_mask(content, reg.matrix, ref.shape[:2]).astype(np.uint8)
    # ECC at full working size costs up to a second when it cannot converge (a large edit);
    # a 384-px copy is ~4x cheaper and still lands within a fraction of a working pixel.
    scale = min(1.0, _ECC_SIDE / max(ref.shape))
    small = (max(8, round(ref.shape[0] * scale)), max(8, round(ref.shape[1] * scale)))
    shrink = resize_matrix(ref.shape, small)
    ref_small = cv2.resize(ref, (small[1], small[0]), interpolation=cv2.INTER_AREA)
    warped_small = cv2.resize(warped, (small[1], small[0]), interpolation=cv2.INTER_AREA)
    covered_small = cv2.resize(covered, (small[1], small[0]), interpolation=cv2.INTER_NEAREST)
    motion = cv2.MOTION_HOMOGRAPHY if reg.method == "homography" else cv2.MOTION_AFFINE
    start = np.eye(3 if motion == cv2.MOTION_HOMOGRAPHY else 2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-6)
    try:
        _, found = cv2.findTransformECC(
            ref_small.astype(np.float32),
            warped_small.astype(np.float32),
            start,
            motion,
            criteria,
            covered_small,
            5,
        )
    except cv2.error:  # ECC did not converge: the coarse transform stands
        return reg
    correction = found.astype(np.float64)
    if correction.shape[0] == 2:
        correction = np.vstack([correction, [0, 0, 1]])
    correction = np.linalg.inv(shrink) @ correction @ shrink  # back to working pixels
    if np.abs(correction[:2, 2]).max() > 0.05 * max(ref.shape):  # diverged, not refined
        return reg
    # ECC maps reference pixels to warped pixels; invert it to keep "submission -> reference".
    matrix = np.linalg.inv(correction) @ reg.matrix
    agreement = _agreement(sub, content, ref, matrix)
    if agreement < reg.agreement:
        return reg
    return Registration(reg.method, matrix, reg.inliers, agreement)


def register(
    sub_gray: np.ndarray,
    ref_gray: np.ndarray,
    sub_bgr: np.ndarray | None = None,
    ref_bgr: np.ndarray | None = None,
    content: np.ndarray | None = None,
) -> Registration:
    """The candidate transform (plain resize, features, landmarks) that best aligns the pair."""
    if content is None:
        content = content_mask(sub_gray)
    candidates = [Registration("resize", resize_matrix(sub_gray.shape, ref_gray.shape))]
    candidates += _feature_candidates(sub_gray, ref_gray)
    best = max((_scored(c, sub_gray, content, ref_gray) for c in candidates), key=_by_agreement)
    # Landmarks cost a face detection per image: only worth it when features did not align
    # (two different photos of one face share no texture, but they share a face).
    if best.agreement < LANDMARKS_BELOW and sub_bgr is not None and ref_bgr is not None:
        for candidate in _landmark_candidate(sub_bgr, ref_bgr):
            best = max(best, _scored(candidate, sub_gray, content, ref_gray), key=_by_agreement)
    return refine(sub_gray, content, ref_gray, best)


def _scored(
    reg: Registration, sub: np.ndarray, content: np.ndarray, ref: np.ndarray
) -> Registration:
    return Registration(
        reg.method, reg.matrix, reg.inliers, _agreement(sub, content, ref, reg.matrix)
    )


def _by_agreement(reg: Registration) -> float:
    return reg.agreement
