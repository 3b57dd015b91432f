"""Presence monitoring on feature sequences (pure logic)."""

from __future__ import annotations

import numpy as np

from server.analysis.liveness import FrameFeatures
from server.analysis.presence import PresenceConfig, PresenceMonitor

LANDMARKS = np.zeros((68, 2))


def frame(t: float, faces: int) -> FrameFeatures:
    return FrameFeatures(t, faces, landmarks=LANDMARKS if faces else None)


def run(monitor: PresenceMonitor, faces_at: list[tuple[float, int]]) -> list[str]:
    kinds: list[str] = []
    for t, faces in faces_at:
        kinds += [a.kind for a in monitor.update(frame(t, faces))]
    return kinds


def test_absence_alerts_once_after_three_seconds() -> None:
    monitor = PresenceMonitor(PresenceConfig(absence_seconds=3.0))
    timeline = [(i / 10, 1) for i in range(10)] + [(1 + i / 10, 0) for i in range(29)]
    assert run(monitor, timeline) == []  # 2.8 s without a face
    assert run(monitor, [(4.0, 0), (4.1, 0), (9.0, 0)]) == ["face_absent"]
    # The face comes back, leaves again: a new episode, a new alert.
    assert run(monitor, [(9.5, 1), (10.0, 0), (13.1, 0)]) == ["face_absent"]


def test_a_second_face_must_stay_a_second() -> None:
    monitor = PresenceMonitor(PresenceConfig(several_faces_seconds=1.0))
    assert run(monitor, [(0.0, 2), (0.5, 2), (0.6, 1), (0.7, 2)]) == []
    assert run(monitor, [(1.2, 2), (1.8, 2), (3.0, 3)]) == ["multiple_faces"]


def test_different_person_needs_two_mismatches_and_rechecks_fast() -> None:
    config = PresenceConfig(rematch_seconds=10.0, threshold=0.6)
    monitor = PresenceMonitor(config, start=0.0)
    assert not monitor.needs_rematch(frame(5.0, 1))
    assert monitor.needs_rematch(frame(10.0, 1))
    assert not monitor.needs_rematch(frame(10.0, 2))  # never re-match with two faces in view
    assert monitor.provide_identity(0.4, 10.0) == []
    assert monitor.provide_identity(0.8, 20.0) == []  # one mismatch may be a bad frame
    assert monitor.needs_rematch(frame(21.0, 1))  # confirmed a second later
    alerts = monitor.provide_identity(0.85, 21.0)
    assert [a.kind for a in alerts] == ["different_person"]
    assert monitor.provide_identity(0.9, 22.0) == []  # once per episode
    assert monitor.provide_identity(0.3, 32.0) == []
