"""Keep only the newest frame of a track: aiortc's own queue is unbounded and lag would grow."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame


@dataclass
class Received:
    """A frame and when it arrived (monotonic seconds)."""

    frame: VideoFrame
    arrived: float


class LatestFrame:
    """Drains a track as fast as frames come; the consumer always gets the newest one."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self._track = track
        self._latest: Received | None = None
        self._ready = asyncio.Event()
        self.received = 0
        self.dropped = 0  # frames replaced before anyone took them
        self.ended = False
        self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while True:
                frame = await self._track.recv()
                if self._latest is not None:
                    self.dropped += 1
                self._latest = Received(frame, time.monotonic())
                self.received += 1
                self._ready.set()
        except MediaStreamError:
            pass
        finally:
            self.ended = True
            self._ready.set()

    async def next(self) -> Received | None:
        """The newest frame not yet taken (waiting for one); None once the track has ended."""
        while self._latest is None:
            if self.ended:
                return None
            self._ready.clear()
            await self._ready.wait()
        latest, self._latest = self._latest, None
        return latest

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
