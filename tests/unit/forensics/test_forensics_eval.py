"""The evaluation: rank AUC, F1, benign variants and a small end-to-end run."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from server.benchmarks.forensics_bench import bench_forensics, format_table
from server.evaluation.forensics_eval import (
    benign_variants,
    evaluate_forensics,
    f1_score,
    format_report,
    roc_auc,
)
from tests.unit.forensics.conftest import CASIA_PAIR


def _brute_auc(pos: list[float], neg: list[float]) -> float:
    pairs = list(itertools.product(pos, neg))
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


def test_roc_auc_is_the_rank_statistic() -> None:
    rng = np.random.default_rng(1)
    assert roc_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert roc_auc([0.1], [0.9]) == 0.0
    assert roc_auc([0.5, 0.5], [0.5]) == 0.5
    assert roc_auc([], [0.1]) is None
    pos = list(rng.integers(0, 5, 30).astype(float))
    neg = list(rng.integers(0, 5, 20).astype(float))
    assert roc_auc(pos, neg) == pytest.approx(_brute_auc(pos, neg))


def test_f1_score() -> None:
    truth = np.zeros((4, 4), bool)
    truth[:2] = True
    predicted = np.zeros((4, 4), bool)
    predicted[:1] = True
    assert f1_score(predicted, truth) == pytest.approx(2 * 4 / (4 + 8))
    assert f1_score(truth, truth) == 1.0


def test_benign_variants_are_seeded(astronaut) -> None:
    first = list(benign_variants(astronaut, np.random.default_rng(5)))
    again = list(benign_variants(astronaut, np.random.default_rng(5)))
    assert [label for label, _ in first] == [label for label, _ in again]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first, again, strict=True))
    assert len(first) == 5


def test_evaluation_on_two_casia_triples(casia_dir: Path, tmp_path: Path) -> None:
    for name in (CASIA_PAIR, "CM_Sp_S_NNN_A_pla0099_pla0099_0214"):
        for role in ("tampered", "authentic", "mask"):
            (tmp_path / f"{name}_{role}.png").symlink_to(casia_dir / f"{name}_{role}.png")
    result = evaluate_forensics(tmp_path)
    assert result["pairs"] == 2
    assert {"ela", "noise", "copy_move", "jpeg", "combined"} <= set(result["auc"])
    assert all(v is None or 0.0 <= v <= 1.0 for v in result["auc"].values())
    assert result["pixel_f1"]["reference"] > 0.6
    assert result["reference"]["recall"] == 1.0
    assert result["reference"]["false_alarm_rate"] == 0.0
    assert result["reference"]["benign_variants"] == 10
    text = format_report(result)
    assert "image AUC" in text and "recall 1.000" in text


def test_bench_runs_and_formats() -> None:
    result = bench_forensics(sizes_mp=(0.3,), repeats=1)
    row = result["sizes"][0]
    assert row["megapixels"] == pytest.approx(0.3, rel=0.1)
    assert row["median_seconds"] > 0
    assert "0.3" in format_table(result)
