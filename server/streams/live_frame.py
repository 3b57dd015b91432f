"""A decoded camera frame as the server uses it: the luma plane for analysis, BGR on demand.

Measured on this machine kind: `to_ndarray("gray")` + `to_ndarray("bgr24")` cost 3.25 ms per
640x480 frame (swscale), while the Y plane of the decoded I420 frame is already the grey
image the detectors want. So every frame is analysed from its Y plane, and colour is made
only for the few frames that become a still, an identity check or evidence.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from av import VideoFrame

# Pixel formats whose first plane is 8-bit luma, one byte per pixel.
_LUMA_FIRST = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"}


def luma_plane(frame: VideoFrame) -> np.ndarray:
    """The frame's Y plane as an (height, width) uint8 view (no copy, no colour conversion)."""
    if frame.format.name not in _LUMA_FIRST:
        return frame.to_ndarray(format="gray")
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8, count=plane.line_size * frame.height)
    return rows.reshape(frame.height, plane.line_size)[:, : frame.width]


@dataclass
class LiveFrame:
    """One received frame, when it arrived, and its colour image made at most once."""

    frame: VideoFrame
    arrived: float  # monotonic seconds
    _bgr: np.ndarray | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def pts(self) -> int | None:
        """The RTP timestamp aiortc gave the frame (1/90000 s); benchmarks date capture by it."""
        return self.frame.pts

    def luma(self) -> np.ndarray:
        return luma_plane(self.frame)

    def bgr(self) -> np.ndarray:
        """The colour image (~1.6 ms at 640x480): call it off the event loop."""
        with self._lock:  # a still and an identity check may ask at once, from two threads
            if self._bgr is None:
                self._bgr = self.frame.to_ndarray(format="bgr24")
            return self._bgr

    def small_bgr(self, width: int) -> np.ndarray:
        """A colour copy `width` wide: swscale scales and converts in one pass (thumbnails)."""
        frame = self.frame
        height = max(2, round(frame.height * width / max(1, frame.width)) // 2 * 2)
        return frame.reformat(width=width, height=height, format="bgr24").to_ndarray()
