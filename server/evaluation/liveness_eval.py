"""Measure the liveness detectors and the challenge machine on labelled face videos.

Each `*.mp4` in the directory comes with a `*.json` label file (format: the data README):
frame intervals of blinks, winks, smiles, mouth_open, smirks and turns, plus `uncertain`
ranges. Frames count decoded frames from 0 and timestamps are frame index / fps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

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


def _intervals(rows: list[list[object]]) -> list[Interval]:
    out = []
    for row in rows:
        direction = str(row[2]) if len(row) > 2 and isinstance(row[2], str) else None
        out.append(Interval(int(row[0]), int(row[1]), direction))  # type: ignore[call-overload]
    return out


def _uncertain_for(kind: str, raw: list[dict[str, object]], frames: int) -> list[Interval]:
    words = _UNCERTAIN_WORDS[kind]
    out = []
    for item in raw:
        start, end = (int(v) for v in item["frames"])  # type: ignore[union-attr]
        if end - start + 1 >= _DESCRIPTIVE_SHARE * frames:
            continue
        if any(w in str(item.get("type", "")).lower() for w in words):
            out.append(Interval(start, end))
    return out


def parse_labels(data: dict[str, object]) -> Labels:
    """Labels from the parsed JSON of one video."""
    frames = int(data["frames"])  # type: ignore[arg-type]
    raw_uncertain = data.get("uncertain", [])
    return Labels(
        video=str(data["video"]),
        fps=float(data["fps"]),  # type: ignore[arg-type]
        frames=frames,
        positives={k: _intervals(data.get(v, [])) for k, v in _POSITIVES.items()},  # type: ignore[arg-type]
        uncertain={k: _uncertain_for(k, raw_uncertain, frames) for k in _UNCERTAIN_WORDS},  # type: ignore[arg-type]
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
    """Match detected frame intervals against one kind of labelled events."""
    positives = labels.positives[kind]
    same_way = [
        d for d in detections
        if any(d.overlaps(p, slack) and _same_direction(d, p) for p in positives)
    ]
    score = Score(labelled=len(positives), true_detections=len(same_way))
    score.found = sum(
        any(d.overlaps(p, slack) and _same_direction(d, p) for d in detections) for p in positives
    )
    for d in detections:
        if d in same_way:
            continue
        if any(d.overlaps(u, slack) for u in labels.uncertain[kind]):
            score.ignored_detections += 1
        else:
            score.false_detections += 1
            score.false_frames.append(d.start)
    return score


def _same_direction(detection: Interval, label: Interval) -> bool:
    return label.direction is None or detection.direction == label.direction
