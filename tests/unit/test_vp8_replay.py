"""Pre-encoded VP8 for the streams bench: encoding round-trips, replay paces packets, and the
capture time survives the 32-bit RTP timestamp."""

from __future__ import annotations

import asyncio
import itertools
import time

import av
import numpy as np
import pytest

from server.benchmarks.streams_bench import capture_time, try_connect
from server.evaluation.webrtc_client import (
    VIDEO_CLOCK,
    VIDEO_TIME_BASE,
    EncodedClip,
    PacketTrack,
    StudentClient,
    at_rate,
    encode_vp8,
)

WIDTH, HEIGHT = 640, 480


def moving_frames(count: int) -> list[np.ndarray]:
    """A bright square crossing a gradient: something for the encoder to predict."""
    base = np.tile(np.linspace(0, 255, WIDTH, dtype=np.uint8), (HEIGHT, 1))
    frames = []
    for i in range(count):
        image = np.dstack([base, base[::-1], np.full_like(base, 90)])
        x = 20 + 12 * i
        image[200:280, x : x + 80] = 250
        frames.append(image)
    return frames


@pytest.fixture(scope="module")
def clip() -> EncodedClip:
    return encode_vp8(moving_frames(30), fps=15.0, keyframe_seconds=1.0)


def test_encoding_round_trips(clip: EncodedClip) -> None:
    assert len(clip.packets) == 30 and (clip.width, clip.height) == (WIDTH, HEIGHT)
    decoder = av.CodecContext.create("libvpx", "r")
    decoded = [f for data in clip.packets for f in decoder.decode(av.Packet(data))]
    assert len(decoded) == 30
    assert all((f.width, f.height) == (WIDTH, HEIGHT) for f in decoded)
    # The square is where it was put: the frames are the footage, not grey noise.
    middle = decoded[10].to_ndarray(format="bgr24")
    assert middle[240, 20 + 120 + 40].mean() > 200 > middle[240, 20 + 120 + 200].mean()


def test_keyframes_at_the_start_and_periodically(clip: EncodedClip) -> None:
    assert clip.keyframes[0] and clip.keyframes[15]
    assert sum(clip.keyframes) < len(clip.keyframes)  # the rest are predicted frames
    assert clip.bitrate > 0


def test_camera_rate_picks_frames_in_order() -> None:
    frames = [np.full((2, 2), i, np.uint8) for i in range(30)]
    picked = at_rate(frames, 30.0, 15.0)
    assert [int(f[0, 0]) for f in picked] == list(range(0, 30, 2))


async def test_replay_loops_with_increasing_capture_timestamps() -> None:
    small = EncodedClip(tuple(bytes([i]) * 10 for i in range(3)), (True, False, False), 200.0, 2, 2)
    track = PacketTrack(small)
    before = round(time.monotonic() * VIDEO_CLOCK)
    packets = [await track.recv() for _ in range(7)]
    after = round(time.monotonic() * VIDEO_CLOCK)
    assert [bytes(p)[0] for p in packets] == [0, 1, 2, 0, 1, 2, 0]  # back to the keyframe
    pts = [p.pts for p in packets]
    assert all(b > a for a, b in itertools.pairwise(pts))
    assert before <= pts[0] and pts[-1] <= after  # CLOCK_MONOTONIC at hand-over
    assert all(p.time_base == VIDEO_TIME_BASE for p in packets)
    track.stop()


def test_capture_time_survives_the_rtp_wrap() -> None:
    now = 2**32 / VIDEO_CLOCK * 3 + 5.0  # 13.3 h wraps, three times over, then 5 s
    captured = now - 0.25
    pts = round(captured * VIDEO_CLOCK) % 2**32
    assert capture_time(pts, now) == pytest.approx(captured, abs=1 / VIDEO_CLOCK)
    pts = round(0.5 * VIDEO_CLOCK)  # captured half a second before `now` below
    assert capture_time(pts, 0.75) == pytest.approx(0.5, abs=1 / VIDEO_CLOCK)


async def test_student_client_replays_a_clip(clip: EncodedClip) -> None:
    client = StudentClient("http://127.0.0.1:9", "token", clip)
    client.prepare()
    assert isinstance(client.track, PacketTrack)
    await client.close()


async def test_a_client_that_cannot_connect_reports_instead_of_raising(
    clip: EncodedClip,
) -> None:
    # Port 9 (discard) on loopback: nothing listens, the offer is refused at once.
    client = StudentClient("http://127.0.0.1:9", "token", clip)
    error = await asyncio.wait_for(try_connect(client, timeout=5), 30)
    await client.close()
    assert error is not None and "Error" in error
