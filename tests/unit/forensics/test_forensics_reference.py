"""Reference comparison: real edits are flagged, benign changes of the same image are not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from server.analysis.forensics.reference import compare_to_reference
from server.analysis.forensics.ssim import ssim
from server.evaluation.forensics_eval import benign_variants
from tests.unit.forensics.conftest import ID_PORTRAIT, decode, jpeg_bytes


def _swap_portrait(document: np.ndarray, photo: np.ndarray) -> np.ndarray:
    x, y, w, h = ID_PORTRAIT
    swapped = document.copy()
    swapped[y : y + h, x : x + w] = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
    return swapped


def _overlap(region: dict[str, int], box: tuple[int, int, int, int]) -> float:
    """Share of the region's box that falls inside box."""
    x, y, w, h = box
    left, top = max(region["x"], x), max(region["y"], y)
    right = min(region["x"] + region["width"], x + w)
    bottom = min(region["y"] + region["height"], y + h)
    inter = max(0, right - left) * max(0, bottom - top)
    return inter / max(1, region["width"] * region["height"])


def test_ssim_matches_scikit_image(astronaut: np.ndarray) -> None:
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    noisy = decode(jpeg_bytes(astronaut, 30))
    noisy_gray = cv2.cvtColor(noisy, cv2.COLOR_BGR2GRAY)
    expected = structural_similarity(
        gray, noisy_gray, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(gray, noisy_gray) == pytest.approx(expected, abs=0.01)
    assert ssim(gray, gray) == pytest.approx(1.0)


def test_casia_splice_is_flagged_where_the_mask_is(casia_pair) -> None:
    tampered_bytes, authentic_bytes, mask = casia_pair
    tampered, authentic = decode(tampered_bytes), decode(authentic_bytes)
    result = compare_to_reference(tampered, authentic)
    assert result.forged
    assert result.score < 0.9
    assert 2.0 < result.forgery_percent < 40.0
    changed = cv2.resize(result.evidence, mask.shape[::-1]) >= 0.5
    precision = (changed & mask).sum() / max(1, changed.sum())
    assert precision > 0.6
    assert result.regions
    assert result.boxes is not None and result.boxes.shape[2] == 3


def test_identical_images_match(casia_pair) -> None:
    _, authentic_bytes, _ = casia_pair
    authentic = decode(authentic_bytes)
    result = compare_to_reference(authentic, authentic)
    assert not result.forged
    assert result.score > 0.99
    assert result.forgery_percent == 0.0
    assert result.regions == []


def test_threshold_is_a_parameter(casia_pair) -> None:
    tampered_bytes, authentic_bytes, _ = casia_pair
    tampered, authentic = decode(tampered_bytes), decode(authentic_bytes)
    score = compare_to_reference(tampered, authentic).score
    assert not compare_to_reference(tampered, authentic, threshold=score - 0.01).forged
    assert compare_to_reference(tampered, authentic, threshold=score + 0.01).forged


def test_swapped_portrait_on_an_id_card_is_flagged(id_document, passport_photo) -> None:
    swapped = _swap_portrait(id_document, passport_photo)
    result = compare_to_reference(decode(jpeg_bytes(swapped, 85)), id_document)
    assert result.forged
    assert result.forgery_percent > 5.0
    main = result.regions[0]  # largest first
    assert _overlap(main, ID_PORTRAIT) > 0.8


@pytest.mark.parametrize(
    "change",
    ["jpeg60", "half", "double", "darker", "brighter", "rotate3", "rotate-3", "crop3"],
)
def test_benign_variants_of_an_id_card_are_not_flagged(id_document, change: str) -> None:
    height, width = id_document.shape[:2]
    if change == "jpeg60":
        variant = decode(jpeg_bytes(id_document, 60))
    elif change in ("half", "double"):
        factor = 0.5 if change == "half" else 2.0
        size = (round(width * factor), round(height * factor))
        variant = cv2.resize(id_document, size, interpolation=cv2.INTER_AREA)
    elif change in ("darker", "brighter"):
        variant = cv2.convertScaleAbs(id_document, alpha=0.8 if change == "darker" else 1.2)
    elif change.startswith("rotate"):
        angle = float(change.removeprefix("rotate"))
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        variant = cv2.warpAffine(id_document, turn, (width, height))
    else:
        dy, dx = round(0.03 * height), round(0.03 * width)
        variant = id_document[dy : height - dy, dx : width - dx]
    result = compare_to_reference(variant, id_document)
    assert not result.forged, f"{change}: score {result.score}"
    assert result.score >= 0.9


def test_random_benign_variants_of_a_casia_photo_pass(casia_pair) -> None:
    _, authentic_bytes, _ = casia_pair
    authentic = decode(authentic_bytes)
    kinds = []
    for label, variant in benign_variants(authentic, np.random.default_rng(7)):
        kinds.append(label.split()[0])
        assert not compare_to_reference(variant, authentic).forged, label
    assert kinds == ["jpeg", "resize", "brightness", "rotation", "crop"]


def test_rotated_submission_is_registered_not_just_resized(id_document) -> None:
    height, width = id_document.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 2.5, 1.0)
    rotated = cv2.warpAffine(id_document, turn, (width, height))
    result = compare_to_reference(rotated, id_document)
    assert result.registration in ("similarity", "homography", "landmarks")
    assert result.inliers >= 12
