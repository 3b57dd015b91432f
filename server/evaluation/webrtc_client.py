"""A scripted student over a real aiortc peer: streams frames, reads prompts, reports the result.

Used by the tests, by `invigilator eval liveness` (unless --direct) and `invigilator bench
streams`. Frames are decoded once and paced here with increasing timestamps: aiortc's
MediaPlayer(loop=True) breaks when a file loops.

Two kinds of source: a FrameSource (raw frames, encoded to VP8 live by aiortc: what the tests
use, as they react to prompts) or an EncodedClip (VP8 encoded once by `encode_vp8` and replayed
packet by packet by every client: what the streams bench uses, so that fifty clients cost
little CPU on the machine whose server they measure).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import av
import cv2
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_CLOCK = 90_000  # RTP clock rate of video: pts are in 1/90000 s
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)

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


@dataclass(frozen=True)
class EncodedClip:
    """A clip encoded to VP8 once: one packet per frame, frame 0 a keyframe, at `fps`."""

    packets: tuple[bytes, ...]
    keyframes: tuple[bool, ...]
    fps: float
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return len(self.packets) / self.fps

    @property
    def bitrate(self) -> float:
        """Mean bits per second over the clip."""
        return 8 * sum(map(len, self.packets)) / self.seconds


def at_rate(frames: Sequence[np.ndarray], fps: float, target_fps: float) -> list[np.ndarray]:
    """The frames a camera running at target_fps would have caught of footage shot at fps."""
    count = max(1, int(len(frames) * target_fps / fps))
    return [frames[min(len(frames) - 1, int(i * fps / target_fps))] for i in range(count)]


def encode_vp8(
    frames: Sequence[np.ndarray],
    fps: float,
    bitrate: int = 750_000,
    keyframe_seconds: float = 2.0,
) -> EncodedClip:
    """Encode BGR frames (all of one size, shown at `fps`) to VP8 as a browser would send them.

    The settings follow aiortc's own Vp8Encoder, which copies libwebrtc's (real-time, CBR,
    no frames held back), at a browser's bitrate for 640x480. A keyframe every
    `keyframe_seconds` stands in for the periodic keyframes and the keyframes a browser sends
    on a picture-loss request (a replayed clip cannot answer one), and frame 0 is one, so a
    client may loop back to it.
    """
    height, width = frames[0].shape[:2]
    rate = fractions.Fraction(fps).limit_denominator(1001)
    gop = max(1, round(keyframe_seconds * fps))
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    # libvpx's rate control spends bitrate / framerate bits per frame: pts count frames.
    codec.time_base = 1 / rate
    codec.framerate = rate
    codec.bit_rate = bitrate
    codec.gop_size = gop
    codec.qmin, codec.qmax = 2, 56
    codec.options = {
        "bufsize": str(bitrate),
        "minrate": str(bitrate),  # minrate = maxrate = bit_rate: constant bitrate
        "maxrate": str(bitrate),
        "deadline": "realtime",
        "cpu-used": "-6",
        "lag-in-frames": "0",  # one packet per frame, in order: nothing to reorder on replay
        "auto-alt-ref": "0",
        "drop-threshold": "0",  # never skip a frame: the replay wants one packet per frame
        "static-thresh": "1",
        "noise-sensitivity": "4",
        "partitions": "0",
    }
    packets: list[av.Packet] = []
    for index, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        frame.pts = index
        frame.time_base = codec.time_base
        if index % gop == 0:
            frame.pict_type = av.video.frame.PictureType.I
        packets.extend(codec.encode(frame))
    packets.extend(codec.encode(None))
    if len(packets) != len(frames):
        raise RuntimeError(f"VP8 encoder gave {len(packets)} packets for {len(frames)} frames")
    if not packets[0].is_keyframe:
        raise RuntimeError("VP8 encoder did not start with a keyframe")
    return EncodedClip(
        packets=tuple(bytes(p) for p in packets),
        keyframes=tuple(bool(p.is_keyframe) for p in packets),
        fps=fps,
        width=width,
        height=height,
    )


class PacketTrack(MediaStreamTrack):
    """Replays an EncodedClip in real time, looping; aiortc sends the packets as they are.

    RTCRtpSender hands an av.Packet from recv() to the VP8 encoder's pack(), which only splits
    it into RTP payloads: no encoding happens on this side. Each packet's pts is the
    CLOCK_MONOTONIC time at which it is handed to aiortc (in 1/90000 s), i.e. its capture time
    as far as the server is concerned, and strictly increasing across loops of the clip.
    """

    kind = "video"

    def __init__(self, clip: EncodedClip) -> None:
        super().__init__()
        self.clip = clip
        self.sent = 0  # packets handed to aiortc, across loops
        self.late = 0  # times the schedule slipped (this process had no CPU to keep up)
        self._start: float | None = None
        self._last_pts = -1

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        interval = 1 / self.clip.fps
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self.sent * interval
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > interval:
            # A camera does not send a burst after a stall: carry on at the frame rate from now.
            # No packet is skipped either, as the frames after it would not decode.
            self._start = now - self.sent * interval
            self.late += 1
        packet = av.Packet(self.clip.packets[self.sent % len(self.clip.packets)])
        # Taken after the wait, at the hand-over: the lag the bench reports starts here.
        packet.pts = self._last_pts = max(self._last_pts + 1, round(time.monotonic() * VIDEO_CLOCK))
        packet.time_base = VIDEO_TIME_BASE
        self.sent += 1
        return packet


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
        frame.time_base = VIDEO_TIME_BASE
        self._index += 1
        return frame


@dataclass
class StudentClient:
    """One student's browser, minus the browser: offer, stream, listen, close."""

    base_url: str
    token: str
    source: FrameSource | EncodedClip  # an EncodedClip is replayed at its own rate, not fps
    fps: float = 15.0
    messages: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
    track: SourceTrack | PacketTrack | None = None
    # None: aiortc's default, which asks a public STUN server; peers on one host need none.
    configuration: RTCConfiguration | None = None
    _pc: RTCPeerConnection | None = None
    _channel: Any = None
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)

    def prepare(self) -> RTCPeerConnection:
        """Create the peer, its video sender and the control channel (no network yet).

        Idempotent, and called by start(); a caller may call it first to have every sender
        exist before anything is sent (the streams bench does).
        """
        if self._pc is not None:
            return self._pc
        pc = self._pc = RTCPeerConnection(self.configuration)
        self.track = (
            PacketTrack(self.source)
            if isinstance(self.source, EncodedClip)
            else SourceTrack(self.source, self, self.fps)
        )
        pc.addTrack(self.track)
        channel = self._channel = pc.createDataChannel("control")
        channel.on("message", self._on_message)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected":
                self._connected.set()

        return pc

    async def start(self, timeout: float | None = None) -> None:
        """Offer, and apply the server's answer; `timeout` bounds the HTTP request.

        Without a timeout, aiohttp's default applies (5 minutes).
        """
        pc = self.prepare()
        await pc.setLocalDescription(await pc.createOffer())
        session_timeout = None if timeout is None else aiohttp.ClientTimeout(total=timeout)
        async with (
            aiohttp.ClientSession(timeout=session_timeout) as http,
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

    async def wait_connected(self, timeout: float) -> bool:
        """Whether ICE and DTLS completed within timeout seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)
        return self._connected.is_set()

    async def wait_result(self, timeout: float) -> dict[str, Any] | None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), timeout)
        return self.result

    async def close(self) -> None:
        if self._pc is not None:
            await self._pc.close()
