"""Face verification accuracy on labelled pairs: accuracy, FMR, FNMR, threshold for a target FMR."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from server.analysis.errors import AnalysisError
from server.analysis.matching import face_distance

TARGET_FMR = 0.001


@dataclass(frozen=True)
class Pair:
    image_a: str
    image_b: str
    same_person: bool


@dataclass
class FaceEvaluation:
    """What `invigilator eval faces` reports."""

    threshold: float
    pairs: int
    accuracy: float
    fmr: float
    fnmr: float
    threshold_at_target_fmr: float
    fnmr_at_target_fmr: float
    target_fmr: float = TARGET_FMR
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def read_pairs(path: Path) -> list[Pair]:
    """Rows of a CSV with columns image_a,image_b,same_person (1/0 or true/false)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"image_a", "image_b", "same_person"} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return [
        Pair(r["image_a"], r["image_b"], r["same_person"].strip().lower() in {"1", "true", "yes"})
        for r in rows
    ]


def threshold_for_fmr(impostor_distances: Iterable[float], target: float) -> float:
    """The largest threshold whose false-match rate stays at or below target."""
    ordered = sorted(impostor_distances)
    if not ordered:
        return math.inf
    allowed = math.floor(target * len(ordered))  # false matches the target tolerates
    if allowed >= len(ordered):
        return ordered[-1]
    # Distances equal to the threshold match, so stay just below the first intolerable one.
    return math.nextafter(ordered[allowed], -math.inf)


def evaluate_pairs(
    pairs: list[Pair],
    embed: Callable[[str], np.ndarray],
    threshold: float,
) -> FaceEvaluation:
    """Score the pairs with embeddings from embed(name); unusable images are reported as failed."""
    embeddings: dict[str, np.ndarray | None] = {}
    errors: dict[str, str] = {}
    for name in sorted({p.image_a for p in pairs} | {p.image_b for p in pairs}):
        try:
            embeddings[name] = embed(name)
        except (AnalysisError, OSError) as exc:
            embeddings[name] = None
            errors[name] = getattr(exc, "code", type(exc).__name__) + ": " + str(exc)
    genuine: list[float] = []
    impostor: list[float] = []
    failed: list[dict[str, str]] = []
    for pair in pairs:
        a, b = embeddings[pair.image_a], embeddings[pair.image_b]
        if a is None or b is None:
            bad = pair.image_a if a is None else pair.image_b
            failed.append({"image_a": pair.image_a, "image_b": pair.image_b, "reason": errors[bad]})
            continue
        (genuine if pair.same_person else impostor).append(face_distance(a, b))
    return summarise(genuine, impostor, threshold, failed)


def summarise(
    genuine: list[float], impostor: list[float], threshold: float, failed: list[dict[str, str]]
) -> FaceEvaluation:
    g, i = np.asarray(genuine), np.asarray(impostor)
    false_non_matches = int((g > threshold).sum())
    false_matches = int((i <= threshold).sum())
    scored = len(g) + len(i)
    at_target = threshold_for_fmr(impostor, TARGET_FMR)
    return FaceEvaluation(
        threshold=threshold,
        pairs=scored,
        accuracy=_ratio(scored - false_matches - false_non_matches, scored),
        fmr=_ratio(false_matches, len(i)),
        fnmr=_ratio(false_non_matches, len(g)),
        threshold_at_target_fmr=_floor4(at_target),
        fnmr_at_target_fmr=_ratio(int((g > at_target).sum()), len(g)),
        failed=failed,
    )


def _floor4(value: float) -> float:
    """Rounded down, so the printed threshold still meets the target."""
    return math.floor(value * 1e4) / 1e4 if math.isfinite(value) else value


def _ratio(count: int, total: int) -> float:
    return round(count / total, 4) if total else float("nan")


def format_report(result: FaceEvaluation) -> str:
    lines = [
        f"pairs scored            {result.pairs} ({len(result.failed)} failed)",
        f"threshold               {result.threshold}",
        f"accuracy                {result.accuracy:.4f}",
        f"false-match rate        {result.fmr:.4f}",
        f"false-non-match rate    {result.fnmr:.4f}",
        f"threshold at FMR<={result.target_fmr:.1%}  {result.threshold_at_target_fmr}"
        f"  (FNMR there {result.fnmr_at_target_fmr:.4f})",
    ]
    lines += [f"failed: {f['image_a']} / {f['image_b']}: {f['reason']}" for f in result.failed]
    return "\n".join(lines)
