"""One student's WebRTC connection: peer, newest-frame intake, analysis loop, control channel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import RTCDataChannel, RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack
from av import VideoFrame

from server.analysis.errors import AnalysisError
from server.streams.intake import LatestFrame, Received
from server.streams.student import StudentMonitor

log = logging.getLogger("invigilator.streams")
FRAME_TIMEOUT = 5.0  # seconds without a frame after which the student counts as disconnected


def _planes(frame: VideoFrame) -> tuple[np.ndarray, np.ndarray]:
    """The frame as grey (for analysis) and as BGR (for snapshots and identity checks)."""
    return frame.to_ndarray(format="gray"), frame.to_ndarray(format="bgr24")


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
        self.stream_id = uuid.uuid4().hex
        self.intake: LatestFrame | None = None
        self.analysed = 0
        self.started = time.monotonic()
        self.lags: deque[float] = deque(maxlen=2000)  # seconds from arrival to analysis result
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
        frames = self.monitor.services.frames
        try:
            while (received := await self._next_frame()) is not None:
                gray, image = await asyncio.to_thread(_planes, received.frame)
                try:
                    # Only the luma plane crosses to the worker: HOG, the tracker and the
                    # landmarks use grey, and it is a third of the bytes to pickle.
                    features = await frames.analyse(self.stream_id, gray, received.arrived)
                except AnalysisError:
                    continue  # the worker was restarted; the next frame goes to a fresh one
                self.lags.append(time.monotonic() - received.arrived)
                self.analysed += 1
                await self.monitor.on_frame(features, image)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event=analysis_loop_failed roll_no=%s", self.monitor.roll_no)
        finally:
            if not self._closing:
                asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.close()))

    async def _next_frame(self) -> Received | None:
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
            await self.monitor.services.frames.detach(self.stream_id)
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
