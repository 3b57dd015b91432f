"""The luma plane of decoded VP8 frames, taken without a colour conversion."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from server.streams.live_frame import LiveFrame, luma_plane


def _decoded_vp8(width: int, height: int) -> av.VideoFrame:
    """One frame through a real libvpx encode and decode, as aiortc's receiver gives it."""
    rng = np.random.default_rng(3)
    image = np.clip(
        rng.normal(120, 40, (height, width, 3)) + np.linspace(0, 80, width)[None, :, None], 0, 255
    ).astype(np.uint8)
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 15)
    source = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
    source.pts = 0
    packets = [*encoder.encode(source), *encoder.encode(None)]
    decoder = av.CodecContext.create("libvpx", "r")
    frames = [f for p in packets for f in decoder.decode(p)]
    assert frames
    return frames[0]


@pytest.mark.parametrize("size", [(640, 480), (500, 302), (480, 360)])
def test_luma_plane_is_the_y_plane_without_the_stride_padding(size: tuple[int, int]) -> None:
    width, height = size
    frame = _decoded_vp8(width, height)
    luma = luma_plane(frame)
    assert luma.shape == (height, width) and luma.dtype == np.uint8
    # to_ndarray("yuv420p") stacks Y over U and V: its first `height` rows are the Y plane.
    expected = frame.to_ndarray(format="yuv420p")[:height]
    assert np.array_equal(luma, expected)
    # And it is the grey image the detectors need: close to swscale's own grey.
    grey = frame.to_ndarray(format="gray").astype(int)
    assert np.corrcoef(luma.ravel(), grey.ravel())[0, 1] > 0.99


def test_colour_is_made_once_and_thumbnails_are_small() -> None:
    live = LiveFrame(_decoded_vp8(640, 480), arrived=1.0)
    first = live.bgr()
    assert first.shape == (480, 640, 3) and live.bgr() is first
    assert live.small_bgr(160).shape == (120, 160, 3)
