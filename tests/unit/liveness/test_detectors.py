"""Blink, smile and turn detectors on synthetic timestamped feature sequences."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from server.analysis.liveness import (
    BlinkConfig,
    BlinkDetector,
    LivenessEvent,
    SmileDetector,
    TurnDetector,
)
from tests.unit.liveness.conftest import (
    NEUTRAL_MOUTH,
    OPEN_EAR,
    SMILING_MOUTH,
    between,
    sequence,
)


def run(detector: BlinkDetector | SmileDetector | TurnDetector, frames) -> list[LivenessEvent]:
    """Feed frames; return the complete events (the detector's history)."""
    for f in frames:
        detector.update(f)
    detector.finish()
    return detector.history


def closed_between(start: float, end: float, ear: float = 0.08):
    """A script closing both eyes from start to end (seconds)."""
    return lambda t: {"ear": ear if between(t, start, end) else OPEN_EAR}


# --- blinks --------------------------------------------------------------------------------


def test_a_150_ms_blink_is_detected() -> None:
    events = run(BlinkDetector(), sequence(4.0, closed_between(2.0, 2.15)))
    assert len(events) == 1
    assert 1.99 <= events[0].start <= 2.01
    assert 2.1 <= events[0].end <= 2.15


def test_a_two_second_closure_is_not_a_blink() -> None:
    assert run(BlinkDetector(), sequence(6.0, closed_between(2.0, 4.0))) == []


def test_a_wink_is_not_a_blink() -> None:
    def wink(t: float) -> dict[str, Any]:
        return {"ear": (0.05, OPEN_EAR) if between(t, 2.0, 2.2) else OPEN_EAR}

    assert run(BlinkDetector(), sequence(4.0, wink)) == []


def test_the_baseline_adapts_to_narrow_eyes() -> None:
    # Open eyes at 0.19 would look closed to the fixed 0.20 rule; a dip to 0.09 is a blink.
    def narrow(t: float) -> dict[str, Any]:
        return {"ear": 0.09 if between(t, 3.0, 3.15) else 0.19}

    detector = BlinkDetector()
    events = run(detector, sequence(5.0, narrow))
    assert [round(e.start, 1) for e in events] == [3.0]
    mean_threshold, _, _ = detector.thresholds()
    assert 0.10 < mean_threshold < 0.13  # 0.6 x the open-eye level


def test_the_fixed_threshold_applies_until_the_baseline_has_samples() -> None:
    detector = BlinkDetector(BlinkConfig(fallback_threshold=0.2, min_baseline_samples=15))
    assert detector.thresholds()[0] == 0.2
    run(detector, sequence(1.0))
    assert detector.thresholds()[0] == OPEN_EAR * 0.6


def test_a_squint_flickering_across_the_threshold_is_not_a_blink() -> None:
    # Eyes narrowed to ~0.55 x open for a second, noise crossing 0.6 x every other frame:
    # no frame around the dips is clearly open, so none of them is a blink.
    def squint(t: float) -> dict[str, Any]:
        if not between(t, 2.0, 3.0):
            return {"ear": OPEN_EAR}
        return {"ear": OPEN_EAR * (0.55 if round(t * 30) % 2 else 0.65)}

    assert run(BlinkDetector(), sequence(4.0, squint)) == []


def test_a_lost_face_during_a_closure_is_not_a_blink() -> None:
    frames = list(sequence(4.0, closed_between(2.0, 2.15)))
    frames[62] = replace(frames[62], landmarks=None, ear=None, ear_left=None, ear_right=None)
    assert run(BlinkDetector(), frames) == []


def test_two_blinks_are_two_events() -> None:
    def two(t: float) -> dict[str, Any]:
        closed = between(t, 2.0, 2.12) or between(t, 2.6, 2.72)
        return {"ear": 0.08 if closed else OPEN_EAR}

    assert len(run(BlinkDetector(), sequence(4.0, two))) == 2


# --- smiles --------------------------------------------------------------------------------


def test_a_held_smile_is_detected_once() -> None:
    def smile(t: float) -> dict[str, Any]:
        return {"mouth": SMILING_MOUTH if between(t, 3.0, 5.0) else NEUTRAL_MOUTH}

    detector = SmileDetector()
    confirmed = [e for f in sequence(7.0, smile) for e in detector.update(f)]
    detector.finish()
    assert len(confirmed) == 1 and not confirmed[0].complete
    assert 3.25 <= confirmed[0].end <= 3.4  # confirmed after ~0.3 s
    assert [(round(e.start, 1), round(e.end, 1)) for e in detector.history] == [(3.0, 5.0)]


def test_talking_is_not_a_smile() -> None:
    # Open-close cycles at ~4 Hz, the mouth a little wider on open vowels, corners level.
    def talk(t: float) -> dict[str, Any]:
        phase = round(t * 30) % 8
        wide = phase in (2, 3, 4)
        mouth = replace(NEUTRAL_MOUTH, width=0.86 if wide else 0.74, opening=0.25 * wide)
        return {"mouth": mouth}

    assert run(SmileDetector(), sequence(8.0, talk)) == []


def test_an_open_mouth_is_not_a_smile() -> None:
    gasp = replace(NEUTRAL_MOUTH, width=0.65, opening=0.5, lift_left=0.03, lift_right=0.03)

    def surprise(t: float) -> dict[str, Any]:
        return {"mouth": gasp if between(t, 3.0, 5.0) else NEUTRAL_MOUTH}

    assert run(SmileDetector(), sequence(6.0, surprise)) == []


def test_a_one_sided_smirk_is_not_a_smile() -> None:
    smirk = replace(SMILING_MOUTH, width=0.86, lift_left=0.0, lift_right=0.09)

    def script(t: float) -> dict[str, Any]:
        return {"mouth": smirk if between(t, 3.0, 5.0) else NEUTRAL_MOUTH}

    assert run(SmileDetector(), sequence(6.0, script)) == []


def test_a_broad_smile_from_the_first_frame_is_still_found() -> None:
    # No neutral mouth ever seen: the caps on the neutral width (0.85) and lift stand in for
    # it, so a broad smile (0.95 x IOD) is found; a slight one needs a neutral face first.
    broad = replace(SMILING_MOUTH, width=0.95)
    assert len(run(SmileDetector(), sequence(3.0, lambda t: {"mouth": broad}))) == 1


# --- turns ---------------------------------------------------------------------------------


def test_turns_are_found_with_their_image_direction() -> None:
    def turns(t: float) -> dict[str, Any]:
        if between(t, 2.0, 3.0):
            return {"yaw": 25.0}
        if between(t, 4.0, 5.0):
            return {"yaw": -25.0}
        return {"yaw": 2.0}

    events = run(TurnDetector(), sequence(6.0, turns))
    assert [(e.direction, round(e.start, 1)) for e in events] == [
        ("image_right", 2.0),
        ("image_left", 4.0),
    ]


def test_turns_are_measured_from_the_rest_pose() -> None:
    # Someone sitting 20 degrees off-axis: 20 is rest, 30 is not yet a turn, 40 is.
    def off_axis(t: float) -> dict[str, Any]:
        return {"yaw": 30.0 if between(t, 2.0, 2.5) else 40.0 if between(t, 3.0, 4.0) else 20.0}

    events = run(TurnDetector(), sequence(5.0, off_axis))
    assert [(e.direction, round(e.start, 1)) for e in events] == [("image_right", 3.0)]


def test_a_single_frame_glitch_is_not_a_turn() -> None:
    frames = list(sequence(3.0, lambda t: {"yaw": 0.0}))
    frames[45] = replace(frames[45], yaw=30.0)
    assert run(TurnDetector(), frames) == []
