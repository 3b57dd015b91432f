"""The suite: every detector isolated, JSON-able report, heatmaps, input errors raised."""

from __future__ import annotations

import json

import numpy as np
import pytest

from server.analysis.errors import AnalysisError
from server.analysis.forensics import suite
from server.analysis.forensics.summary import tier_of
from tests.unit.forensics.conftest import jpeg_bytes, png_bytes

BLIND = {
    "metadata",
    "jpeg",
    "ela",
    "noise",
    "copy_move",
    "ai_generation",
    "blur",
    "enhancement",
    "reverse_search",
}


def test_full_report_on_a_real_jpeg(astronaut) -> None:
    report = suite.analyze(jpeg_bytes(astronaut, 88))
    assert set(report.detectors) == BLIND
    assert report.errors == {}
    data = json.loads(json.dumps(report.to_dict()))
    assert data["image"]["format"] == "jpeg"
    assert data["image"]["width"] == 512
    assert data["detectors"]["jpeg"]["quality"] == 88
    assert data["summary"]["risk_tier"] in ("low", "medium", "high")
    assert data["summary"]["recommendation"]
    assert "reference" not in data["detectors"]
    for name in ("ela", "noise", "copy_move", "ai_generation", "combined", "combined_overlay"):
        picture = report.heatmaps[name]
        assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    assert set(data["heatmaps"]) == set(report.heatmaps)
    links = data["detectors"]["reverse_search"]["links"]
    assert "tineye" in links


def test_one_failing_detector_leaves_the_others(astronaut, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(suite.ela, "error_level_analysis", broken)
    report = suite.analyze(jpeg_bytes(astronaut, 88))
    assert report.errors["ela"]["code"] == "ANALYSIS_ERROR"
    assert "boom" in report.errors["ela"]["message"]
    assert set(report.detectors) == BLIND - {"ela"}
    data = report.to_dict()
    assert data["detectors"]["ela"] == {"error": report.errors["ela"]}
    assert data["detectors"]["jpeg"]["quality"] == 88
    assert any("ela could not run" in issue for issue in data["summary"]["issues"])
    assert "combined" in report.heatmaps


def test_a_detector_analysis_error_keeps_its_code(astronaut, monkeypatch) -> None:
    def refuses(*args: object, **kwargs: object) -> None:
        raise AnalysisError("NO_FACE", "no face here")

    monkeypatch.setattr(suite.ai_generation, "analyse_ai_generation", refuses)
    report = suite.analyze(png_bytes(astronaut))
    assert report.errors == {"ai_generation": {"code": "NO_FACE", "message": "no face here"}}


def test_reference_check_in_the_suite(casia_pair) -> None:
    tampered, authentic, _ = casia_pair
    report = suite.analyze(tampered, reference=authentic)
    assert report.detectors["reference"].forged
    assert report.summary.risk_tier == "high"
    assert "reference" in report.heatmaps and "reference_boxes" in report.heatmaps
    clean = suite.analyze(authentic, reference=authentic)
    assert not clean.detectors["reference"].forged


def test_a_broken_reference_only_fails_the_reference(casia_pair) -> None:
    tampered, _, _ = casia_pair
    report = suite.analyze(tampered, reference=b"not an image")
    assert report.errors["reference"]["code"] == "INVALID_FORMAT"
    assert set(report.detectors) >= BLIND


def test_bad_input_is_raised_with_its_code(astronaut) -> None:
    with pytest.raises(AnalysisError) as invalid:
        suite.analyze(b"%PDF-1.4 definitely not an image")
    assert invalid.value.code == "INVALID_FORMAT"
    data = jpeg_bytes(astronaut, 90)
    with pytest.raises(AnalysisError) as truncated:
        suite.analyze(data[: len(data) // 3])
    assert truncated.value.code == "VALIDATION_ERROR"
    with pytest.raises(AnalysisError) as large:
        suite.analyze(data, max_pixels=100_000)
    assert large.value.code == "IMAGE_TOO_LARGE"
    with pytest.raises(AnalysisError) as small:
        suite.analyze(png_bytes(astronaut[:8, :8]))
    assert small.value.code == "VALIDATION_ERROR"


def test_risk_tiers() -> None:
    assert tier_of(0) == "low" and tier_of(30.0) == "low"
    assert tier_of(30.1) == "medium" and tier_of(60.0) == "medium"
    assert tier_of(60.1) == "high"
