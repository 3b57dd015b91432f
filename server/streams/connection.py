"""One student's WebRTC connection: peer, newest-frame intake, analysis loop, control channel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from server.analysis.errors import AnalysisError
from server.streams.frame_budget import FrameBudget
from server.streams.intake import LatestFrame
from server.streams.live_frame import LiveFrame
from server.streams.student import StudentMonitor

log = logging.getLogger("invigilator.streams")
FRAME_TIMEOUT = 5.0  # seconds without a frame after which the student counts as disconnected
RESULTS_KEPT = 3000  # per-frame timings kept for /api/health and benchmarks (5 min at 10 fps)


@dataclass(frozen=True)
class FrameResult:
    """When one analysed frame arrived and when its features were ready (monotonic s)."""

    pts: int | None  # the frame's RTP timestamp (1/90000 s), as aiortc gives it
    arrived: float
    done: float


class StreamConnection:
    """Owns the RTCPeerConnection; closes cleanly on disconnect, ICE failure or shutdown."""

    def __init__(
        self,
        pc: RTCPeerConnection,
        monitor: StudentMonitor,
        on_closed: Callable[[StreamConnection], None] | None = None,
    ) -> None:
        self.pc = pc
        self.monitor = monitor
        self._on_closed = on_closed
        self.intake: LatestFrame | None = None
        self.analysed = 0
        self.started = time.monotonic()
        self.results: deque[FrameResult] = deque(maxlen=RESULTS_KEPT)
        self._loop_task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._closing = False
        pc.on("track", self._on_track)
        pc.on("datachannel", self._on_datachannel)
        pc.on("connectionstatechange", self._on_state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "video" or self.intake is not None:
            return
        self.intake = LatestFrame(track)
        self._loop_task = asyncio.create_task(self._analyse_loop())

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        def send(message: dict[str, Any]) -> None:
            if channel.readyState == "open":
                channel.send(json.dumps(message))

        @channel.on("message")
        def on_message(raw: object) -> None:
            try:
                message = json.loads(raw if isinstance(raw, str) else bytes(raw).decode())  # type: ignore[arg-type]
            except (ValueError, UnicodeDecodeError):
                return
            if isinstance(message, dict):
                self.monitor.on_client_message(message)

        if channel.readyState == "open":
            self.monitor.attach(send)
        else:
            channel.on("open", lambda: self.monitor.attach(send))

    async def _on_state(self) -> None:
        state = self.pc.connectionState
        log.info("event=peer_state state=%s roll_no=%s", state, self.monitor.roll_no)
        if state == "connected":
            self.monitor.connected()
        elif state in ("failed", "closed", "disconnected"):
            await self.close()

    async def _analyse_loop(self) -> None:
        assert self.intake is not None
        services = self.monitor.services
        budget = FrameBudget(services.settings.analysis_fps)
        track: bytes | None = None  # where the face was (a pickled TrackState), sent along
        try:
            while (received := await self._next_frame()) is not None:
                if not budget.wants(received.arrived):
                    self.intake.skip()
                    continue
                try:
                    async with services.frames.lease() as lease:
                        # The wait for a worker may have brought a newer frame: analyse that.
                        received = self.intake.newer(received)
                        features, track = await lease.analyse(
                            received.luma(), received.arrived, track
                        )
                except AnalysisError:
                    track = None  # the worker was restarted; find the face afresh
                    continue
                budget.taken(received.arrived)
                self.results.append(FrameResult(received.pts, received.arrived, time.monotonic()))
                self.analysed += 1
                await self.monitor.on_frame(features, received)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event=analysis_loop_failed roll_no=%s", self.monitor.roll_no)
        finally:
            if not self._closing:
                asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.close()))

    async def _next_frame(self) -> LiveFrame | None:
        """The newest frame, or None once the track ended or sent nothing for a while.

        A browser that vanishes (closed lid, dead network) may never close its peer; ICE
        takes much longer to notice than a silent video track does.
        """
        assert self.intake is not None
        try:
            return await asyncio.wait_for(self.intake.next(), FRAME_TIMEOUT)
        except TimeoutError:
            log.info(
                "event=stream_stalled roll_no=%s seconds=%s", self.monitor.roll_no, FRAME_TIMEOUT
            )
            return None

    async def close(self) -> None:
        """Idempotent: stop the loop, the intake and the peer; tell the monitor."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            if self._loop_task is not None and self._loop_task is not asyncio.current_task():
                self._loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._loop_task
            if self.intake is not None:
                await self.intake.close()
            await self.pc.close()
            self.monitor.disconnected()
            if self._on_closed is not None:
                self._on_closed(self)
        finally:
            self._closed.set()

    def stats(self) -> dict[str, float]:
        elapsed = max(1e-6, time.monotonic() - self.started)
        return {
            "analysed": self.analysed,
            "received": self.intake.received if self.intake else 0,
            "dropped": self.intake.dropped if self.intake else 0,
            "fps": self.analysed / elapsed,
        }
