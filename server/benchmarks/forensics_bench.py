"""Full forensic suite time on 1, 5, 12 and 20 MP JPEGs made from a real photo."""

from __future__ import annotations

import statistics
import time
from typing import Any

import cv2
import numpy as np
from skimage import data as skdata

from server.analysis.forensics.suite import analyze

SIZES_MP = (1.0, 5.0, 12.0, 20.0)
GOAL_SECONDS_AT_20MP = 2.0
MAX_PIXELS = 100_000_000
# Sensor-like grain per channel: a smooth 10x upscale compresses (and decodes) far faster than a
# camera photo; with it a 20 MP file is ~4 MB instead of ~1.5 MB.
_GRAIN = 6.0


def sample_jpeg(megapixels: float, seed: int = 0) -> bytes:
    """A 3:2 JPEG (quality 90) of scikit-image's astronaut photo upscaled to the size, grained."""
    photo = np.ascontiguousarray(skdata.astronaut()[:, :, ::-1])
    width = round(np.sqrt(megapixels * 1e6 * 1.5))
    height = round(width / 1.5)
    big = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(seed).normal(0.0, _GRAIN, big.shape).astype(np.float32)
    big = np.clip(big.astype(np.float32) + grain, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def bench_forensics(
    sizes_mp: tuple[float, ...] = SIZES_MP, repeats: int = 3, threads: int = 1
) -> dict[str, Any]:
    """Median seconds of the full suite per image size, with OpenCV held to `threads` threads."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)  # the goal is per core; OpenCV would otherwise use them all
    try:
        rows = [_bench_size(mp, repeats) for mp in sizes_mp]
    finally:
        cv2.setNumThreads(previous)
    return {
        "threads": threads,
        "repeats": repeats,
        "goal_seconds_at_20mp": GOAL_SECONDS_AT_20MP,
        "sizes": rows,
    }


def _bench_size(megapixels: float, repeats: int) -> dict[str, Any]:
    data = sample_jpeg(megapixels)
    analyze(data, max_pixels=MAX_PIXELS)  # warm-up: first-use imports and model loads
    seconds: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(repeats):
        started = time.perf_counter()
        report = analyze(data, max_pixels=MAX_PIXELS)
        seconds.append(time.perf_counter() - started)
        for stage, ms in report.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    median_stages = {k: round(statistics.median(v), 1) for k, v in stages.items() if k != "total"}
    return {
        "megapixels": round(report.width * report.height / 1e6, 2),
        "width": report.width,
        "height": report.height,
        "jpeg_bytes": len(data),
        "median_seconds": round(statistics.median(seconds), 3),
        "runs": [round(s, 3) for s in seconds],
        "stages_ms": median_stages,
    }


def format_table(result: dict[str, Any]) -> str:
    """The benchmark as a plain-text table, slowest stages named."""
    lines = [
        f"full forensic suite, median of {result['repeats']} runs, "
        f"OpenCV threads={result['threads']}",
        f"{'MP':>6} {'size':>11} {'file MB':>8} {'median s':>9}  slowest stages (ms)",
    ]
    for row in result["sizes"]:
        slowest = sorted(row["stages_ms"].items(), key=lambda kv: -kv[1])[:3]
        stages = ", ".join(f"{name} {ms:.0f}" for name, ms in slowest)
        lines.append(
            f"{row['megapixels']:>6.1f} {row['width']:>5}x{row['height']:<5} "
            f"{row['jpeg_bytes'] / 1e6:>8.1f} {row['median_seconds']:>9.2f}  {stages}"
        )
    lines.append(f"goal: <= {result['goal_seconds_at_20mp']:.1f} s at 20 MP on one core")
    return "\n".join(lines)
