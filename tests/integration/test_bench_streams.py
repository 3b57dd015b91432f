"""`invigilator bench streams` end to end: a real server, two replaying clients, real footage.

Asserts what the bench reports, never how fast anything was: the machine is shared.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

VIDEO = "driving_d13.mp4"  # 720x1280 portrait: cropped to a 640x480 webcam frame


def test_two_clients_stream_and_every_figure_is_reported(liveness_dir: Path) -> None:
    video = liveness_dir / VIDEO
    if not video.exists():
        pytest.skip(f"{video} is missing")
    command = [sys.executable, "-m", "server.cli", "bench", "streams", "--clients", "2"]
    command += ["--video", str(video), "--seconds", "3", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # one JSON object per step, nothing else on stdout
    step = json.loads(lines[0])

    assert step["clients"] == 2 and step["connected"] == 2
    assert step["client_errors"] == 0 and step["client_fps"] == 15.0
    assert step["fps_median"] > 0 and step["received_fps_median"] > 0
    for key in ("lag_capture_p50_ms", "lag_capture_p95_ms", "lag_arrival_p50_ms"):
        assert step[key] is not None and 0 < step[key] < math.inf, key
    # Capture comes before arrival: the capture lag includes the arrival lag.
    assert step["lag_capture_p50_ms"] >= step["lag_arrival_p50_ms"]
    assert step["server_cpu_ms_per_stream_second"] > 0
    assert step["server_cpu_ms_per_frame"] > 0 and step["server_cpu_percent"] > 0
    assert step["server_rss_mb"] > 0 and step["seed_ms_per_frame"] > 0
    assert step["cpu_ratio_to_seed"] > 0 and step["ours_streams_at_10fps"] > 0
