"""N aiortc clients stream real video into one server: analysed fps, lag, CPU and memory.

The clients run in a child process (they encode VP8, which a real deployment leaves to the
students' machines) so the server's CPU and memory are measured apart from theirs. In the
same run, the seed-style pipeline (HOG + landmarks from scratch on every full frame) is timed
on one core for comparison.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from server.analysis import faces
from server.analysis.images import encode_jpeg
from server.config import Settings

CLIENT_FPS = 15.0
WARMUP_SECONDS = 4.0  # ICE, first detections and model warm-up are not measured


@dataclass
class StreamsBench:
    clients: int
    seconds: float
    connected: int
    fps_p5: float
    fps_median: float
    received_fps_median: float  # frames arriving per stream: what the clients managed to send
    lag_p50_ms: float
    lag_p95_ms: float
    server_cpu_percent: float  # of one core; 200 % = both cores of this machine
    server_rss_mb: float
    seed_ms_per_frame: float  # HOG + landmarks on every full frame, one core
    seed_streams_at_10fps: float  # how many 10-fps streams one core of the seed pipeline serves
    ours_streams_at_10fps: float  # the same, from what this run measured on two cores

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in vars(self).items()}


def _process_tree(root: int) -> list[int]:
    """root and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def webcam_frames(video: Path, width: int, max_seconds: float) -> tuple[list[np.ndarray], float]:
    """The video as a webcam would send it: `width` wide, cropped to 4:3 around the middle."""
    from server.evaluation.webrtc_client import load_video

    frames, fps = load_video(video, width=width, max_seconds=max_seconds)
    height = width * 3 // 4
    top = max(0, (frames[0].shape[0] - height) // 2)
    return [np.ascontiguousarray(f[top : top + height]) for f in frames], fps


def _run_clients(base_url: str, tokens: list[str], video: str, width: int, seconds: float) -> None:
    """Child process: one StudentClient per token, all streaming the same looping footage."""
    from server.evaluation.webrtc_client import StudentClient, looping

    frames, fps = webcam_frames(Path(video), width, 20)

    async def main() -> None:
        source = looping(frames, fps)
        clients = [StudentClient(base_url, t, source, CLIENT_FPS) for t in tokens]
        await asyncio.gather(*(c.start() for c in clients))
        await asyncio.sleep(seconds)
        await asyncio.gather(*(c.close() for c in clients))

    asyncio.run(main())


def seed_pipeline_ms(frames: list[np.ndarray], count: int = 40) -> float:
    """Median ms per frame of HOG (upsample 0) on the full frame plus 68 landmarks."""
    faces.load_models()
    times = []
    for frame in frames[:count]:
        start = time.perf_counter()
        for box in faces.detect_faces(frame, detect_width=frame.shape[1]):
            faces.face_landmarks(frame, box)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def _serve_and_measure(
    settings: Settings, clients: int, video: Path, width: int, seconds: float
) -> dict[str, Any]:
    from aiohttp import web

    from server.api.context import ENROLMENT, STREAMS
    from server.app import create_app
    from server.exam_sessions import create_session
    from server.store import students

    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base_url = f"http://127.0.0.1:{port}"
    try:
        frames, _ = webcam_frames(video, width, 4)
        portrait = encode_jpeg(frames[len(frames) // 2], 95)
        rolls = [f"B{i:03d}" for i in range(clients)]
        enrolment = app[ENROLMENT]
        _, first = await enrolment.analyse(portrait)
        for roll in rolls:  # one analysis, many rows: the roster is the same face
            await asyncio.to_thread(
                students.add_student,
                enrolment.db,
                roll,
                roll,
                await asyncio.to_thread(enrolment.photos.save, portrait, ".jpg"),
                first.embedding,
            )
        created = await asyncio.to_thread(
            create_session, settings, enrolment.db, "bench", rolls, base_url
        )
        tokens = [link.rsplit("/", 1)[1] for link in created.links.values()]
        child = multiprocessing.get_context("spawn").Process(
            target=_run_clients,
            args=(base_url, tokens, str(video), width, seconds + WARMUP_SECONDS + 2),
        )
        child.start()
        await asyncio.sleep(WARMUP_SECONDS)
        registry = app[STREAMS]
        clients_tree = set(_process_tree(child.pid or -1))
        server_pids = [p for p in _process_tree(os.getpid()) if p not in clients_tree]
        counts0 = {k: c.analysed for k, c in registry.connections.items()}
        received0 = {k: c.stats()["received"] for k, c in registry.connections.items()}
        lag0 = {k: len(c.lags) for k, c in registry.connections.items()}
        cpu0, wall0 = _cpu_seconds(server_pids), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, wall1 = _cpu_seconds(server_pids), time.monotonic()
        rss = _rss_mb(server_pids)
        elapsed = wall1 - wall0
        fps = [(c.analysed - counts0.get(k, 0)) / elapsed for k, c in registry.connections.items()]
        received = [
            (c.stats()["received"] - received0.get(k, 0)) / elapsed
            for k, c in registry.connections.items()
        ]
        lags = [
            lag for k, c in registry.connections.items() for lag in list(c.lags)[lag0.get(k, 0) :]
        ]
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
        return {
            "connected": len(fps),
            "fps": fps,
            "received_fps": statistics.median(received) if received else 0.0,
            "lags": lags,
            "cpu_percent": 100 * (cpu1 - cpu0) / elapsed,
            "rss_mb": rss,
            "frames": frames,
        }
    finally:
        await runner.cleanup()


def bench_streams(
    clients: int, video: Path, seconds: float = 20.0, width: int = 640
) -> StreamsBench:
    with tempfile.TemporaryDirectory(prefix="invigilator-bench-") as data_dir:
        settings = replace(Settings(), data_dir=Path(data_dir), workers=2)
        measured = asyncio.run(_serve_and_measure(settings, clients, video, width, seconds))
    fps = sorted(measured["fps"]) or [0.0]
    lags = np.asarray(measured["lags"] or [float("nan")]) * 1000
    seed_ms = seed_pipeline_ms(measured["frames"])
    total_fps = sum(fps)
    return StreamsBench(
        clients=clients,
        seconds=seconds,
        connected=measured["connected"],
        fps_p5=float(np.percentile(fps, 5)),
        fps_median=float(np.median(fps)),
        received_fps_median=measured["received_fps"],
        lag_p50_ms=float(np.percentile(lags, 50)),
        lag_p95_ms=float(np.percentile(lags, 95)),
        server_cpu_percent=measured["cpu_percent"],
        server_rss_mb=measured["rss_mb"],
        seed_ms_per_frame=seed_ms,
        seed_streams_at_10fps=1000 / seed_ms / 10,
        ours_streams_at_10fps=total_fps / 10,
    )


def format_table(result: StreamsBench) -> str:
    return "\n".join(
        [
            f"clients {result.clients} (connected {result.connected}), {result.seconds:.0f} s "
            f"measured after {WARMUP_SECONDS:.0f} s warm-up, {CLIENT_FPS:.0f} fps each",
            f"analysed fps per stream   p5 {result.fps_p5:.1f}   median {result.fps_median:.1f}"
            f"   (received median {result.received_fps_median:.1f})",
            f"lag (arrival -> result)   p50 {result.lag_p50_ms:.0f} ms"
            f"   p95 {result.lag_p95_ms:.0f} ms",
            f"server CPU {result.server_cpu_percent:.0f} % of one core,"
            f" RSS {result.server_rss_mb:.0f} MB",
            f"seed pipeline (HOG + landmarks on every full frame, one core): "
            f"{result.seed_ms_per_frame:.1f} ms/frame"
            f" = {result.seed_streams_at_10fps:.1f} streams at 10 fps",
            f"this run: {result.ours_streams_at_10fps:.1f} stream-equivalents at 10 fps analysed",
        ]
    )
