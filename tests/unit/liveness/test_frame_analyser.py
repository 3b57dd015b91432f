"""The per-stream analyser on real luma frames: HOG at the start, every Nth frame and when the
landmark fit degrades; the face followed by its landmarks in between; state that travels."""

from __future__ import annotations

import pickle
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from server.analysis.faces import detect_faces, face_landmarks
from server.analysis.frame_analyser import (
    AnalyserConfig,
    FrameAnalyser,
    TrackState,
    analyse_frame,
    landmark_box,
)
from server.analysis.liveness import FrameFeatures
from server.evaluation.liveness_eval import iter_frames, iter_luma

VIDEO = "WDA_AlexandriaOcasioCortez_000.mp4"  # 512x512, one frontal talking face
BLACK = 16  # video-range black of a Y plane


@pytest.fixture(scope="module")
def frames(liveness_dir: Path) -> list[np.ndarray]:
    """The luma planes of the first 40 frames of a real face video."""
    path = liveness_dir / VIDEO
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return list(islice(iter_luma(path), 40))


def _iod(landmarks: np.ndarray) -> float:
    return float(np.linalg.norm(landmarks[36] - landmarks[45]))


def _run(analyser: FrameAnalyser, planes: list[np.ndarray], start: int = 0) -> list[FrameFeatures]:
    return [analyser.analyse(p, (start + i) / 25) for i, p in enumerate(planes)]


def test_hog_runs_at_the_start_and_every_nth_frame_only(frames: list[np.ndarray]) -> None:
    analyser = FrameAnalyser(AnalyserConfig(detect_every=10))
    results = _run(analyser, frames[:30])
    assert [i for i, r in enumerate(results) if r.detected] == [0, 10, 20]
    assert analyser.detections == 3 and analyser.frames == 30
    assert analyser.reasons == {"start": 1, "periodic": 2}  # no fit looked degraded
    assert all(r.face_count == 1 and r.has_face for r in results)
    assert all(r.landmarks is not None and r.landmarks.shape == (68, 2) for r in results)
    assert all(0.15 < (r.ear or 0) < 0.6 for r in results[14:20])  # open eyes between blinks


def test_tracked_landmarks_agree_with_per_frame_detected_ones(frames: list[np.ndarray]) -> None:
    analyser = FrameAnalyser(AnalyserConfig(detect_every=1000))
    tracked = _run(analyser, frames)
    assert analyser.detections == 1
    for plane, features in zip(frames, tracked, strict=True):
        (box,) = detect_faces(plane, detect_width=320)
        reference = face_landmarks(plane, box)
        assert features.landmarks is not None
        # Within 3 % of the inter-ocular distance on average: HOG's box jitter alone moves
        # the fitted points by ~1 %.
        error = np.linalg.norm(features.landmarks - reference, axis=1).mean()
        assert error < 0.03 * _iod(reference)


def test_the_landmark_box_reproduces_the_detector_box(frames: list[np.ndarray]) -> None:
    config = AnalyserConfig()
    for plane in frames[::5]:
        (box,) = detect_faces(plane, detect_width=320)
        mapped = landmark_box(face_landmarks(plane, box), config.box_side, config.box_drop)
        left, top, right, bottom = mapped
        inter = max(0.0, min(right, box.right) - max(left, box.left)) * max(
            0.0, min(bottom, box.bottom) - max(top, box.top)
        )
        union = (right - left) * (bottom - top) + box.width * box.height - inter
        assert inter / union > 0.7


def test_follows_a_moving_face(frames: list[np.ndarray]) -> None:
    analyser = FrameAnalyser(AnalyserConfig(detect_every=100))
    first = analyser.analyse(frames[0], 0.0)
    features = first
    for step in range(1, 8):
        # The same face 6 px right and 4 px down further each frame.
        moved = np.roll(frames[0], (4 * step, 6 * step), axis=(0, 1))
        features = analyser.analyse(moved, step / 25)
        assert not features.detected
    assert first.landmarks is not None and features.landmarks is not None
    shift = (features.landmarks - first.landmarks).mean(axis=0)
    assert shift == pytest.approx((42, 28), abs=4)


def test_counts_two_faces_and_none_and_refinds_a_face_at_once(frames: list[np.ndarray]) -> None:
    analyser = FrameAnalyser()
    pair = np.hstack([frames[0], frames[5]])
    assert analyser.analyse(pair, 0.0).face_count == 2
    blank = np.full_like(frames[0], BLACK)
    empty = analyser.analyse(blank, 0.04)
    assert empty.detected and empty.face_count == 0 and not empty.has_face and empty.ear is None
    again = analyser.analyse(frames[1], 0.08)
    assert again.detected and again.face_count == 1 and again.has_face


def test_a_second_face_is_counted_at_the_next_periodic_detection(
    frames: list[np.ndarray],
) -> None:
    analyser = FrameAnalyser(AnalyserConfig(detect_every=5))
    alone = [np.hstack([f, np.full_like(f, BLACK)]) for f in frames[:7]]
    together = [np.hstack([f, frames[20]]) for f in frames[7:12]]
    results = _run(analyser, alone + together)
    assert [r.face_count for r in results] == [1] * 10 + [2] * 2
    assert [i for i, r in enumerate(results) if r.detected] == [0, 5, 10]
    assert all(r.has_face for r in results)


def test_state_round_trips_through_pickle_and_a_fresh_analyser_continues_identically(
    frames: list[np.ndarray],
) -> None:
    config = AnalyserConfig(detect_every=8)
    analyser = FrameAnalyser(config)
    _run(analyser, frames[:12])
    assert analyser.state is not None
    data = pickle.dumps(analyser.state)
    assert len(data) < 2000  # it crosses a pipe with every frame
    restored = pickle.loads(data)
    assert isinstance(restored, TrackState) and restored == analyser.state
    fresh = FrameAnalyser(config, state=restored)
    for i, plane in enumerate(frames[12:30], start=12):
        a, b = analyser.analyse(plane, i / 25), fresh.analyse(plane, i / 25)
        assert a.detected == b.detected and a.face_count == b.face_count and a.box == b.box
        assert a.landmarks is not None and b.landmarks is not None
        assert np.array_equal(a.landmarks, b.landmarks)
        assert analyser.state == fresh.state
    assert fresh.detections == 2  # frames 16 and 24: the count travelled with the state


def test_analyse_frame_is_pure(frames: list[np.ndarray]) -> None:
    config = AnalyserConfig()
    _, state = analyse_frame(frames[0], 0.0, None, config)
    one, after_one = analyse_frame(frames[1], 0.04, state, config)
    two, after_two = analyse_frame(frames[1], 0.04, state, config)
    assert after_one == after_two
    assert one.landmarks is not None and two.landmarks is not None
    assert np.array_equal(one.landmarks, two.landmarks)


@pytest.mark.parametrize("replacement", ["blank", "noise", "background", "other_video"])
def test_a_face_that_disappears_is_noticed_on_the_same_frame(
    frames: list[np.ndarray], liveness_dir: Path, replacement: str
) -> None:
    analyser = FrameAnalyser(AnalyserConfig(detect_every=100))
    _run(analyser, frames[:6])
    plane = frames[6]
    height, width = plane.shape
    if replacement == "blank":
        swapped = np.full_like(plane, 128)
    elif replacement == "noise":
        swapped = np.random.default_rng(1).integers(16, 236, plane.shape, dtype=np.uint8)
    elif replacement == "background":  # the flag in the top-left corner, enlarged
        corner = plane[: height // 3, : width // 3]
        swapped = cv2.resize(corner, (width, height), interpolation=cv2.INTER_LINEAR)
    else:  # a frame of another clip (a smaller face, elsewhere), at this stream's size
        other = next(iter(iter_luma(liveness_dir / "source_s32.mp4")))
        swapped = cv2.resize(other, (width, height), interpolation=cv2.INTER_AREA)
    features = analyser.analyse(swapped, 6 / 25)
    assert features.detected  # the tracked fit failed its sanity checks: HOG ran at once
    assert analyser.state is not None and analyser.state.reason == "degraded"
    found = detect_faces(swapped, detect_width=320)
    assert features.has_face == bool(found)  # only a face HOG sees there is reported
    back = analyser.analyse(frames[8], 8 / 25)
    assert back.has_face and back.face_count == 1


def test_old_callers_may_still_pass_bgr(liveness_dir: Path) -> None:
    bgr = list(islice(iter_frames(liveness_dir / VIDEO), 3))
    analyser = FrameAnalyser()
    results = _run(analyser, bgr)
    assert all(r.has_face and r.face_count == 1 for r in results)
    assert [r.detected for r in results] == [True, False, False]


def test_a_small_face_is_found_wide_and_kept_by_the_crop_check(frames: list[np.ndarray]) -> None:
    """A face HOG cannot see at 320 px (~100 px wide in 640): the first search retries at
    640 px, and the periodic 320 px count, which misses it, does not drop it."""
    small = [cv2.resize(f, (170, 170), interpolation=cv2.INTER_AREA) for f in frames[:12]]
    canvas = np.full((480, 640), BLACK, np.uint8)
    planes = []
    for face in small:
        plane = canvas.copy()
        plane[140:310, 220:390] = face
        planes.append(plane)
    assert not detect_faces(planes[0], detect_width=320)
    analyser = FrameAnalyser(AnalyserConfig(detect_every=5))
    results = _run(analyser, planes)
    assert all(r.has_face and r.face_count == 1 for r in results)
    assert [i for i, r in enumerate(results) if r.detected] == [0, 5, 10]
    assert analyser.reasons == {"start": 1, "periodic": 2}
