"""faces.py and matching.py on real photos (shared data and skimage's astronaut)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from server.analysis import faces
from server.analysis.errors import AnalysisError
from server.analysis.images import decode_image
from server.analysis.matching import (
    DEFAULT_THRESHOLD,
    embedding_from_bytes,
    embedding_to_bytes,
    face_distance,
    verify,
)

LIMIT = 100_000_000


def load(deepface_dir: Path, name: str) -> np.ndarray:
    return decode_image((deepface_dir / name).read_bytes(), LIMIT)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)


def test_models_are_found_without_pkg_resources() -> None:
    names = {p.name for p in faces.models_dir().iterdir()}
    assert "shape_predictor_68_face_landmarks.dat" in names
    assert "dlib_face_recognition_resnet_model_v1.dat" in names


def test_astronaut_has_one_face_with_landmarks_on_it(astronaut: np.ndarray) -> None:
    portrait = faces.analyse_portrait(astronaut)
    box = portrait.box
    # Eileen Collins' face sits in the upper middle of the 512x512 image.
    assert 140 < (box.left + box.right) / 2 < 280 and 40 < (box.top + box.bottom) / 2 < 160
    assert portrait.landmarks.shape == (68, 2)
    inside = (
        (portrait.landmarks[:, 0] >= box.left - 20)
        & (portrait.landmarks[:, 0] <= box.right + 20)
        & (portrait.landmarks[:, 1] >= box.top - 20)
        & (portrait.landmarks[:, 1] <= box.bottom + 40)
    )
    assert inside.all()
    # Eyes (36-47) above the mouth (48-67); left eye of the image left of the right one.
    assert portrait.landmarks[36:48, 1].mean() < portrait.landmarks[48:68, 1].mean()
    assert portrait.landmarks[36:42, 0].mean() < portrait.landmarks[42:48, 0].mean()
    assert portrait.embedding.shape == (128,)


def test_downscaled_detection_maps_boxes_back_to_full_size(deepface_dir: Path) -> None:
    image = load(deepface_dir, "img1.jpg")  # 1382 px wide
    fast = faces.detect_faces(image, detect_width=640)
    full = faces.detect_faces(image, detect_width=image.shape[1])
    assert len(fast) == len(full) == 1
    a, b = fast[0], full[0]
    overlap_w = min(a.right, b.right) - max(a.left, b.left)
    overlap_h = min(a.bottom, b.bottom) - max(a.top, b.top)
    inter = max(0, overlap_w) * max(0, overlap_h)
    iou = inter / (a.width * a.height + b.width * b.height - inter)
    # HOG windows sit on an 8-px cell grid of the scanned copy, so boxes differ by a few cells.
    assert iou > 0.7


def test_same_person_is_closer_than_different_people(deepface_dir: Path) -> None:
    a, b, other = (
        faces.analyse_portrait(load(deepface_dir, n)).embedding
        for n in ("img1.jpg", "img2.jpg", "img3.jpg")
    )
    same, different = verify(a, b), verify(a, other)
    assert same.match and same.distance < 0.5
    assert not different.match and different.distance > DEFAULT_THRESHOLD


def test_group_photo_is_refused_with_multiple_faces(deepface_dir: Path) -> None:
    with pytest.raises(AnalysisError) as error:
        faces.analyse_portrait(load(deepface_dir, "couple.jpg"))
    assert error.value.code == "MULTIPLE_FACES"


def test_no_face_in_a_landscape() -> None:
    landscape = cv2.cvtColor(skdata.coffee(), cv2.COLOR_RGB2BGR)
    with pytest.raises(AnalysisError) as error:
        faces.analyse_portrait(landscape)
    assert error.value.code == "NO_FACE"


def test_small_face_is_refused(astronaut: np.ndarray) -> None:
    tiny = cv2.resize(astronaut, (200, 200), interpolation=cv2.INTER_AREA)
    with pytest.raises(AnalysisError) as error:
        faces.analyse_portrait(tiny, faces.QualityLimits(min_face_px=80))
    assert error.value.code == "FACE_TOO_SMALL"


def test_blurred_photo_is_refused_and_sharp_one_accepted(deepface_dir: Path) -> None:
    image = load(deepface_dir, "img1.jpg")
    box = faces.detect_faces(image)[0]
    blurred = cv2.GaussianBlur(image, (0, 0), 0.03 * box.width)
    with pytest.raises(AnalysisError) as error:
        faces.analyse_portrait(blurred)
    assert error.value.code == "TOO_BLURRY"
    assert faces.sharpness(image, box) > 3 * faces.sharpness(blurred, box)


def test_sharp_real_photos_pass_the_blur_check(deepface_dir: Path) -> None:
    limits = faces.QualityLimits()
    for name in ("img1.jpg", "img12.jpg", "img26.jpg", "img29.jpg", "img43.jpg"):
        image = load(deepface_dir, name)
        box = faces.detect_faces(image)[0]
        assert faces.sharpness(image, box) >= limits.min_sharpness, name


def test_landmark_overlay_draws_on_a_copy(astronaut: np.ndarray) -> None:
    portrait = faces.analyse_portrait(astronaut)
    overlay = faces.draw_landmarks(astronaut, portrait.box, portrait.landmarks)
    assert overlay.shape == astronaut.shape
    assert np.count_nonzero(np.any(overlay != astronaut, axis=2)) > 200


def test_embedding_round_trips_through_bytes(astronaut: np.ndarray) -> None:
    embedding = faces.analyse_portrait(astronaut).embedding
    restored = embedding_from_bytes(embedding_to_bytes(embedding))
    assert face_distance(embedding, restored) == 0.0
    with pytest.raises(ValueError):
        embedding_to_bytes(np.zeros(12))


def test_jpeg_artefacts_do_not_make_a_second_face(astronaut: np.ndarray) -> None:
    from server.analysis.images import encode_jpeg

    recompressed = decode_image(encode_jpeg(astronaut, 90), LIMIT)
    assert len(faces.detect_faces(recompressed)) == 2  # dlib's default threshold: a false one
    assert len(faces.detect_faces_robust(recompressed)) == 1
    assert faces.analyse_portrait(recompressed).box == faces.analyse_portrait(astronaut).box
