"""The per-stream analyser on real frames: detect now and then, track between, count faces."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from server.analysis.frame_analyser import AnalyserConfig, FrameAnalyser
from server.evaluation.liveness_eval import iter_frames

VIDEO = "WDA_AlexandriaOcasioCortez_000.mp4"  # 512x512, one frontal talking face


@pytest.fixture(scope="module")
def frames(liveness_dir: Path) -> list[np.ndarray]:
    """The first 30 frames of a real face video."""
    path = liveness_dir / VIDEO
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return list(islice(iter_frames(path), 30))


def test_detects_every_nth_frame_and_tracks_in_between(frames: list[np.ndarray]) -> None:
    analyser = FrameAnalyser(AnalyserConfig(redetect_every=10))
    results = [analyser.analyse(f, i / 25) for i, f in enumerate(frames)]
    assert [i for i, r in enumerate(results) if r.detected] == [0, 10, 20]
    assert all(r.face_count == 1 and r.has_face for r in results)
    assert all(r.landmarks is not None and r.landmarks.shape == (68, 2) for r in results)
    assert all(0.15 < (r.ear or 0) < 0.6 for r in results[14:20])  # open eyes between blinks


def test_tracked_boxes_agree_with_detected_ones(frames: list[np.ndarray]) -> None:
    tracked = FrameAnalyser(AnalyserConfig(redetect_every=30))
    detected = FrameAnalyser(AnalyserConfig(redetect_every=1))
    for i, f in enumerate(frames[:15]):
        a, b = tracked.analyse(f, i / 25), detected.analyse(f, i / 25)
        assert b.detected
        assert a.box is not None and b.box is not None
        # The tracker keeps the box within a tenth of the face size of the detector's.
        assert abs(a.box.left - b.box.left) < 0.1 * b.box.width
        assert abs(a.box.top - b.box.top) < 0.1 * b.box.height
        assert a.ear == pytest.approx(b.ear, abs=0.05)


def test_follows_a_moving_face(frames: list[np.ndarray]) -> None:
    analyser = FrameAnalyser(AnalyserConfig(redetect_every=100))
    first = analyser.analyse(frames[0], 0.0)
    for step in range(1, 8):
        moved = np.roll(frames[0], 6 * step, axis=1)  # the same face, 6 px further each frame
        features = analyser.analyse(moved, step / 25)
    assert not features.detected
    assert first.box is not None and features.box is not None
    assert abs((features.box.left - first.box.left) - 42) < 12


def test_counts_two_faces_and_none(frames: list[np.ndarray]) -> None:
    analyser = FrameAnalyser()
    pair = np.hstack([frames[0], frames[5]])
    assert analyser.analyse(pair, 0.0).face_count == 2
    blank = np.full_like(frames[0], 128)
    empty = analyser.analyse(blank, 0.04)
    assert empty.face_count == 0 and not empty.has_face and empty.ear is None
    assert analyser.analyse(frames[1], 0.08).face_count == 1  # found again at once
