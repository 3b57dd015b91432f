"""Keep only the newest frame of a track: aiortc's own queue is unbounded and lag would grow."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from server.streams.live_frame import LiveFrame


class LatestFrame:
    """Drains a track as fast as frames come; the consumer always gets the newest one."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self._track = track
        self._latest: LiveFrame | None = None
        self._ready = asyncio.Event()
        self.received = 0
        self.dropped = 0  # frames replaced, or skipped by the frame budget, never analysed
        self.ended = False
        self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while True:
                frame = await self._track.recv()
                if self._latest is not None:
                    self.dropped += 1
                self._latest = LiveFrame(frame, time.monotonic())  # type: ignore[arg-type]
                self.received += 1
                self._ready.set()
        except MediaStreamError:
            pass
        finally:
            self.ended = True
            self._ready.set()

    async def next(self) -> LiveFrame | None:
        """The newest frame not yet taken (waiting for one); None once the track has ended."""
        while self._latest is None:
            if self.ended:
                return None
            self._ready.clear()
            await self._ready.wait()
        latest, self._latest = self._latest, None
        return latest

    def newer(self, taken: LiveFrame) -> LiveFrame:
        """A frame that arrived after `taken` (which is then dropped), else `taken` itself."""
        if self._latest is None:
            return taken
        latest, self._latest = self._latest, None
        self.dropped += 1
        return latest

    def skip(self) -> None:
        """A frame taken but not analysed (not due yet under the frame budget)."""
        self.dropped += 1

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
