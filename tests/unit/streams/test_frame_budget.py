"""The per-stream frame budget: which arriving frames are analysed (pure logic)."""

from __future__ import annotations

import itertools
import random

import pytest

from server.streams.frame_budget import FrameBudget


def _taken(budget: FrameBudget, arrivals: list[float]) -> list[float]:
    taken = []
    for t in arrivals:
        if budget.wants(t):
            budget.taken(t)
            taken.append(t)
    return taken


@pytest.mark.parametrize("camera_fps", [12.0, 15.0, 24.0, 30.0, 60.0])
def test_faster_cameras_are_analysed_at_the_target_rate(camera_fps: float) -> None:
    rng = random.Random(7)
    arrivals = [i / camera_fps + rng.uniform(-0.008, 0.008) for i in range(int(60 * camera_fps))]
    taken = _taken(FrameBudget(10.0), arrivals)
    assert len(taken) / 60 == pytest.approx(10.0, abs=0.3)
    gaps = [b - a for a, b in itertools.pairwise(taken)]
    # No bursts and no holes: at 15 fps in, two frames of every three are taken, so two
    # neighbours (66 ms, less jitter) is the closest pair; never a gap of two periods.
    assert min(gaps) > 0.045 and max(gaps) < 0.2


@pytest.mark.parametrize("camera_fps", [5.0, 8.0, 10.0])
def test_slower_cameras_have_every_frame_analysed(camera_fps: float) -> None:
    arrivals = [i / camera_fps for i in range(100)]
    assert _taken(FrameBudget(10.0), arrivals) == arrivals


def test_a_stream_that_fell_behind_restarts_instead_of_bursting() -> None:
    budget = FrameBudget(10.0)
    first = [i / 15 for i in range(15)]  # one second at 15 fps
    _taken(budget, first)
    # A three-second pause (frozen tab, full box), then frames again at 30 fps.
    after = [4.0 + i / 30 for i in range(60)]
    taken = _taken(budget, after)
    gaps = [b - a for a, b in itertools.pairwise(taken)]
    assert taken[0] == 4.0 and min(gaps) > 0.06
