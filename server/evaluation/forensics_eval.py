"""Forensics on tampered/authentic/mask triples: image AUC, pixel F1, reference recall and FAR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.stats import rankdata

from server.analysis.errors import AnalysisError
from server.analysis.forensics import compare_to_reference
from server.analysis.forensics.reference import DEFAULT_THRESHOLD
from server.analysis.forensics.suite import analyze
from server.analysis.images import decode_image

MAX_PIXELS = 100_000_000
SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# Image-level scores: each blind detector's 0..1 suspicion; "combined" is the summary's risk.
DETECTORS = ("ela", "noise", "copy_move", "jpeg", "ai_generation", "blur", "metadata")
PIXEL_MAPS = ("reference", "ela", "noise", "copy_move", "ai_generation", "combined")
VARIANT_KINDS = ("jpeg", "resize", "brightness", "rotation", "crop")
PIXEL_CUT = 0.5  # every evidence map reads 0.5 and above as "tampered here"


def find_triples(data_dir: Path) -> list[tuple[str, Path, Path, Path | None]]:
    """(name, tampered, authentic, mask or None) for every `<name>_tampered.*` with an authentic."""
    triples = []
    for tampered in sorted(data_dir.glob("*_tampered.*")):
        if tampered.suffix.lower() not in SUFFIXES:
            continue
        name = tampered.stem[: -len("_tampered")]
        authentic = _sibling(data_dir, name, "authentic")
        if authentic is not None:
            triples.append((name, tampered, authentic, _sibling(data_dir, name, "mask")))
    return triples


def _sibling(data_dir: Path, name: str, role: str) -> Path | None:
    found = [p for p in sorted(data_dir.glob(f"{name}_{role}.*")) if p.suffix.lower() in SUFFIXES]
    return found[0] if found else None


def roc_auc(positives: list[float], negatives: list[float]) -> float | None:
    """Area under the ROC curve by the Mann-Whitney rank statistic (ties count half)."""
    if not positives or not negatives:
        return None
    ranks = rankdata(np.concatenate([positives, negatives]))
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def f1_score(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Pixel F1 of two boolean masks (1.0 when both are empty)."""
    hits = int(np.count_nonzero(predicted & truth))
    total = int(np.count_nonzero(predicted)) + int(np.count_nonzero(truth))
    return 1.0 if total == 0 else 2.0 * hits / total


def benign_variants(
    image: np.ndarray, rng: np.random.Generator
) -> Iterator[tuple[str, np.ndarray]]:
    """One random benign change of each kind: JPEG 60-95, resize 0.5-2x, brightness +-20 %,
    rotation +-3 degrees, crop <= 3 % per side."""
    height, width = image.shape[:2]
    quality = int(rng.integers(60, 96))
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if ok:
        yield f"jpeg q{quality}", cv2.imdecode(buf, cv2.IMREAD_COLOR)
    factor = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    size = (max(8, round(width * factor)), max(8, round(height * factor)))
    method = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    yield f"resize x{factor:.2f}", cv2.resize(image, size, interpolation=method)
    gain = float(rng.uniform(0.8, 1.2))
    yield f"brightness x{gain:.2f}", cv2.convertScaleAbs(image, alpha=gain)
    angle = float(rng.uniform(-3.0, 3.0))
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    yield f"rotation {angle:+.1f}", cv2.warpAffine(image, turn, (width, height))
    cut = rng.uniform(0.0, 0.03, size=4)
    top, bottom = round(cut[0] * height), height - round(cut[1] * height)
    left, right = round(cut[2] * width), width - round(cut[3] * width)
    yield f"crop {100 * cut.max():.1f}%", image[top:bottom, left:right].copy()


def evaluate_forensics(data_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Image AUC per detector and combined, pixel F1 per map, reference recall and false alarms."""
    rng = np.random.default_rng(seed)
    scores: dict[str, dict[str, list[float]]] = {
        name: {"tampered": [], "authentic": []} for name in (*DETECTORS, "combined")
    }
    f1: dict[str, list[float]] = {name: [] for name in PIXEL_MAPS}
    flagged, false_alarms, variants = 0, 0, 0
    alarms_by_kind = dict.fromkeys(VARIANT_KINDS, 0)
    failed: list[dict[str, str]] = []
    triples = find_triples(data_dir)
    pairs = 0
    for name, tampered_path, authentic_path, mask_path in triples:
        try:
            tampered_bytes, authentic_bytes = (
                tampered_path.read_bytes(),
                authentic_path.read_bytes(),
            )
            tampered = decode_image(tampered_bytes, MAX_PIXELS)
            authentic = decode_image(authentic_bytes, MAX_PIXELS)
            reports = {
                "tampered": analyze(tampered_bytes, max_pixels=MAX_PIXELS),
                "authentic": analyze(authentic_bytes, max_pixels=MAX_PIXELS),
            }
            check = compare_to_reference(tampered, authentic, DEFAULT_THRESHOLD)
        except (AnalysisError, OSError) as exc:
            failed.append({"name": name, "error": str(exc)})
            continue
        pairs += 1
        for role, report in reports.items():
            for detector in DETECTORS:
                result = report.detectors.get(detector)
                if result is not None:
                    scores[detector][role].append(float(result.suspicion))
            scores["combined"][role].append(report.summary.risk_percent / 100.0)
        flagged += int(check.forged)
        if mask_path is not None:
            truth = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127
            maps = dict(reports["tampered"].maps)
            if check.evidence is not None:
                maps["reference"] = check.evidence
            for key in PIXEL_MAPS:
                if key in maps:
                    f1[key].append(_pixel_f1(maps[key], truth))
        for label, variant in benign_variants(authentic, rng):
            variants += 1
            if compare_to_reference(variant, authentic, DEFAULT_THRESHOLD).forged:
                false_alarms += 1
                alarms_by_kind[label.split()[0]] += 1
    return {
        "data_dir": str(data_dir),
        "pairs": pairs,
        "failed": failed,
        "auc": {
            name: _round(roc_auc(values["tampered"], values["authentic"]))
            for name, values in scores.items()
        },
        "pixel_f1": {name: _round(float(np.mean(v)) if v else None) for name, v in f1.items()},
        "reference": {
            "threshold": DEFAULT_THRESHOLD,
            "recall": _round(flagged / pairs if pairs else None),
            "false_alarm_rate": _round(false_alarms / variants if variants else None),
            "tampered_pairs": pairs,
            "benign_variants": variants,
            "false_alarms_by_kind": alarms_by_kind,
        },
        "seed": seed,
    }


def _pixel_f1(evidence: np.ndarray, truth: np.ndarray) -> float:
    height, width = truth.shape
    resized = cv2.resize(
        evidence.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
    )
    return f1_score(resized >= PIXEL_CUT, truth)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def format_report(result: dict[str, Any]) -> str:
    """The evaluation as a short plain-text table."""
    lines = [f"forensics on {result['data_dir']}: {result['pairs']} tampered/authentic pairs"]
    lines.append("")
    lines.append(f"{'detector':<16}{'image AUC':>10}{'pixel F1':>10}")
    names = [*DETECTORS, "reference", "combined"]
    for name in names:
        auc = result["auc"].get(name)
        f1 = result["pixel_f1"].get(name)
        lines.append(f"{name:<16}{_cell(auc):>10}{_cell(f1):>10}")
    ref = result["reference"]
    lines.append("")
    lines.append(
        f"reference check (threshold {ref['threshold']:.2f}): recall {_cell(ref['recall'])} on "
        f"{ref['tampered_pairs']} tampered pairs, false-alarm rate "
        f"{_cell(ref['false_alarm_rate'])} on {ref['benign_variants']} benign variants"
    )
    kinds = ", ".join(f"{k} {v}" for k, v in ref["false_alarms_by_kind"].items())
    lines.append(f"false alarms by kind: {kinds}")
    for failure in result["failed"]:
        lines.append(f"failed: {failure['name']}: {failure['error']}")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
