"""The live load of this process, for operators: streams, analysed frame rates, CPU."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

WINDOW = 5.0  # seconds over which frame rates are counted


def cpu_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process (all its threads), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone, or not Linux
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds of the processes together."""
    return sum(cpu_by_pid(pids).values())


class CpuMeter:
    """CPU use of a set of processes between two readings, in % of one core."""

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None
        self.percent: float | None = None

    def read(self, pids: Iterable[int]) -> float | None:
        now, used = time.monotonic(), cpu_seconds(pids)
        if self._last is not None and now - self._last[0] >= 0.5:
            self.percent = round(100 * (used - self._last[1]) / (now - self._last[0]), 1)
            self._last = (now, used)
        elif self._last is None:
            self._last = (now, used)
        return self.percent


def frame_rates(done_times: Iterable[Iterable[float]], now: float) -> dict[str, Any]:
    """Per-stream analysed fps over the last WINDOW seconds: median, lowest, total."""
    rates = [sum(1 for t in times if now - t <= WINDOW) / WINDOW for times in done_times]
    if not rates:
        return {"median": None, "min": None, "total": 0.0}
    return {
        "median": round(statistics.median(rates), 1),
        "min": round(min(rates), 1),
        "total": round(sum(rates), 1),
    }
