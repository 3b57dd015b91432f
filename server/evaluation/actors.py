"""Players that stand in front of the camera: a responsive actor and two attackers.

Each player yields (frame_bgr, timestamp) pairs at the footage's frame rate, so the same
object can feed the analysis pipeline directly or be wrapped in an aiortc VideoStreamTrack.
Footage-based players also expose `shots()`, the source frame index behind each frame, so a
direct evaluation can reuse per-frame features measured once on the footage.

The responsive actor only hears prompts through `on_prompt(action, timestamp)`, the same
message a browser would get over the data channel.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from server.analysis.challenges import TURN_DIRECTIONS, Action

JPEG_QUALITY = 92  # frames are kept JPEG-compressed: ~15x less memory, invisible loss
NOISE_POOL = 7  # distinct sensor-noise frames a photo attacker cycles through


@dataclass(frozen=True)
class Shot:
    """One frame of a footage-based stream: which source frame is shown, and when."""

    timestamp: float
    source: int


class Footage:
    """The frames of one video kept in memory (JPEG-compressed) with its frame rate."""

    def __init__(self, encoded: list[bytes], fps: float) -> None:
        self._encoded = encoded
        self.fps = fps

    @classmethod
    def from_frames(cls, frames: list[np.ndarray], fps: float) -> Footage:
        """Compress decoded BGR frames."""
        return cls([encode_frame(f) for f in frames], fps)

    def __len__(self) -> int:
        return len(self._encoded)

    def frame(self, index: int) -> np.ndarray:
        """The BGR frame at a source index."""
        data = np.frombuffer(self._encoded[index], dtype=np.uint8)
        return cv2.imdecode(data, cv2.IMREAD_COLOR)

    def play(self, shots: Iterator[Shot]) -> Iterator[tuple[np.ndarray, float]]:
        """Turn a stream of shots into (frame, timestamp) pairs."""
        for shot in shots:
            yield self.frame(shot.source), shot.timestamp


def encode_frame(frame_bgr: np.ndarray) -> bytes:
    """JPEG bytes of one frame."""
    ok, data = cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("could not encode a frame")
    return data.tobytes()


@dataclass(frozen=True)
class Segment:
    """Inclusive source-frame interval of one labelled action."""

    start: int
    end: int

    def frames(self) -> list[int]:
        return list(range(self.start, self.end + 1))


@dataclass(frozen=True)
class Repertoire:
    """What an actor can play from one video: labelled actions and neutral frames."""

    blinks: tuple[Segment, ...]
    smiles: tuple[Segment, ...]
    turns: Mapping[str, tuple[Segment, ...]]  # by image direction of the nose
    neutral: tuple[int, ...]  # source frames showing no action, in order
    frames: int

    def segments_for(self, action: Action) -> tuple[Segment, ...]:
        """Labelled segments that answer an action (turns by the module's direction rule)."""
        if action in (Action.BLINK, Action.BLINK_TWICE):
            return self.blinks
        if action is Action.SMILE:
            return self.smiles
        return self.turns.get(TURN_DIRECTIONS[action], ())

    def can_play(self, action: Action) -> bool:
        return bool(self.segments_for(action))


# Labels whose frames are not neutral footage, and the margin kept around them (frames).
_ACTION_KEYS = ("blinks", "winks", "smiles", "smirks", "turns", "long_eye_closures")
_NEUTRAL_MARGIN = 3


def repertoire_from_labels(labels: Mapping[str, Any], frames: int) -> Repertoire:
    """Segments and neutral frames from a label file's parsed JSON."""
    busy = np.zeros(frames, dtype=bool)
    for key in _ACTION_KEYS:
        for row in labels.get(key) or []:
            busy[max(0, int(row[0]) - _NEUTRAL_MARGIN) : int(row[1]) + _NEUTRAL_MARGIN + 1] = True
    for item in labels.get("uncertain") or []:
        start, end = (int(v) for v in item["frames"])
        if end - start + 1 < 0.8 * frames:  # whole-clip notes describe, they do not mark
            busy[start : end + 1] = True
    turns: dict[str, list[Segment]] = {"image_left": [], "image_right": []}
    for row in labels.get("turns") or []:
        turns.setdefault(str(row[2]), []).append(Segment(int(row[0]), int(row[1])))
    return Repertoire(
        blinks=_segments(labels.get("blinks")),
        smiles=_segments(labels.get("smiles")),
        turns={k: tuple(v) for k, v in turns.items()},
        neutral=tuple(int(i) for i in np.flatnonzero(~busy)) or tuple(range(frames)),
        frames=frames,
    )


def _segments(rows: list[list[Any]] | None) -> tuple[Segment, ...]:
    return tuple(Segment(int(r[0]), int(r[1])) for r in (rows or []))


class ResponsiveActor:
    """A cooperative person: answers each prompt, after a human reaction delay, with footage.

    Between answers it plays the neutral frames in order (looping). An answer is a labelled
    segment with a little real context on both sides (a blink needs open eyes around it);
    "blink twice" plays two blink segments back to back. A new prompt interrupts an answer
    still playing, as a person would drop a smile to follow the next instruction.
    """

    def __init__(
        self,
        repertoire: Repertoire,
        fps: float,
        seed: int | None = None,
        reaction: tuple[float, float] = (0.4, 1.2),
        context: float = 0.2,
        max_action: float = 1.5,
    ) -> None:
        self.repertoire = repertoire
        self.fps = fps
        self.reaction = reaction
        self._rng = random.Random(seed)
        self._context = max(1, round(context * fps))
        self._max_action = max(1, round(max_action * fps))
        self._queue: deque[int] = deque()
        self._pending: tuple[float, Action] | None = None
        self._neutral_at = 0
        self._count = 0

    def on_prompt(self, action: Action | str | None, timestamp: float) -> None:
        """A new prompt is shown (None: no action wanted, e.g. during an identity check)."""
        if action is None:
            return
        action = Action(action)
        self._queue.clear()
        self._pending = (timestamp + self._rng.uniform(*self.reaction), action)

    def shots(self) -> Iterator[Shot]:
        """Endless stream of shots; prompts may arrive between any two."""
        while True:
            t = self._count / self.fps
            self._count += 1
            if self._pending is not None and t >= self._pending[0]:
                self._queue.extend(self._answer(self._pending[1]))
                self._pending = None
            yield Shot(t, self._queue.popleft() if self._queue else self._next_neutral())

    def frames(self, footage: Footage) -> Iterator[tuple[np.ndarray, float]]:
        """Endless (frame, timestamp) stream."""
        return footage.play(self.shots())

    def _answer(self, action: Action) -> list[int]:
        segments = self.repertoire.segments_for(action)
        if not segments:
            return []  # nothing to show: the actor stays neutral and the step times out
        repeats = 2 if action is Action.BLINK_TWICE else 1
        out: list[int] = []
        for _ in range(repeats):
            out.extend(self._with_context(self._rng.choice(segments)))
        return out

    def _with_context(self, segment: Segment) -> list[int]:
        last = self.repertoire.frames - 1
        end = min(segment.end, segment.start + self._max_action - 1)
        return list(
            range(max(0, segment.start - self._context), min(last, end + self._context) + 1)
        )

    def _next_neutral(self) -> int:
        neutral = self.repertoire.neutral
        index = neutral[self._neutral_at % len(neutral)]
        self._neutral_at += 1
        return index


class ReplayAttacker:
    """Plays the real footage straight through, looping, deaf to every prompt."""

    def __init__(self, frames: int, fps: float) -> None:
        self.count = frames
        self.fps = fps

    def on_prompt(self, action: Action | str | None, timestamp: float) -> None:
        """Ignored: a replay cannot answer."""

    def shots(self) -> Iterator[Shot]:
        """Endless stream of shots."""
        n = 0
        while True:
            yield Shot(n / self.fps, n % self.count)
            n += 1

    def frames(self, footage: Footage) -> Iterator[tuple[np.ndarray, float]]:
        """Endless (frame, timestamp) stream."""
        return footage.play(self.shots())


@dataclass(frozen=True)
class HandHeld:
    """How much a hand-held photo wobbles (amplitudes; each drifts smoothly over time)."""

    shift_px: float = 4.0  # translation
    rotation_deg: float = 1.5
    scale: float = 0.02
    perspective: float = 0.02  # corner displacement, fraction of the frame size
    brightness: float = 0.08  # relative gain drift
    noise: float = 2.0  # sensor noise, grey levels (a re-captured print is never clean)


class PhotoAttacker:
    """Holds a still photo of the person up to the camera: jitter, perspective, light drift."""

    def __init__(
        self,
        still_bgr: np.ndarray,
        fps: float,
        seed: int | None = None,
        wobble: HandHeld | None = None,
    ) -> None:
        self.still = still_bgr
        self.fps = fps
        self.wobble = wobble or HandHeld()
        rng = np.random.default_rng(seed)
        # Each motion channel is a sum of three slow sinusoids (0.1-1.5 Hz): a hand's tremor
        # and sway, smooth from frame to frame, never repeating within a session.
        self._freqs = rng.uniform(0.1, 1.5, size=(13, 3))
        self._phases = rng.uniform(0, 2 * math.pi, size=(13, 3))
        self._seed = seed or 0
        self._noise_pool: list[np.ndarray] | None = None

    def on_prompt(self, action: Action | str | None, timestamp: float) -> None:
        """Ignored: a photo cannot answer."""

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """Endless (frame, timestamp) stream."""
        n = 0
        while True:
            yield self.frame(n), n / self.fps
            n += 1

    def frame(self, n: int) -> np.ndarray:
        """The photo as the camera sees it in frame n (a pure function of n and the seed)."""
        t = n / self.fps
        w = self.wobble
        m = self._motion(t)  # 13 smooth channels in [-1, 1]
        h, width = self.still.shape[:2]
        matrix = _similarity(
            width,
            h,
            m[0] * w.shift_px,
            m[1] * w.shift_px,
            m[2] * w.rotation_deg,
            1 + m[3] * w.scale,
        )
        matrix = _perspective(width, h, m[4:12] * w.perspective) @ matrix
        warped = cv2.warpPerspective(
            self.still, matrix, (width, h), borderMode=cv2.BORDER_REPLICATE
        )
        noisy = cv2.add(warped.astype(np.int16), self._noise(n, warped.shape))
        np.clip(noisy, 0, 255, out=noisy)
        return cv2.convertScaleAbs(noisy, alpha=1.0 + w.brightness * m[12])

    def _noise(self, n: int, shape: tuple[int, ...]) -> np.ndarray:
        """Sensor noise from a small pool (fresh Gaussian noise per frame costs ~30 ms)."""
        if self._noise_pool is None or self._noise_pool[0].shape != shape:
            rng = np.random.default_rng(self._seed)
            self._noise_pool = [
                (rng.standard_normal(shape) * self.wobble.noise).astype(np.int16)
                for _ in range(NOISE_POOL)
            ]
        return self._noise_pool[n % NOISE_POOL]

    def _motion(self, t: float) -> np.ndarray:
        return np.sin(2 * math.pi * self._freqs * t + self._phases).mean(axis=1)


def _similarity(
    width: int, height: int, dx: float, dy: float, deg: float, scale: float
) -> np.ndarray:
    affine = cv2.getRotationMatrix2D((width / 2, height / 2), deg, scale)
    affine[:, 2] += (dx, dy)
    return np.vstack([affine, [0.0, 0.0, 1.0]])


def _perspective(width: int, height: int, offsets: np.ndarray) -> np.ndarray:
    """Homography moving each corner by a fraction of the frame size (a slightly tilted print)."""
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    dst = src + (offsets.reshape(4, 2) * (width, height)).astype(np.float32)
    return cv2.getPerspectiveTransform(src, dst.astype(np.float32))
