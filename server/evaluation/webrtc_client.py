"""A scripted student over a real aiortc peer: streams frames, reads prompts, reports the result.

Used by the tests, by `invigilator eval liveness` (unless --direct) and `invigilator bench
streams`. Frames are decoded once and paced here with increasing timestamps: aiortc's
MediaPlayer(loop=True) breaks when a file loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import av
import cv2
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

VIDEO_CLOCK = 90_000

# source(t, client) -> the BGR frame to send at stream time t (seconds), or None to stop.
FrameSource = Callable[[float, "StudentClient"], np.ndarray | None]


def load_video(
    path: Path, width: int = 640, max_seconds: float | None = None
) -> tuple[list[np.ndarray], float]:
    """Every frame of a video as BGR arrays resized to `width`, and its frame rate."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        for frame in container.decode(stream):
            image = frame.to_ndarray(format="bgr24")
            if image.shape[1] != width:
                height = round(image.shape[0] * width / image.shape[1] / 2) * 2
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            frames.append(image)
            if max_seconds is not None and len(frames) >= max_seconds * fps:
                break
    return frames, fps


def looping(frames: list[np.ndarray], fps: float) -> FrameSource:
    """Play the frames at their own rate, from the start again when they run out."""

    def source(t: float, _client: StudentClient) -> np.ndarray:
        return frames[int(t * fps) % len(frames)]

    return source


class SourceTrack(VideoStreamTrack):
    """A video track whose frames come from a FrameSource at a fixed rate."""

    def __init__(self, source: FrameSource, client: StudentClient, fps: float) -> None:
        super().__init__()
        self._source = source
        self._client = client
        self._fps = fps
        self._index = 0
        self._start: float | None = None
        self.sent_at: dict[int, float] = {}  # pts -> wall time sent (for lag measurements)

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index / self._fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        image = self._source(self._index / self._fps, self._client)
        if image is None:
            self.stop()
            raise asyncio.CancelledError
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = round(self._index * VIDEO_CLOCK / self._fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._index += 1
        return frame


@dataclass
class StudentClient:
    """One student's browser, minus the browser: offer, stream, listen, close."""

    base_url: str
    token: str
    source: FrameSource
    fps: float = 15.0
    messages: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
    _pc: RTCPeerConnection | None = None
    _channel: Any = None
    _done: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        pc = self._pc = RTCPeerConnection()
        pc.addTrack(SourceTrack(self.source, self, self.fps))
        channel = self._channel = pc.createDataChannel("control")
        channel.on("message", self._on_message)
        await pc.setLocalDescription(await pc.createOffer())
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/api/join/{self.token}/offer",
                json={"sdp": pc.localDescription.sdp, "type": pc.localDescription.type},
            ) as response,
        ):
            body = await response.json()
            if response.status != 200:
                raise RuntimeError(f"offer refused: {response.status} {body}")
        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], body["type"]))

    def _on_message(self, raw: str) -> None:
        message = json.loads(raw)
        self.messages.append(message)
        if message.get("type") == "status":
            self.status = message
        elif message.get("type") == "result":
            self.result = message
            self._done.set()

    def send(self, message: dict[str, Any]) -> None:
        if self._channel is not None and self._channel.readyState == "open":
            self._channel.send(json.dumps(message))

    @property
    def prompt_action(self) -> str | None:
        """The action the server is asking for right now, if any."""
        if self.status and self.status.get("state") == "prompting":
            return self.status.get("action")
        return None

    async def wait_result(self, timeout: float) -> dict[str, Any] | None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), timeout)
        return self.result

    async def close(self) -> None:
        if self._pc is not None:
            await self._pc.close()
