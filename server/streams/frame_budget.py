"""Which received frames a stream analyses: a target rate, not every frame that arrives.

Browsers send 15 fps (or more); the liveness signals need about 10. Taking every frame
would spend a third of the box on frames nobody needs, and a box that is full would
then serve the streams that happen to ask first. The budget picks frames by their arrival
time so that each stream is analysed at most at its target rate, evenly spaced; when the
workers cannot keep up, the pool's first-come slots make every stream slow down alike.
"""

from __future__ import annotations

from dataclasses import dataclass

# A frame may be taken this fraction of a period early: arrivals jitter, and at 15 fps in,
# 10 fps out, the frames due fall between two arrivals every other time.
EARLY_FRACTION = 0.3


@dataclass
class FrameBudget:
    """Per stream: decides whether a frame that arrived at `t` should be analysed."""

    fps: float
    _next_due: float | None = None

    @property
    def period(self) -> float:
        return 1.0 / self.fps

    def wants(self, arrived: float) -> bool:
        """True when a frame arriving now is due (take it, then call taken())."""
        return self._next_due is None or arrived >= self._next_due - EARLY_FRACTION * self.period

    def taken(self, arrived: float) -> None:
        """A frame that arrived at `arrived` was analysed: the next one is due a period later.

        The schedule keeps its phase while the stream keeps up; a stream that fell behind
        (a pause, a full box) restarts from now instead of catching up in a burst.
        """
        if self._next_due is None or arrived > self._next_due + self.period:
            self._next_due = arrived + self.period
        else:
            self._next_due += self.period
