"""The challenge machine: random liveness prompts, deadlines, face-count and identity checks.

Pure: it consumes FrameFeatures and identity distances the caller supplies, and returns a
ChallengeStatus for the UI. Time is the stream's clock (FrameFeatures.timestamp, seconds).

Direction convention: prompts speak to the student ("Turn your head to your left"). A
student turning to THEIR left moves the nose toward the IMAGE RIGHT of a non-mirrored
camera frame (what the server receives; browsers mirror only their own preview), so
turn_left is satisfied by an "image_right" turn and turn_right by an "image_left" one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

from server.analysis.liveness import (
    BlinkConfig,
    BlinkDetector,
    FrameFeatures,
    LivenessEvent,
    SmileConfig,
    SmileDetector,
    TurnConfig,
    TurnDetector,
)
from server.analysis.matching import DEFAULT_THRESHOLD


class Action(StrEnum):
    """What a step asks the student to do."""

    BLINK = "blink"
    BLINK_TWICE = "blink_twice"
    SMILE = "smile"
    TURN_LEFT = "turn_left"  # the student's left: nose toward the image right
    TURN_RIGHT = "turn_right"


class State(StrEnum):
    """Where a run stands."""

    WAITING_FACE = "waiting_face"
    CHECKING_IDENTITY = "checking_identity"  # the owner must call provide_identity
    PROMPTING = "prompting"
    RETRYING = "retrying"  # an attempt failed, another starts after a short pause
    PASSED = "passed"
    FAILED = "failed"  # final: no attempts left


PROMPTS = {
    Action.BLINK: "Blink once",
    Action.BLINK_TWICE: "Blink twice",
    Action.SMILE: "Smile",
    Action.TURN_LEFT: "Turn your head to your left",
    Action.TURN_RIGHT: "Turn your head to your right",
}
# The image direction of the nose that answers each turn prompt (see the module docstring).
TURN_DIRECTIONS = {Action.TURN_LEFT: "image_right", Action.TURN_RIGHT: "image_left"}
BLINKS_NEEDED = {Action.BLINK: 1, Action.BLINK_TWICE: 2}


@dataclass(frozen=True)
class ChallengeConfig:
    """Every tunable of a verification run."""

    steps: int = 3
    actions: tuple[Action, ...] = tuple(Action)
    step_timeout: float = 5.0  # seconds from a step's prompt to its deadline
    attempts: int = 3
    face_grace: float = 1.0  # seconds with zero or several faces before the attempt fails
    face_wait: float = 20.0  # seconds to wait for a face at the start of an attempt
    identity_threshold: float = DEFAULT_THRESHOLD  # max embedding distance to the enrolled face
    identity_timeout: float = 5.0  # seconds for the owner to answer an identity check
    retry_pause: float = 2.0  # seconds the failure reason shows before the next attempt
    double_blink_gap: float = 1.5  # max seconds between the starts of a double blink's blinks
    blink: BlinkConfig = field(default_factory=BlinkConfig)
    smile: SmileConfig = field(default_factory=SmileConfig)
    turn: TurnConfig = field(default_factory=TurnConfig)


@dataclass(frozen=True)
class ChallengeStatus:
    """What the UI shows: state, prompt, progress k/n, attempt and the reason of a failure."""

    state: State
    prompt: str
    step: int  # 1-based index of the current step; 0 before the first prompt
    steps: int
    action: Action | None  # the current step's action while prompting
    attempt: int  # 1-based
    attempts: int
    deadline: float | None  # stream time at which the current step or check times out
    identity_phase: str | None  # "start" | "end" while an identity check is wanted
    reason: str | None  # why the last attempt failed
    completed: tuple[Action, ...]  # actions passed in this attempt

    @property
    def needs_identity(self) -> bool:
        return self.state is State.CHECKING_IDENTITY

    @property
    def finished(self) -> bool:
        return self.state in (State.PASSED, State.FAILED)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form for the data channel and the dashboard."""
        return {
            "state": self.state.value,
            "prompt": self.prompt,
            "step": self.step,
            "steps": self.steps,
            "action": self.action.value if self.action else None,
            "attempt": self.attempt,
            "attempts": self.attempts,
            "deadline": self.deadline,
            "identity_phase": self.identity_phase,
            "reason": self.reason,
            "completed": [a.value for a in self.completed],
        }


def draw_sequence(rng: random.Random, actions: tuple[Action, ...], steps: int) -> list[Action]:
    """Distinct actions while there are enough (a replay must match more), then repeats."""
    pool = list(actions)
    if steps <= len(pool):
        return rng.sample(pool, steps)
    return [rng.choice(pool) for _ in range(steps)]


class ChallengeMachine:
    """One student's verification run: feed every frame to update(); answer identity checks."""

    def __init__(self, config: ChallengeConfig | None = None, seed: int | None = None) -> None:
        self.config = config or ChallengeConfig()
        rng = random.Random(seed)
        # All attempts are drawn up front so a caller (or an evaluation) can inspect them.
        self.sequences = [
            draw_sequence(rng, self.config.actions, self.config.steps)
            for _ in range(self.config.attempts)
        ]
        self.blinks = BlinkDetector(self.config.blink)
        self.smiles = SmileDetector(self.config.smile)
        self.turns = TurnDetector(self.config.turn)
        self.events: list[LivenessEvent] = []  # every confirmed action, for reports
        self.prompts: list[tuple[float, Action]] = []  # (time shown, action)
        self.failures: list[tuple[float, str]] = []  # (time, reason) per failed attempt
        self._state = State.WAITING_FACE
        self._attempt = 1
        self._step = 0
        self._since = 0.0  # when the current state (or step's prompt) began
        self._started: float | None = None  # first frame of the current attempt
        self._phase: str | None = None
        self._bad_faces_since: float | None = None
        self._step_blinks: list[float] = []  # start times of blinks since the prompt
        self._reason: str | None = None
        self._now = 0.0

    @property
    def sequence(self) -> list[Action]:
        """The current attempt's actions."""
        return self.sequences[self._attempt - 1]

    @property
    def status(self) -> ChallengeStatus:
        """The current state for the UI."""
        action = self.sequence[self._step] if self._state is State.PROMPTING else None
        return ChallengeStatus(
            state=self._state,
            prompt=self._prompt(action),
            step=self._step + 1 if self._state is State.PROMPTING else 0,
            steps=len(self.sequence),
            action=action,
            attempt=self._attempt,
            attempts=self.config.attempts,
            deadline=self._deadline(),
            identity_phase=self._phase if self._state is State.CHECKING_IDENTITY else None,
            reason=self._reason,
            completed=tuple(self.sequence[: self._completed_steps()]),
        )

    def update(self, features: FrameFeatures) -> ChallengeStatus:
        """Advance with one frame's features (every frame, so the detectors keep baselines)."""
        t = self._now = features.timestamp
        events = self._detect(features)
        if self._state is State.RETRYING and t - self._since >= self.config.retry_pause:
            self._begin_attempt(t)
        if self._state is State.WAITING_FACE:
            self._wait_for_face(features)
        elif self._state in (State.CHECKING_IDENTITY, State.PROMPTING):
            self._check_presence(features)
        if (
            self._state is State.CHECKING_IDENTITY
            and t - self._since > self.config.identity_timeout
        ):
            self._fail(t, "the identity check did not complete")
        if self._state is State.PROMPTING:
            self._advance(t, events)
        return self.status

    def provide_identity(self, distance: float, timestamp: float | None = None) -> ChallengeStatus:
        """Answer an identity check with the embedding distance to the enrolled student."""
        if self._state is not State.CHECKING_IDENTITY:
            return self.status
        t = self._now if timestamp is None else timestamp
        if distance > self.config.identity_threshold:
            self._fail(t, "the face does not match the enrolled student")
        elif self._phase == "start":
            self._prompt_step(t, 0)
        else:
            self._state = State.PASSED
            self._since = t
        return self.status

    # --- internals -------------------------------------------------------------------------

    def _detect(self, features: FrameFeatures) -> list[LivenessEvent]:
        events = (
            self.blinks.update(features)
            + self.smiles.update(features)
            + self.turns.update(features)
        )
        self.events.extend(events)
        return events

    def _begin_attempt(self, t: float) -> None:
        self._attempt += 1
        self._state = State.WAITING_FACE
        self._step = 0
        self._since = t
        self._started = None
        self._bad_faces_since = None

    def _wait_for_face(self, features: FrameFeatures) -> None:
        t = features.timestamp
        if self._started is None:
            self._started = t
        if features.face_count == 1 and features.has_face:
            self._state = State.CHECKING_IDENTITY
            self._phase = "start"
            self._since = t
            self._bad_faces_since = None
        elif t - self._started > self.config.face_wait:
            several = features.face_count > 1
            self._fail(t, "more than one face was in view" if several else "no face was found")

    def _check_presence(self, features: FrameFeatures) -> None:
        """Zero or several faces for longer than face_grace end the attempt."""
        t = features.timestamp
        if features.face_count == 1 and features.has_face:
            self._bad_faces_since = None
            return
        if self._bad_faces_since is None:
            self._bad_faces_since = t
        elif t - self._bad_faces_since > self.config.face_grace:
            reason = (
                "more than one face was in view"
                if features.face_count > 1
                else "the face left the camera view"
            )
            self._fail(t, reason)

    def _prompt_step(self, t: float, index: int) -> None:
        self._state = State.PROMPTING
        self._step = index
        self._since = t
        self._step_blinks = []
        self.prompts.append((t, self.sequence[index]))

    def _advance(self, t: float, events: list[LivenessEvent]) -> None:
        action = self.sequence[self._step]
        # Only actions that began after the prompt count: a replay cannot bank them earlier.
        fresh = [e for e in events if e.start >= self._since]
        if self._satisfied(action, fresh):
            if self._step + 1 < len(self.sequence):
                self._prompt_step(t, self._step + 1)
            else:
                self._state = State.CHECKING_IDENTITY
                self._phase = "end"
                self._since = t
        elif t - self._since > self.config.step_timeout:
            self._fail(t, f"no response in time to: {PROMPTS[action]}")

    def _satisfied(self, action: Action, events: list[LivenessEvent]) -> bool:
        if action in BLINKS_NEEDED:
            self._step_blinks.extend(e.start for e in events if e.kind == "blink")
            return self._blinked(BLINKS_NEEDED[action])
        if action is Action.SMILE:
            return any(e.kind == "smile" for e in events)
        wanted = TURN_DIRECTIONS[action]
        return any(e.kind == "turn" and e.direction == wanted for e in events)

    def _blinked(self, needed: int) -> bool:
        """Enough blinks, and for a double blink two of them close together: deliberate
        double blinks are ~0.3-0.8 s apart, natural ones seconds apart, so a replayed
        recording rarely supplies a pair by chance."""
        starts = self._step_blinks
        if needed == 1:
            return bool(starts)
        gap = self.config.double_blink_gap
        return any(b - a <= gap for a, b in pairwise(starts))

    def _fail(self, t: float, reason: str) -> None:
        self._reason = reason
        self.failures.append((t, reason))
        self._since = t
        self._phase = None
        self._state = State.RETRYING if self._attempt < self.config.attempts else State.FAILED

    def _completed_steps(self) -> int:
        if self._state is State.PASSED:
            return len(self.sequence)
        if self._state is State.CHECKING_IDENTITY and self._phase == "end":
            return len(self.sequence)
        return self._step if self._state is State.PROMPTING else 0

    def _deadline(self) -> float | None:
        if self._state is State.PROMPTING:
            return self._since + self.config.step_timeout
        if self._state is State.CHECKING_IDENTITY:
            return self._since + self.config.identity_timeout
        return None

    def _prompt(self, action: Action | None) -> str:
        if action is not None:
            return PROMPTS[action]
        return {
            State.WAITING_FACE: "Look at the camera",
            State.CHECKING_IDENTITY: "Hold still: checking your identity",
            State.RETRYING: f"Not verified: {self._reason}. Get ready to try again",
            State.PASSED: "Verified",
            State.FAILED: f"Not verified: {self._reason}",
        }[self._state]
