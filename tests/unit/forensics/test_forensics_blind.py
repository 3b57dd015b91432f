"""Blind detectors on real images with known answers: ELA, noise, copy-move, AI, blur."""

from __future__ import annotations

import cv2
import numpy as np

from server.analysis.forensics.ai_generation import analyse_ai_generation
from server.analysis.forensics.blur import blur_heuristic
from server.analysis.forensics.copy_move import detect_copy_move
from server.analysis.forensics.ela import error_level_analysis, level_of
from server.analysis.forensics.enhancement import enhancement_views
from server.analysis.forensics.noise import analyse_noise
from tests.unit.forensics.conftest import decode, jpeg_bytes


def _inside_outside(evidence: np.ndarray, box: tuple[int, int, int, int], shape) -> tuple:
    x, y, w, h = box
    full = cv2.resize(evidence, (shape[1], shape[0]))
    inside = np.zeros(shape, bool)
    inside[y : y + h, x : x + w] = True
    return float(full[inside].mean()), float(full[~inside].mean())


def test_ela_levels_follow_the_seed_thresholds() -> None:
    assert level_of(7.99) == "Low"
    assert level_of(8.0) == "Medium"
    assert level_of(15.0) == "Medium"
    assert level_of(15.01) == "High"


def test_ela_lights_up_an_uncompressed_patch_in_a_jpeg(astronaut, chelsea) -> None:
    # A patch that never went through JPEG re-saves with far more error than its JPEG host.
    host = decode(jpeg_bytes(astronaut, 75))
    box = (260, 300, 160, 120)
    x, y, w, h = box
    host[y : y + h, x : x + w] = chelsea[50 : 50 + h, 100 : 100 + w]
    result = error_level_analysis(host)
    inside, outside = _inside_outside(result.evidence, box, host.shape[:2])
    assert inside > 2 * outside
    assert result.level in ("Low", "Medium", "High")
    assert result.heatmap.shape[2] == 3 and result.heatmap.dtype == np.uint8
    assert result.enhanced.shape[:2] == host.shape[:2]


def test_noise_finds_a_region_with_foreign_noise(astronaut) -> None:
    # A smooth, mid-gray patch of the wall behind the astronaut gets grain it never had.
    rng = np.random.default_rng(3)
    box = (296, 112, 96, 96)
    x, y, w, h = box
    noisy = astronaut.astype(np.float32)
    noisy[y : y + h, x : x + w] += rng.normal(0, 8, (h, w, 3))
    noisy = np.clip(noisy, 0, 255).astype(np.uint8)
    clean_result, noisy_result = analyse_noise(astronaut), analyse_noise(noisy)
    inside, outside = _inside_outside(noisy_result.evidence, box, astronaut.shape[:2])
    clean_inside, _ = _inside_outside(clean_result.evidence, box, astronaut.shape[:2])
    assert inside > 3 * outside
    assert inside > 3 * clean_inside
    assert noisy_result.inconsistency > clean_result.inconsistency
    assert noisy_result.heatmap.shape == (*astronaut.shape[:2], 3)


def test_copy_move_made_on_a_real_photo_is_found(astronaut) -> None:
    forged = astronaut.copy()
    forged[300:380, 330:410] = astronaut[120:200, 180:260]  # textured part of the suit
    result = detect_copy_move(forged)
    assert result.detected
    assert 0.5 < result.clone_percent < 10
    mask = result.mask[:, :, 0] > 0
    assert mask[300:380, 330:410].mean() > 0.3  # the pasted copy ...
    assert mask[120:200, 180:260].mean() > 0.3  # ... and its source are both marked
    shift = result.matches[0]
    assert (abs(shift["dx"]), abs(shift["dy"])) in {(150, 180), (149, 180), (150, 179)} or (
        abs(abs(shift["dx"]) - 150) <= 2 and abs(abs(shift["dy"]) - 180) <= 2
    )


def test_copy_move_stays_quiet_on_untouched_photos(astronaut, chelsea) -> None:
    for image in (astronaut, chelsea, decode(jpeg_bytes(chelsea, 70))):
        result = detect_copy_move(image)
        assert not result.detected
        assert result.clone_percent == 0.0


def test_ai_signals_on_a_real_face_photo(astronaut) -> None:
    result = analyse_ai_generation(astronaut)
    assert 0.0 <= result.score <= 100.0
    assert {
        "fft_high_low_ratio",
        "saturation_uniformity",
        "laplacian_variance",
        "spectrum_flatness",
        "edge_density",
        "lbp_entropy",
    } <= set(result.signals)
    assert result.face_found and "face_symmetry" in result.signals
    assert result.score < 40
    assert result.verdict == "no strong AI-generation signals"


def test_ai_score_rises_for_an_overly_smooth_render(chelsea) -> None:
    smooth = cv2.GaussianBlur(cv2.bilateralFilter(chelsea, 15, 80, 80), (0, 0), 4)
    real, render = analyse_ai_generation(chelsea), analyse_ai_generation(smooth)
    assert render.score > real.score + 20
    assert render.indicators
    assert render.heatmap.shape[2] == 3


def test_blur_heuristic(chelsea) -> None:
    sharp = blur_heuristic(chelsea)
    blurred = blur_heuristic(cv2.GaussianBlur(chelsea, (0, 0), 5))
    assert blurred.suspicious and blurred.laplacian_variance < 500
    assert blurred.deepfake_score > sharp.deepfake_score
    assert 0.0 <= blurred.deepfake_score <= 1.0


def test_enhancement_views_show_a_levels_edit(chelsea) -> None:
    stretched = cv2.convertScaleAbs(chelsea, alpha=1.6, beta=-60)
    plain, edited = enhancement_views(chelsea), enhancement_views(stretched)
    assert edited.histogram_gaps > plain.histogram_gaps + 20
    for view in (plain.equalised, plain.edges, plain.spectrum):
        assert view.ndim == 3 and view.shape[2] == 3 and view.dtype == np.uint8
    assert plain.histogram_peaks
