"""The challenge machine on synthetic feature sequences: prompts, deadlines, faces, identity."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from server.analysis.challenges import (
    PROMPTS,
    Action,
    ChallengeConfig,
    ChallengeMachine,
    ChallengeStatus,
    State,
    draw_sequence,
)
from server.analysis.liveness import FrameFeatures
from tests.unit.liveness.conftest import FPS, NEUTRAL_MOUTH, OPEN_EAR, SMILING_MOUTH, frame

MATCH, MISMATCH = 0.3, 0.9
Behaviour = Callable[[float, float, Action | None], dict[str, Any]]


def machine_with(*actions: Action, **config: Any) -> ChallengeMachine:
    """A machine whose first attempt asks for exactly these actions."""
    machine = ChallengeMachine(ChallengeConfig(steps=len(actions), **config), seed=1)
    machine.sequences[0] = list(actions)
    return machine


def drive(
    machine: ChallengeMachine,
    behaviour: Behaviour,
    seconds: float,
    distance: float = MATCH,
) -> ChallengeStatus:
    """Run frames through the machine; behaviour(t, since_prompt, action) -> frame() options.

    Identity checks are answered at once with `distance`.
    """
    prompt_at = 0.0
    shown: tuple[int, int, State] | None = None
    status = machine.status
    for i in range(round(seconds * FPS)):
        t = i / FPS
        status = machine.update(frame(t, **behaviour(t, t - prompt_at, status.action)))
        if status.needs_identity:
            status = machine.provide_identity(distance, t)
        if (status.attempt, status.step, status.state) != shown:
            shown, prompt_at = (status.attempt, status.step, status.state), t
        if status.finished:
            break
    return status


def obedient(delay: float = 0.7) -> Behaviour:
    """Does what each prompt asks, `delay` seconds after it appears."""

    def act(t: float, since: float, action: Action | None) -> dict[str, Any]:
        if action is None or since < delay:
            return {}
        doing = since - delay
        if action in (Action.BLINK, Action.BLINK_TWICE):
            closed = doing < 0.12 or (action is Action.BLINK_TWICE and 0.5 <= doing < 0.62)
            return {"ear": 0.08 if closed else OPEN_EAR}
        if action is Action.SMILE:
            return {"mouth": SMILING_MOUTH}
        return {"yaw": 25.0 if action is Action.TURN_LEFT else -25.0}

    return act


def still(t: float, since: float, action: Action | None) -> dict[str, Any]:
    """A face that never does anything (a photo)."""
    return {}


def test_sequences_are_random_but_seedable() -> None:
    first = ChallengeMachine(seed=7).sequences
    assert ChallengeMachine(seed=7).sequences == first
    assert ChallengeMachine(seed=8).sequences != first
    assert all(len(set(s)) == 3 for s in first)  # distinct steps within an attempt
    assert len(first) == 3  # one per attempt


def test_draw_repeats_only_when_it_must() -> None:
    rng = random.Random(0)
    assert len(draw_sequence(rng, (Action.BLINK, Action.SMILE), 2)) == 2
    assert set(draw_sequence(rng, (Action.BLINK,), 3)) == {Action.BLINK}


def test_an_obedient_face_passes_every_action() -> None:
    machine = machine_with(Action.BLINK, Action.TURN_LEFT, Action.SMILE)
    status = drive(machine, obedient(), 20.0)
    assert status.state is State.PASSED
    assert status.completed == (Action.BLINK, Action.TURN_LEFT, Action.SMILE)
    assert [a for _, a in machine.prompts] == [Action.BLINK, Action.TURN_LEFT, Action.SMILE]


def test_turn_left_means_the_students_left() -> None:
    # The student's left is the image right in a non-mirrored frame: positive yaw.
    status = drive(machine_with(Action.TURN_LEFT), lambda t, s, a: {"yaw": 25.0 * (s > 0.7)}, 5)
    assert status.state is State.PASSED
    wrong = drive(
        machine_with(Action.TURN_LEFT, attempts=1),
        lambda t, s, a: {"yaw": -25.0 * (s > 0.7)},
        8.0,
    )
    assert wrong.state is State.FAILED
    assert PROMPTS[Action.TURN_LEFT] == "Turn your head to your left"


def test_a_photo_times_out_on_every_attempt() -> None:
    machine = machine_with(Action.BLINK, Action.SMILE, Action.TURN_RIGHT)
    status = drive(machine, still, 40.0)
    assert status.state is State.FAILED
    assert status.attempt == 3
    assert [r for _, r in machine.failures] == ["no response in time to: Blink once"] + [
        f"no response in time to: {PROMPTS[seq[0]]}" for seq in machine.sequences[1:]
    ]
    # Each attempt failed 5 s after its first prompt, then paused 2 s before the next.
    times = [t for t, _ in machine.failures]
    assert 5.0 < times[0] < 5.2
    assert 7.0 < times[1] - times[0] < 7.2


def test_an_action_before_the_prompt_does_not_count() -> None:
    # Smiling already when the prompt appears, and holding it: not a response.
    machine = machine_with(Action.SMILE, attempts=1)
    status = drive(machine, lambda t, s, a: {"mouth": SMILING_MOUTH}, 8.0)
    assert status.state is State.FAILED
    assert status.reason == "no response in time to: Smile"


def test_a_blink_begun_before_its_prompt_does_not_count() -> None:
    machine = machine_with(Action.SMILE, Action.BLINK, attempts=1)

    def behaviour(t: float, since: float, action: Action | None) -> dict[str, Any]:
        if action is not Action.SMILE:
            return {}  # after the smile: nothing more
        # Smile from 0.7 s (confirmed ~0.3 s later) and start a blink at 0.9 s: the blink
        # ends, and is reported, only after the "Blink once" prompt has appeared.
        closed = 0.9 <= since < 1.05
        mouth = SMILING_MOUTH if since >= 0.7 else NEUTRAL_MOUTH
        return {"mouth": mouth, "ear": 0.08 if closed else OPEN_EAR}

    status = drive(machine, behaviour, 10.0)
    blink_prompt = machine.prompts[1][0]
    blinks = [e for e in machine.events if e.kind == "blink"]
    assert len(blinks) == 1 and blinks[0].start < blink_prompt
    assert status.state is State.FAILED
    assert status.reason == "no response in time to: Blink once"


def test_blink_twice_needs_two_blinks_close_together() -> None:
    slow = drive(
        machine_with(Action.BLINK_TWICE, attempts=1),
        lambda t, s, a: {"ear": 0.08 if (0.5 <= s < 0.62 or 3.0 <= s < 3.12) else OPEN_EAR},
        8.0,
    )
    assert slow.state is State.FAILED  # two natural blinks 2.5 s apart
    fast = drive(machine_with(Action.BLINK_TWICE), obedient(), 8.0)
    assert fast.state is State.PASSED


def test_two_faces_for_more_than_a_second_fail() -> None:
    machine = machine_with(Action.SMILE, attempts=1)
    status = drive(machine, lambda t, s, a: {"faces": 2 if t > 1.0 else 1}, 5.0)
    assert status.state is State.FAILED
    assert status.reason == "more than one face was in view"
    assert 2.0 < machine.failures[0][0] < 2.1


def test_a_short_glitch_of_two_faces_is_forgiven() -> None:
    def glitch(t: float, since: float, action: Action | None) -> dict[str, Any]:
        return {**obedient()(t, since, action), "faces": 2 if 0.2 < t < 0.8 else 1}

    assert drive(machine_with(Action.SMILE), glitch, 6.0).state is State.PASSED


def test_a_face_leaving_for_more_than_a_second_fails() -> None:
    machine = machine_with(Action.BLINK, attempts=1)
    status = drive(machine, lambda t, s, a: {"faces": 0 if t > 1.0 else 1}, 4.0)
    assert status.reason == "the face left the camera view"


def test_waiting_for_a_face_then_prompting() -> None:
    machine = machine_with(Action.BLINK)
    assert machine.update(FrameFeatures(timestamp=0.0, face_count=0)).state is State.WAITING_FACE
    status = machine.update(frame(0.1))
    assert status.state is State.CHECKING_IDENTITY and status.identity_phase == "start"
    status = machine.provide_identity(MATCH, 0.1)
    assert status.state is State.PROMPTING
    assert (status.step, status.steps, status.prompt) == (1, 1, "Blink once")
    assert status.deadline == 0.1 + 5.0


def test_a_different_person_fails_at_the_start() -> None:
    machine = machine_with(Action.BLINK, attempts=1)
    status = drive(machine, obedient(), 5.0, distance=MISMATCH)
    assert status.state is State.FAILED
    assert status.reason == "the face does not match the enrolled student"
    assert machine.prompts == []  # never prompted


def test_the_identity_is_checked_again_at_the_end() -> None:
    machine = machine_with(Action.BLINK, attempts=1)
    checks: list[str | None] = []
    for i in range(round(5 * FPS)):
        t = i / FPS
        since = t - machine.prompts[-1][0] if machine.prompts else 0.0
        status = machine.update(frame(t, **obedient()(t, since, machine.status.action)))
        if status.needs_identity:
            checks.append(status.identity_phase)
            # Someone else sits down after the challenges: the end check catches it.
            status = machine.provide_identity(
                MATCH if status.identity_phase == "start" else MISMATCH
            )
        if status.finished:
            break
    assert checks == ["start", "end"]
    assert machine.status.state is State.FAILED


def test_an_unanswered_identity_check_times_out() -> None:
    machine = machine_with(Action.BLINK, attempts=1)
    for i in range(round(7 * FPS)):
        machine.update(frame(i / FPS))
    assert machine.status.reason == "the identity check did not complete"


def test_the_next_attempt_follows_a_pause_with_a_new_sequence() -> None:
    machine = machine_with(Action.SMILE, Action.BLINK)
    status = drive(machine, still, 5.5)
    assert status.state is State.RETRYING
    assert status.prompt.startswith("Not verified: no response in time to: Smile")
    status = drive_on(machine, 5.5, 8.0)
    assert status.attempt == 2
    assert status.state is State.PROMPTING
    assert status.action is machine.sequences[1][0]


def drive_on(machine: ChallengeMachine, start: float, until: float) -> ChallengeStatus:
    """Keep a still face in front of the machine from `start` to `until` seconds."""
    status = machine.status
    for i in range(round(start * FPS), round(until * FPS)):
        status = machine.update(frame(i / FPS))
        if status.needs_identity:
            status = machine.provide_identity(MATCH, i / FPS)
    return status


def test_status_is_ready_for_json() -> None:
    machine = machine_with(Action.TURN_RIGHT, Action.BLINK_TWICE)
    machine.update(frame(0.0))
    machine.provide_identity(MATCH, 0.0)
    message = machine.status.to_dict()
    assert message["state"] == "prompting"
    assert message["action"] == "turn_right"
    assert message["prompt"] == "Turn your head to your right"
    assert (message["step"], message["steps"], message["attempt"], message["attempts"]) == (
        1,
        2,
        1,
        3,
    )
