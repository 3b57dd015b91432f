"""Run every forensic detector on one image, each isolated, and assemble the report."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from server.analysis.errors import AnalysisError
from server.analysis.forensics import (
    ai_generation,
    blur,
    copy_move,
    ela,
    enhancement,
    heatmaps,
    jpeg,
    metadata,
    noise,
    reverse_search,
    summary,
)
from server.analysis.forensics import reference as reference_module
from server.analysis.forensics.hashing import dhash, phash
from server.analysis.forensics.imaging import downscale
from server.analysis.forensics.result import Result, jsonable
from server.analysis.images import decode_image, sniff_format

DEFAULT_MAX_PIXELS = 40_000_000
MIN_SIDE = 16
WORK_SIDE = 1024  # the blind detectors that allow it run on a copy this size
ELA_MAX_PIXELS = 24_000_000  # ELA needs the original pixels (the JPEG grid); above: working copy
# Weights of each detector's evidence map in the combined heatmap.
COMBINED_WEIGHTS = {
    "reference": 2.0,
    "copy_move": 1.5,
    "ela": 1.0,
    "noise": 0.5,
    "ai_generation": 0.3,
}


@dataclass
class ForensicReport:
    """Every detector's result (or error), the summary, and the heatmaps to save as PNGs."""

    format: str
    width: int
    height: int
    file_size: int
    analysed_size: tuple[int, int]  # (width, height) of the working copy
    detectors: dict[str, Result]
    errors: dict[str, dict[str, str]]
    summary: summary.Summary
    timings_ms: dict[str, float]
    heatmaps: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    maps: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able report (heatmaps are listed by name; callers save the arrays)."""
        detectors: dict[str, Any] = {name: r.to_dict() for name, r in self.detectors.items()}
        detectors.update({name: {"error": error} for name, error in self.errors.items()})
        return jsonable(
            {
                "image": {
                    "format": self.format,
                    "width": self.width,
                    "height": self.height,
                    "file_size": self.file_size,
                    "analysed_size": self.analysed_size,
                },
                "detectors": detectors,
                "summary": self.summary.to_dict(),
                "heatmaps": sorted(self.heatmaps),
                "timings_ms": self.timings_ms,
            }
        )


def analyze(
    data: bytes,
    *,
    reference: bytes | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    ssim_threshold: float = reference_module.DEFAULT_THRESHOLD,
) -> ForensicReport:
    """Decode the image (a failure here is bad input, raised) and run every detector."""
    started = time.perf_counter()
    image = decode_image(data, max_pixels)
    height, width = image.shape[:2]
    require_size(image, "image")
    work, _ = downscale(image, WORK_SIDE)
    timings = {"decode": _ms(started)}
    results: dict[str, Result] = {}
    errors: dict[str, dict[str, str]] = {}

    def run(name: str, detector: Callable[[], Result]) -> None:
        begun = time.perf_counter()
        try:
            results[name] = detector()
        except AnalysisError as exc:
            errors[name] = {"code": exc.code, "message": exc.message}
        except Exception as exc:  # one broken detector must not take the others down
            errors[name] = {"code": "ANALYSIS_ERROR", "message": f"{type(exc).__name__}: {exc}"}
        timings[name] = _ms(begun)

    if reference is not None:
        run("reference", lambda: _compare(image, reference, max_pixels, ssim_threshold))
    run("metadata", lambda: metadata.extract_metadata(data, work))
    run("jpeg", lambda: jpeg.analyse_jpeg(data, image))
    ela_input = image if height * width <= ELA_MAX_PIXELS else work
    run("ela", lambda: ela.error_level_analysis(ela_input))
    run("noise", lambda: noise.analyse_noise(work))
    run("copy_move", lambda: copy_move.detect_copy_move(work))
    run("ai_generation", lambda: ai_generation.analyse_ai_generation(work))
    run("blur", lambda: blur.blur_heuristic(work))
    run("enhancement", lambda: enhancement.enhancement_views(work))
    run("reverse_search", lambda: _reverse_search(data, work))

    pictures, maps = _collect(results)
    combined = heatmaps.combine(maps, COMBINED_WEIGHTS, work.shape[:2])
    maps["combined"] = combined
    pictures["combined"] = heatmaps.colourise(combined)
    pictures["combined_overlay"] = heatmaps.overlay(work, combined)
    verdict = summary.summarise(results, errors)
    timings["total"] = _ms(started)
    return ForensicReport(
        format=sniff_format(data[:16]) or "unknown",
        width=width,
        height=height,
        file_size=len(data),
        analysed_size=(work.shape[1], work.shape[0]),
        detectors=results,
        errors=errors,
        summary=verdict,
        timings_ms=timings,
        heatmaps=pictures,
        maps=maps,
    )


def require_size(image: np.ndarray, what: str) -> None:
    """Refuse images too small for 8x8 blocks and 15x15 windows (input error, not a fault)."""
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise AnalysisError(
            "VALIDATION_ERROR",
            f"{what} is {width}x{height} pixels; forensic analysis needs at least "
            f"{MIN_SIDE}x{MIN_SIDE}",
        )


def _compare(image: np.ndarray, reference_data: bytes, max_pixels: int, threshold: float) -> Result:
    reference_image = decode_image(reference_data, max_pixels)
    require_size(reference_image, "reference")
    return reference_module.compare_to_reference(image, reference_image, threshold)


def _reverse_search(data: bytes, work: np.ndarray) -> Result:
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    return reverse_search.prepare_reverse_search(md5, sha256, phash(work), dhash(work))


def _collect(results: dict[str, Result]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Pictures named "<detector>" (its heatmap) or "<detector>_<view>"; maps by detector."""
    pictures: dict[str, np.ndarray] = {}
    maps: dict[str, np.ndarray] = {}
    for name, result in results.items():
        for key, picture in result.heatmaps().items():
            pictures[name if key == "heatmap" else f"{name}_{key}"] = picture
        for picture in result.maps().values():
            maps[name] = picture
    return pictures, maps


def _ms(since: float) -> float:
    return round(1000 * (time.perf_counter() - since), 1)
