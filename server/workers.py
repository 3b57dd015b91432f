"""The analysis worker pool: dlib work runs in processes, never on the event loop.

Measured here: dlib's HOG detector releases the GIL but compute_face_descriptor does not
(two threads embedding took 1.04 s for what one thread did in 0.53 s), so threads would
serialise the most expensive step. Worker processes load the models once, at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np

from server.analysis import faces
from server.analysis.errors import AnalysisError
from server.analysis.images import decode_reduced, encode_png, sniff_format

T = TypeVar("T")
# Photos are decoded no smaller than this (shorter side): faces stay well above the 150-px chip.
FACE_DECODE_SIDE = 800
log = logging.getLogger("invigilator.workers")


@dataclass(frozen=True)
class DescribedFace:
    """The largest face of an image, for ad-hoc comparison."""

    box: faces.FaceBox
    landmarks: np.ndarray
    embedding: np.ndarray
    faces_found: int
    width: int
    height: int
    overlay_png: bytes | None


def enrol_photo(
    data: bytes, max_pixels: int, limits: faces.QualityLimits, detect_width: int
) -> tuple[str, faces.Portrait]:
    """Decode a photo and analyse its one face under the enrolment quality limits."""
    image, scale = decode_reduced(data, max_pixels, FACE_DECODE_SIDE)
    fmt = sniff_format(data[:16]) or "jpeg"
    # The face-size rule speaks of the photo as sent, not of the reduced decode.
    limits = replace(limits, min_face_px=math.ceil(limits.min_face_px * scale))
    portrait = faces.analyse_portrait(image, limits, detect_width)
    return fmt, replace(
        portrait, box=portrait.box.scaled(1 / scale), landmarks=portrait.landmarks / scale
    )


def describe_photo(data: bytes, max_pixels: int, detect_width: int, overlay: bool) -> DescribedFace:
    """Decode an image and describe its largest face (box, landmarks, embedding)."""
    image, scale = decode_reduced(data, max_pixels, FACE_DECODE_SIDE)
    boxes = faces.detect_faces_robust(image, detect_width)
    if not boxes:
        raise AnalysisError("NO_FACE", "no face found in the image")
    box = max(boxes, key=lambda b: b.width * b.height)
    landmarks = faces.face_landmarks(image, box)
    return DescribedFace(
        box=box.scaled(1 / scale),
        landmarks=landmarks / scale,
        embedding=faces.face_embedding(image, box),
        faces_found=len(boxes),
        width=round(image.shape[1] / scale),
        height=round(image.shape[0] / scale),
        overlay_png=encode_png(faces.draw_landmarks(image, box, landmarks)) if overlay else None,
    )


# Photo and identity work waits behind live frames for the CPU: an embedding (~80 ms) may
# take a little longer, but a frame worker or a decoder starved by it is lag for everyone.
WORKER_NICENESS = 10


def _start_worker() -> None:
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    faces.load_models()


class AnalysisPool:
    """A process pool whose workers have the dlib models loaded."""

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) in a worker; a crashed worker fails this call only, not the service."""
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except BrokenProcessPool as exc:
            log.error("event=worker_crashed function=%s", getattr(fn, "__name__", fn))
            if self._executor is executor:
                self._executor = self._start()
                executor.shutdown(wait=False, cancel_futures=True)
            raise AnalysisError("ANALYSIS_ERROR", "the analysis worker stopped; try again") from exc

    async def warm(self) -> None:
        """Start the workers and load their models now (the pool starts them lazily)."""
        await asyncio.gather(*(self.run(faces.load_models) for _ in range(self.processes)))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
