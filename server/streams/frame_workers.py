"""Frame analysis in worker processes, each stream pinned to one worker that keeps its tracker.

A FrameAnalyser tracks the face between detections, so its state must stay in one process;
streams are spread over the workers by load, and a worker holds one analyser per stream.
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np

from server.analysis import faces
from server.analysis.errors import AnalysisError
from server.analysis.frame_analyser import FrameAnalyser
from server.analysis.liveness import FrameFeatures
from server.workers import AnalysisPool

# Worker-side state: one analyser per stream handled by this process.
_ANALYSERS: dict[str, FrameAnalyser] = {}


def _analyse(stream_id: str, frame: np.ndarray, timestamp: float) -> FrameFeatures:
    analyser = _ANALYSERS.get(stream_id)
    if analyser is None:
        analyser = _ANALYSERS[stream_id] = FrameAnalyser()
    return analyser.analyse(frame, timestamp)


def _forget(stream_id: str) -> None:
    _ANALYSERS.pop(stream_id, None)


def _embed(frame: np.ndarray, box: faces.FaceBox) -> np.ndarray:
    return faces.face_embedding(frame, box)


class FramePool:
    """N one-process analysis pools; a stream sends every frame to the pool it was given."""

    def __init__(self, processes: int) -> None:
        # Each AnalysisPool restarts its process if it crashes, as the service's pool does.
        self._workers = [AnalysisPool(1) for _ in range(max(1, processes))]
        self._load = [0] * len(self._workers)
        self._assigned: dict[str, int] = {}

    async def warm(self) -> None:
        """Start every worker and load its models now, not on the first student's frames."""
        await asyncio.gather(*(worker.warm() for worker in self._workers))

    def attach(self, stream_id: str) -> None:
        """Pin a stream to the least-loaded worker."""
        if stream_id not in self._assigned:
            index = min(range(len(self._workers)), key=self._load.__getitem__)
            self._assigned[stream_id] = index
            self._load[index] += 1

    async def detach(self, stream_id: str) -> None:
        index = self._assigned.pop(stream_id, None)
        if index is None:
            return
        self._load[index] -= 1
        with contextlib.suppress(AnalysisError):  # a crashed worker took the analyser along
            await self._workers[index].run(_forget, stream_id)

    async def analyse(self, stream_id: str, frame: np.ndarray, timestamp: float) -> FrameFeatures:
        self.attach(stream_id)
        worker = self._workers[self._assigned[stream_id]]
        return await worker.run(_analyse, stream_id, frame, timestamp)

    async def embed(self, stream_id: str, frame: np.ndarray, box: faces.FaceBox) -> np.ndarray:
        self.attach(stream_id)
        return await self._workers[self._assigned[stream_id]].run(_embed, frame, box)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
