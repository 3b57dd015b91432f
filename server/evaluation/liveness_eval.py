"""Measure the liveness detectors and the challenge machine on labelled face videos.

Each `*.mp4` in the directory comes with a `*.json` label file (format: the data README):
frame intervals of blinks, winks, smiles, mouth_open, smirks and turns, plus `uncertain`
ranges. Frames count decoded frames from 0 and timestamps are frame index / fps.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from server.analysis.challenges import (
    Action,
    ChallengeConfig,
    ChallengeMachine,
    State,
    draw_sequence,
)
from server.analysis.faces import face_embedding
from server.analysis.frame_analyser import FrameAnalyser
from server.analysis.liveness import (
    BlinkDetector,
    FrameFeatures,
    LivenessEvent,
    SmileDetector,
    TurnDetector,
)
from server.analysis.matching import face_distance
from server.evaluation.actors import (
    Footage,
    PhotoAttacker,
    Repertoire,
    ReplayAttacker,
    ResponsiveActor,
    Shot,
    encode_frame,
    repertoire_from_labels,
)

# Types of `uncertain` ranges that excuse a detection of each kind. A range of another kind
# says nothing about it (an uncertain head turn does not excuse a false blink).
_UNCERTAIN_WORDS = {
    "blink": ("blink", "closure", "wink", "eye", "lid", "squint", "gaze", "cut", "jump", "trunc"),
    "smile": ("smil", "smirk", "talk", "mouth", "teeth", "pout", "sad", "cut", "jump"),
    "turn": ("turn", "cut", "jump"),
}
# A range covering most of a clip describes the clip ("talking throughout", "narrow eyes"),
# it does not mark frames a careful viewer could not decide; it excuses nothing.
_DESCRIPTIVE_SHARE = 0.8
_POSITIVES = {"blink": "blinks", "smile": "smiles", "turn": "turns"}


@dataclass(frozen=True)
class Interval:
    """Inclusive frame interval, with the turn direction where it has one."""

    start: int
    end: int
    direction: str | None = None

    def overlaps(self, other: Interval, slack: int = 0) -> bool:
        return self.start <= other.end + slack and other.start <= self.end + slack


@dataclass(frozen=True)
class Labels:
    """One video's labels, parsed."""

    video: str
    fps: float
    frames: int
    positives: dict[str, list[Interval]]
    uncertain: dict[str, list[Interval]]


def _intervals(rows: list[list[Any]]) -> list[Interval]:
    """Label rows [start, end] or [start, end, direction] as intervals."""
    return [Interval(int(r[0]), int(r[1]), r[2] if len(r) > 2 else None) for r in rows]


def _uncertain_for(kind: str, items: list[dict[str, Any]], frames: int) -> list[Interval]:
    """The uncertain ranges whose type concerns this kind of event."""
    out = []
    for item in items:
        start, end = (int(v) for v in item["frames"])
        relevant = any(w in str(item.get("type", "")).lower() for w in _UNCERTAIN_WORDS[kind])
        if relevant and end - start + 1 < _DESCRIPTIVE_SHARE * frames:
            out.append(Interval(start, end))
    return out


def parse_labels(data: dict[str, Any]) -> Labels:
    """Labels from the parsed JSON of one video."""
    frames = int(data["frames"])
    uncertain = data.get("uncertain", [])
    return Labels(
        video=str(data["video"]),
        fps=float(data["fps"]),
        frames=frames,
        positives={kind: _intervals(data.get(key, [])) for kind, key in _POSITIVES.items()},
        uncertain={kind: _uncertain_for(kind, uncertain, frames) for kind in _UNCERTAIN_WORDS},
    )


def load_labels(path: Path) -> Labels:
    """Labels from a video's JSON file."""
    return parse_labels(json.loads(path.read_text()))


@dataclass
class Score:
    """Event-level counts for one kind of action."""

    labelled: int = 0
    found: int = 0  # labelled events overlapped by a detection
    true_detections: int = 0
    false_detections: int = 0
    ignored_detections: int = 0  # inside an uncertain range
    false_frames: list[int] = field(default_factory=list)  # first frame of each false alarm

    @property
    def precision(self) -> float | None:
        counted = self.true_detections + self.false_detections
        return self.true_detections / counted if counted else None

    @property
    def recall(self) -> float | None:
        return self.found / self.labelled if self.labelled else None

    def add(self, other: Score) -> None:
        self.labelled += other.labelled
        self.found += other.found
        self.true_detections += other.true_detections
        self.false_detections += other.false_detections
        self.ignored_detections += other.ignored_detections

    def to_dict(self) -> dict[str, object]:
        return {
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "labelled": self.labelled,
            "found": self.found,
            "detections": self.true_detections + self.false_detections,
            "false_alarms": self.false_detections,
            "ignored": self.ignored_detections,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def score_detections(
    kind: str, detections: list[Interval], labels: Labels, slack: int = 2
) -> Score:
    """Match detected frame intervals against one kind of labelled events.

    A detection overlapping a labelled event (within `slack` frames, the same way for turns)
    is true; else one overlapping an uncertain range of its kind is ignored; else it is a
    false alarm (winks detected as blinks, talking or smirks detected as smiles included).
    """
    positives = labels.positives[kind]

    def matched(d: Interval, p: Interval) -> bool:
        return d.overlaps(p, slack) and _same_direction(d, p)

    score = Score(labelled=len(positives))
    score.found = sum(any(matched(d, p) for d in detections) for p in positives)
    for d in detections:
        if any(matched(d, p) for p in positives):
            score.true_detections += 1
        elif any(d.overlaps(u, slack) for u in labels.uncertain[kind]):
            score.ignored_detections += 1
        else:
            score.false_detections += 1
            score.false_frames.append(d.start)
    return score


def _same_direction(detection: Interval, label: Interval) -> bool:
    return label.direction is None or detection.direction == label.direction


# --- videos and features -------------------------------------------------------------------

MAX_WIDTH = 640  # frames are analysed at webcam size, as the service would receive them


@dataclass
class VideoData:
    """One labelled video: its frames (compressed), per-frame features and label segments."""

    name: str
    fps: float
    labels: Labels
    repertoire: Repertoire
    features: list[FrameFeatures]
    footage: Footage
    analyse_seconds: float  # analyser time over all frames
    detections: int  # frames on which the face detector ran
    detect_reasons: dict[str, int] = field(default_factory=dict)  # why it ran, see TrackState
    embeddings: dict[int, np.ndarray] = field(default_factory=dict)  # by source frame
    photo: PhotoStream | None = None  # the photo attack, computed on first use

    @property
    def ms_per_frame(self) -> float:
        return 1000.0 * self.analyse_seconds / max(1, len(self.features))


_CACHE: dict[tuple[str, int, int], VideoData] = {}


def iter_frames(path: Path, max_width: int = MAX_WIDTH) -> Iterator[np.ndarray]:
    """Decoded BGR frames of a video, in decode order, scaled down to at most max_width."""
    for image, _ in iter_frame_pairs(path, max_width):
        yield image


def iter_luma(path: Path, max_width: int = MAX_WIDTH) -> Iterator[np.ndarray]:
    """Luma planes of a video's frames (what the server analyses), at most max_width wide."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield _luma_plane(_fit_width(frame, max_width))


def iter_frame_pairs(
    path: Path, max_width: int = MAX_WIDTH
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(BGR, luma) of each decoded frame, both at most max_width wide and the same size.

    The BGR frame is kept as footage (snapshots, embeddings, attackers); the luma plane is
    what the analyser gets, as in the service: the Y plane of the I420 frame, video range
    (16-235). It is not a grey conversion of the BGR frame: PyAV's to_ndarray("gray")
    stretches to 0-255 (up to 20 levels apart from the Y plane)."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="bgr24")
            height, width = image.shape[:2]
            if width > max_width:
                size = (max_width, round(height * max_width / width))
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            yield image, _luma_plane(_fit_width(frame, max_width))


def _fit_width(frame: av.VideoFrame, max_width: int) -> av.VideoFrame:
    """The frame as I420 at most max_width wide (area-averaged, like the BGR footage)."""
    width, height = frame.width, frame.height
    if width > max_width:
        width, height = max_width, round(height * max_width / width)
    elif frame.format.name == "yuv420p":
        return frame
    return frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")


def _luma_plane(frame: av.VideoFrame) -> np.ndarray:
    """Plane 0 of an I420 frame as a (height, width) array; rows are line_size apart."""
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return np.ascontiguousarray(rows[:, : plane.width])


def luma_of(image_bgr: np.ndarray) -> np.ndarray:
    """The Y plane a client would send for a BGR picture (I420, video range)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image_bgr), format="bgr24")
    return _luma_plane(frame.reformat(format="yuv420p"))


def load_video(path: Path, max_width: int = MAX_WIDTH) -> VideoData:
    """Decode and analyse a labelled video once per process (cached by path and mtime)."""
    key = (str(path.resolve()), path.stat().st_mtime_ns, max_width)
    if key not in _CACHE:
        _CACHE[key] = _analyse_video(path, max_width)
    return _CACHE[key]


def _analyse_video(path: Path, max_width: int) -> VideoData:
    raw = json.loads(path.with_suffix(".json").read_text())
    labels = parse_labels(raw)
    analyser = FrameAnalyser()
    features: list[FrameFeatures] = []
    encoded: list[bytes] = []
    spent = 0.0
    for index, (frame, luma) in enumerate(iter_frame_pairs(path, max_width)):
        began = time.perf_counter()
        features.append(analyser.analyse(luma, index / labels.fps))
        spent += time.perf_counter() - began
        encoded.append(encode_frame(frame))
    return VideoData(
        name=path.stem,
        fps=labels.fps,
        labels=labels,
        repertoire=repertoire_from_labels(raw, len(features)),
        features=features,
        footage=Footage(encoded, labels.fps),
        analyse_seconds=spent,
        detections=analyser.detections,
        detect_reasons=dict(analyser.reasons),
    )


def video_paths(directory: Path) -> list[Path]:
    """Every *.mp4 in the directory that has a *.json label file beside it."""
    return sorted(p for p in directory.glob("*.mp4") if p.with_suffix(".json").exists())


# --- detection precision and recall --------------------------------------------------------


def run_detectors(features: list[FrameFeatures]) -> dict[str, list[LivenessEvent]]:
    """Every blink, smile and turn the detectors find in a feature sequence (full extents)."""
    detectors = {"blink": BlinkDetector(), "smile": SmileDetector(), "turn": TurnDetector()}
    for f in features:
        for detector in detectors.values():
            detector.update(f)
    for detector in detectors.values():
        detector.finish()
    return {kind: detector.history for kind, detector in detectors.items()}


def to_intervals(events: list[LivenessEvent], fps: float) -> list[Interval]:
    """Events in seconds as inclusive frame intervals (timestamps are index / fps)."""
    return [Interval(round(e.start * fps), round(e.end * fps), e.direction) for e in events]


def score_video(video: VideoData, slack: int = 2) -> dict[str, Score]:
    """Blink, smile and turn scores of one video."""
    events = run_detectors(video.features)
    return {
        kind: score_detections(kind, to_intervals(found, video.fps), video.labels, slack)
        for kind, found in events.items()
    }


# --- challenge sessions --------------------------------------------------------------------


@dataclass(frozen=True)
class SessionResult:
    """How one simulated verification session ended."""

    passed: bool
    attempts_used: int
    reasons: tuple[str, ...]
    seconds: float


def _session_limit(config: ChallengeConfig) -> float:
    """An upper bound on a session's length, so a stuck simulation always ends."""
    attempt = (
        config.face_wait
        + 2 * config.identity_timeout
        + config.steps * config.step_timeout
        + config.retry_pause
    )
    return config.attempts * attempt + 1.0


def run_session(
    machine: ChallengeMachine,
    stream: Iterator[tuple[FrameFeatures, int]],
    identity: Callable[[int], float],
    on_prompt: Callable[[Action | None, float], None],
) -> SessionResult:
    """Drive a machine with (features, frame key) pairs until it passes or fails.

    Identity checks are answered at once with identity(key) for the frame that raised them.
    """
    limit = _session_limit(machine.config)
    shown: tuple[int, int, str] | None = None
    t = 0.0
    for features, key in stream:
        t = features.timestamp
        status = machine.update(features)
        if status.needs_identity:
            status = machine.provide_identity(identity(key), t)
        prompt = (status.attempt, status.step, status.state.value)
        if prompt != shown:
            shown = prompt
            on_prompt(status.action, t)
        if status.finished or t > limit:
            break
    status = machine.status
    return SessionResult(
        passed=status.state is State.PASSED,
        attempts_used=status.attempt,
        reasons=tuple(reason for _, reason in machine.failures),
        seconds=t,
    )


def _face_embedding(image: np.ndarray, features: FrameFeatures) -> np.ndarray | None:
    if features.box is None:
        return None
    return face_embedding(image, features.box)


def _enrolled(video: VideoData) -> np.ndarray:
    """The enrolment embedding: the first frame of the video with one face."""
    for index, f in enumerate(video.features):
        if f.face_count == 1 and f.box is not None:
            embedding = _footage_embedding(video, index)
            if embedding is not None:
                return embedding
    raise ValueError(f"{video.name}: no frame with a face to enrol")


def _footage_embedding(video: VideoData, index: int) -> np.ndarray | None:
    if index not in video.embeddings:
        embedding = _face_embedding(video.footage.frame(index), video.features[index])
        if embedding is None:
            return None
        video.embeddings[index] = embedding
    return video.embeddings[index]


def _distance(enrolled: np.ndarray, embedding: np.ndarray | None) -> float:
    return math.inf if embedding is None else face_distance(enrolled, embedding)


def playable_machine(
    video: VideoData, seed: int, config: ChallengeConfig
) -> tuple[ChallengeMachine, int] | None:
    """A seeded machine whose every attempt the actor can play, and how many attempts had to
    be redrawn; None (the seed is skipped) when the first attempt asks for footage the video
    lacks. Redrawing later attempts, rather than skipping their seeds, keeps failed first
    attempts in the count (skipping them would flatter the BPCER)."""
    machine = ChallengeMachine(config, seed)
    playable = video.repertoire.can_play
    if not all(playable(a) for a in machine.sequences[0]):
        return None
    rng = random.Random(f"redraw-{seed}")
    redrawn = 0
    for k in range(1, len(machine.sequences)):
        redrawn += not all(playable(a) for a in machine.sequences[k])
        while not all(playable(a) for a in machine.sequences[k]):
            machine.sequences[k] = draw_sequence(rng, config.actions, config.steps)
    return machine, redrawn


def genuine_session(
    video: VideoData, seed: int, config: ChallengeConfig
) -> tuple[SessionResult, int] | None:
    """The responsive actor against one seeded machine (with the redrawn-attempt count);
    None when the seed's first attempt is unplayable on this video."""
    found = playable_machine(video, seed, config)
    if found is None:
        return None
    machine, redrawn = found
    actor = ResponsiveActor(video.repertoire, video.fps, seed)
    identity = partial(_footage_distance, video, _enrolled(video))
    return run_session(machine, _replayed(video, actor.shots()), identity, actor.on_prompt), redrawn


def replay_session(video: VideoData, seed: int, config: ChallengeConfig) -> SessionResult:
    """The footage straight through (looping), deaf to prompts, against one seeded machine."""
    machine = ChallengeMachine(config, seed)
    attacker = ReplayAttacker(len(video.features), video.fps)
    identity = partial(_footage_distance, video, _enrolled(video))
    return run_session(machine, _replayed(video, attacker.shots()), identity, attacker.on_prompt)


def _replayed(video: VideoData, shots: Iterator[Shot]) -> Iterator[tuple[FrameFeatures, int]]:
    """Features of the footage frames a player shows, at the player's timestamps.

    Direct mode reuses the features measured once on the footage: the pixels are the same
    frames, only re-timed (the tracker state at a jump between segments is the one thing
    this leaves out)."""
    for shot in shots:
        yield replace(video.features[shot.source], timestamp=shot.timestamp), shot.source


def _footage_distance(video: VideoData, enrolled: np.ndarray, index: int) -> float:
    return _distance(enrolled, _footage_embedding(video, index))


class PhotoStream:
    """The photo attack's frames and features: prompt-independent, so computed once per video
    (lazily, as far as the longest session needs) and shared by every seed."""

    def __init__(self, video: VideoData) -> None:
        neutral = video.repertoire.neutral
        still = video.footage.frame(neutral[len(neutral) // 2])  # a still of the person
        self.attacker = PhotoAttacker(still, video.fps, seed=len(video.features))
        self.fps = video.fps
        self.features: list[FrameFeatures] = []
        self._analyser = FrameAnalyser()
        self._embeddings: dict[int, np.ndarray | None] = {}

    def stream(self) -> Iterator[tuple[FrameFeatures, int]]:
        """(features, frame number) from the start of the attack."""
        n = 0
        while True:
            if n == len(self.features):
                frame = luma_of(self.attacker.frame(n))  # the server gets luma, not BGR
                self.features.append(self._analyser.analyse(frame, n / self.fps))
            yield self.features[n], n
            n += 1

    def distance(self, enrolled: np.ndarray, n: int) -> float:
        """Embedding distance of the face in frame n to the enrolled one."""
        if n not in self._embeddings:
            # Frames are a pure function of n, so the frame is simply drawn again.
            self._embeddings[n] = _face_embedding(self.attacker.frame(n), self.features[n])
        return _distance(enrolled, self._embeddings[n])


def photo_session(video: VideoData, seed: int, config: ChallengeConfig) -> SessionResult:
    """The photo attack against one seeded machine."""
    if video.photo is None:
        video.photo = PhotoStream(video)
    photo = video.photo
    machine = ChallengeMachine(config, seed)
    identity = partial(photo.distance, _enrolled(video))
    return run_session(machine, photo.stream(), identity, photo.attacker.on_prompt)


# --- the whole evaluation ------------------------------------------------------------------

KINDS = ("blink", "smile", "turn")


def _rate(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


@dataclass
class Counts:
    """Session outcomes, summable over videos."""

    genuine: int = 0  # responsive-actor sessions run
    genuine_failed: int = 0  # ... that ended without verification (BPCER numerator)
    skipped: int = 0  # seeds whose first attempt asked for footage the video lacks
    redrawn: int = 0  # later attempts redrawn for the same reason
    genuine_attempts: int = 0
    genuine_failed_attempts: int = 0
    attacks: int = 0  # sessions per attack kind
    photo_passed: int = 0
    replay_passed: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def rates(self) -> dict[str, object]:
        return {
            "bpcer": _rate(self.genuine_failed, self.genuine),
            "bpcer_per_attempt": _rate(self.genuine_failed_attempts, self.genuine_attempts),
            "apcer": {
                "photo": _rate(self.photo_passed, self.attacks),
                "replay": _rate(self.replay_passed, self.attacks),
            },
        }


@dataclass
class VideoOutcome:
    """Everything measured on one video."""

    scores: dict[str, Score]
    counts: Counts
    frames: int
    ms_per_frame: float
    failure_reasons: dict[str, int]
    detections: int = 0  # frames on which HOG ran on the whole frame
    detect_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            **{kind: score.to_dict() for kind, score in self.scores.items()},
            **self.counts.rates(),
            "sessions": asdict(self.counts),
            "frames": self.frames,
            "ms_per_frame": round(self.ms_per_frame, 2),
            "detections": self.detections,
            "detect_reasons": self.detect_reasons,
            "genuine_failures": self.failure_reasons,
        }


def evaluate_video(video: VideoData, seeds: range, config: ChallengeConfig) -> VideoOutcome:
    """Detection scores and challenge outcomes of one video."""
    genuine = [genuine_session(video, seed, config) for seed in seeds]
    played = [g[0] for g in genuine if g is not None]
    photo = [photo_session(video, seed, config) for seed in seeds]
    replay = [replay_session(video, seed, config) for seed in seeds]
    counts = Counts(
        genuine=len(played),
        genuine_failed=sum(not r.passed for r in played),
        skipped=len(genuine) - len(played),
        redrawn=sum(g[1] for g in genuine if g is not None),
        genuine_attempts=sum(r.attempts_used for r in played),
        genuine_failed_attempts=sum(len(r.reasons) for r in played),
        attacks=len(seeds),
        photo_passed=sum(r.passed for r in photo),
        replay_passed=sum(r.passed for r in replay),
    )
    return VideoOutcome(
        scores=score_video(video),
        counts=counts,
        frames=len(video.features),
        ms_per_frame=video.ms_per_frame,
        failure_reasons=_reasons(played),
        detections=video.detections,
        detect_reasons=video.detect_reasons,
    )


def _reasons(results: list[SessionResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        for reason in result.reasons:
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def evaluate_liveness(
    videos: Path,
    attempts: int = 3,
    seeds: int = 20,
    actions: tuple[Action, ...] | None = None,
    max_width: int = MAX_WIDTH,
) -> dict[str, object]:
    """Blink/smile precision and recall, BPCER and APCER (photo, replay) over a directory.

    Direct mode: frames go straight into the pipeline (no WebRTC). Each of `seeds` challenge
    seeds is run once per video for the responsive actor and for each attacker. Frames wider
    than max_width are scaled down to it (640: a webcam stream; 480 to measure a cheaper one).
    """
    config = ChallengeConfig(attempts=attempts, actions=actions or tuple(Action))
    outcomes = {
        path.stem: evaluate_video(load_video(path, max_width), range(seeds), config)
        for path in video_paths(videos)
    }
    scores = {kind: Score() for kind in KINDS}
    counts = Counts()
    frames = 0
    spent = 0.0
    detections = 0
    for outcome in outcomes.values():
        for kind in KINDS:
            scores[kind].add(outcome.scores[kind])
        counts.add(outcome.counts)
        frames += outcome.frames
        spent += outcome.frames * outcome.ms_per_frame
        detections += outcome.detections
    return {
        **{kind: score.to_dict() for kind, score in scores.items()},
        **counts.rates(),
        "attempts": attempts,
        "seeds": seeds,
        "sessions": asdict(counts),
        "actions": [a.value for a in config.actions],
        "max_width": max_width,
        "analyser_ms_per_frame": round(spent / max(1, frames), 2),
        "analyser_detections_per_frame": round(detections / max(1, frames), 4),
        "per_video": {name: outcome.to_dict() for name, outcome in outcomes.items()},
    }


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table of the evaluation, per video and overall."""
    header = (
        f"{'video':32s} {'blink P':>7s} {'blink R':>7s} {'smile P':>7s} {'smile R':>7s}"
        f" {'BPCER':>6s} {'APCER ph':>8s} {'APCER rp':>8s} {'run':>4s} {'skip':>4s} {'ms/fr':>6s}"
    )
    lines = [header, "-" * len(header)]
    rows = {
        **result["per_video"],
        "OVERALL": {**result, "ms_per_frame": result["analyser_ms_per_frame"]},
    }
    for name, row in rows.items():
        blink, smile, apcer, sessions = row["blink"], row["smile"], row["apcer"], row["sessions"]
        lines.append(
            f"{name[:32]:32s} {_pct(blink['precision']):>7s} {_pct(blink['recall']):>7s}"
            f" {_pct(smile['precision']):>7s} {_pct(smile['recall']):>7s} {_pct(row['bpcer']):>6s}"
            f" {_pct(apcer['photo']):>8s} {_pct(apcer['replay']):>8s} {sessions['genuine']:>4d}"
            f" {sessions['skipped']:>4d} {row['ms_per_frame']:6.1f}"
        )
    sessions = result["sessions"]
    lines += [
        "",
        f"blink: {_counts(result['blink'])}; smile: {_counts(result['smile'])};"
        f" turn: {_counts(result['turn'])}",
        f"{result['seeds']} challenge seeds per video and attack, {result['attempts']} attempts"
        f" per session, actions {', '.join(result['actions'])}.",
        f"Responsive actor: {sessions['genuine']} sessions run, {sessions['skipped']} seeds"
        f" skipped and {sessions['redrawn']} later attempts redrawn (no footage for a prompt);"
        f" BPCER per attempt {_pct(result['bpcer_per_attempt']).strip()}.",
    ]
    return "\n".join(lines)


def _counts(score: dict[str, Any]) -> str:
    return (
        f"{score['found']}/{score['labelled']} labelled found, {score['false_alarms']} false"
        f" alarms, {score['ignored']} in uncertain ranges"
    )
