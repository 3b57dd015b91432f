"""Forensic work as it runs in an analysis worker: report, heatmap PNGs and hashes together.

Heatmaps are encoded to PNG in the worker, so only bytes come back to the event loop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.analysis.errors import AnalysisError
from server.analysis.forensics.hashing import dhash, phash
from server.analysis.forensics.imaging import downscale
from server.analysis.forensics.metadata import extract_metadata
from server.analysis.forensics.reference import compare_to_reference
from server.analysis.forensics.result import jsonable
from server.analysis.forensics.suite import WORK_SIDE, analyze, require_size
from server.analysis.images import decode_image, encode_png
from server.analysis.matching import face_distance
from server.workers import describe_photo


@dataclass(frozen=True)
class ForensicBundle:
    """The JSON report, its heatmaps as PNG bytes, and the image's perceptual hash."""

    report: dict[str, Any]
    pngs: dict[str, bytes]
    phash: str


def analyse_image(
    data: bytes, reference: bytes | None, max_pixels: int, ssim_threshold: float
) -> ForensicBundle:
    report = analyze(
        data, reference=reference, max_pixels=max_pixels, ssim_threshold=ssim_threshold
    )
    pngs = {name: encode_png(picture) for name, picture in report.heatmaps.items()}
    hashes = report.to_dict()["detectors"].get("reverse_search", {})
    return ForensicBundle(report.to_dict(), pngs, str(hashes.get("phash", "")))


def image_hashes(data: bytes, max_pixels: int) -> dict[str, str]:
    image = decode_image(data, max_pixels)
    require_size(image, "image")
    work, _ = downscale(image, WORK_SIDE)
    return {
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "phash": phash(work),
        "dhash": dhash(work),
    }


def compare_images(
    first: bytes, second: bytes, max_pixels: int, ssim_threshold: float
) -> dict[str, Any]:
    """SSIM of the second image registered onto the first, and both images' hashes."""
    reference = decode_image(first, max_pixels)
    submission = decode_image(second, max_pixels)
    require_size(reference, "image1")
    require_size(submission, "image2")
    result = compare_to_reference(submission, reference, ssim_threshold)
    return {
        "ssim": result.to_dict(),
        "image1": image_hashes(first, max_pixels),
        "image2": image_hashes(second, max_pixels),
        "pngs": {name: encode_png(picture) for name, picture in result.heatmaps().items()},
    }


def metadata_of(data: bytes, max_pixels: int) -> dict[str, Any]:
    """Format, EXIF, GPS, flags and hashes, without the pixel detectors."""
    image = decode_image(data, max_pixels)
    require_size(image, "image")
    work, _ = downscale(image, WORK_SIDE)
    return jsonable(
        {
            "metadata": extract_metadata(data, work).to_dict(),
            "hashes": image_hashes(data, max_pixels),
        }
    )


def check_id_photo(
    data: bytes,
    reference: bytes,
    enrolled: np.ndarray,
    max_pixels: int,
    ssim_threshold: float,
    detect_width: int,
) -> tuple[ForensicBundle, float | None]:
    """The forensic suite against the enrolled photo, and the face's distance to the student."""
    bundle = analyse_image(data, reference, max_pixels, ssim_threshold)
    try:
        face = describe_photo(data, max_pixels, detect_width, False)
    except AnalysisError:
        return bundle, None  # a document scan without a usable face: the SSIM check remains
    return bundle, face_distance(face.embedding, enrolled)
