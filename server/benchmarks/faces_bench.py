"""Verification time per photo pair: this project's pipeline against face_recognition's default."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from server.analysis import faces
from server.analysis.errors import AnalysisError
from server.analysis.images import decode_image
from server.analysis.matching import DEFAULT_THRESHOLD, face_distance
from server.workers import describe_photo

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
MAX_PIXELS = 100_000_000


def ours(data: bytes) -> np.ndarray:
    """The service's path: reduced JPEG decode, HOG on a 640-px copy, 68 points, embedding."""
    return describe_photo(data, MAX_PIXELS, faces.DEFAULT_DETECT_WIDTH, False).embedding


def reference(data: bytes) -> np.ndarray:
    """face_recognition's default: full decode, HOG upsample 1 on the full image, 68 points."""
    image = decode_image(data, MAX_PIXELS)
    boxes = faces.detect_faces(image, detect_width=image.shape[1], upsample=1)
    if not boxes:
        raise AnalysisError("NO_FACE", "no face")
    box = max(boxes, key=lambda b: b.width * b.height)
    return faces.face_embedding(image, box)


@dataclass
class PipelineTiming:
    name: str
    seconds: list[float] = field(default_factory=list)
    distances: list[float | None] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


@dataclass
class FaceBench:
    pairs: int
    ours: PipelineTiming
    reference: PipelineTiming
    threshold: float
    service: PipelineTiming = field(default_factory=lambda: PipelineTiming("service"))
    embedding_ms: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.ours.median / self.reference.median

    @property
    def agreements(self) -> int:
        return sum(
            _decision(a, self.threshold) == _decision(b, self.threshold)
            for a, b in zip(self.ours.distances, self.reference.distances, strict=True)
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "pairs": self.pairs,
            "ours_median_s": round(self.ours.median, 4),
            "reference_median_s": round(self.reference.median, 4),
            "ratio": round(self.ratio, 3),
            "decisions_agree": self.agreements,
            "threshold": self.threshold,
            "service_two_workers_median_s": round(self.service.median, 4),
            "embedding_ms_median": round(statistics.median(self.embedding_ms), 1),
        }


def _decision(distance: float | None, threshold: float) -> bool | None:
    return None if distance is None else distance <= threshold


def _time_pair(
    pipeline: Callable[[bytes], np.ndarray], a: bytes, b: bytes
) -> tuple[float, float | None]:
    """Seconds to decode and compare two photos; distance None when a face is missing."""
    start = time.perf_counter()
    try:
        distance: float | None = face_distance(pipeline(a), pipeline(b))
    except AnalysisError:
        distance = None
    return time.perf_counter() - start, distance


def bench_faces(
    images_dir: Path,
    limit: int = 20,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Callable[[int, int], None] | None = None,
) -> FaceBench:
    """Time both pipelines, alternating, on consecutive pairs of the first `limit` images."""
    paths = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if len(paths) < 2:
        raise ValueError(f"{images_dir}: at least two images are needed")
    faces.load_models()
    result = FaceBench(0, PipelineTiming("ours"), PipelineTiming("reference"), threshold)
    pairs = list(itertools.pairwise(paths))
    with ProcessPoolExecutor(
        2, mp_context=multiprocessing.get_context("spawn"), initializer=faces.load_models
    ) as workers:
        list(workers.map(_warm, [0.5, 0.5]))  # both started and warm
        for index, (a, b) in enumerate(pairs):
            data_a, data_b = a.read_bytes(), b.read_bytes()
            for timing, pipeline in ((result.ours, ours), (result.reference, reference)):
                seconds, distance = _time_pair(pipeline, data_a, data_b)
                timing.seconds.append(seconds)
                timing.distances.append(distance)
            result.service.seconds.append(_time_parallel(workers, data_a, data_b))
            result.embedding_ms.append(_embedding_ms(data_a))
            result.pairs += 1
            if progress:
                progress(index + 1, len(pairs))
    return result


def _warm(seconds: float) -> None:
    """Load the models, then hold the worker a moment so the two tasks land on both workers."""
    faces.load_models()
    time.sleep(seconds)


def _time_parallel(workers: ProcessPoolExecutor, a: bytes, b: bytes) -> float:
    """The service's way: the two photos of a pair analysed at once by two workers."""
    start = time.perf_counter()
    futures = [workers.submit(ours, data) for data in (a, b)]
    for future in futures:
        with contextlib.suppress(AnalysisError):
            future.result()
    return time.perf_counter() - start


def _embedding_ms(data: bytes) -> float:
    """The ResNet step alone: the same cost in both pipelines, a floor under either."""
    image = decode_image(data, MAX_PIXELS)
    boxes = faces.detect_faces_robust(image)
    if not boxes:
        return float("nan")
    start = time.perf_counter()
    faces.face_embedding(image, boxes[0])
    return 1000 * (time.perf_counter() - start)


def format_table(result: FaceBench) -> str:
    return "\n".join(
        [
            f"{'pipeline':<46} {'median s/pair':>13}",
            f"{'ours (HOG on 640-px copy, 68 pts, ResNet)':<46} {result.ours.median:>13.3f}",
            f"{'reference (HOG upsample 1 full res, 68 pts)':<46} {result.reference.median:>13.3f}",
            f"ratio ours/reference: {result.ratio:.3f}   decisions agree: "
            f"{result.agreements}/{result.pairs} at threshold {result.threshold}",
            f"of which the ResNet embedding, identical in both: "
            f"{statistics.median(result.embedding_ms):.0f} ms per face",
            f"{'ours as the service runs it (2 workers)':<46} {result.service.median:>13.3f}",
        ]
    )
