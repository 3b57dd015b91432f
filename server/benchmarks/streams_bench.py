"""N aiortc clients stream real video into one server: analysed fps, lag, CPU and memory.

What keeps it honest on a small machine:

- The clients run in a child process and replay VP8 packets encoded once before the run
  (`encode_vp8`), as a browser would send them, so a hundred of them cost little CPU: the
  server gets the cores. Only the server's process tree (this process and its worker children,
  not the clients' child) counts as server CPU and memory.
- Lag is measured from capture to result: from the moment a client hands a packet to aiortc
  to the moment the server has the frame's features. That includes the network, the jitter
  buffer, aiortc's decoder queue and the server's intake, which a lag from arrival would hide.
  Client and server share one machine, so one CLOCK_MONOTONIC; the capture time rides in the
  RTP timestamp (see `_zero_rtp_timestamp_origin` and `_raw_rtp_timestamps`).
- Warm-up (ICE, DTLS, first detections) is waited out before measuring, and the seed pipeline
  (HOG + landmarks from scratch on every full frame) is timed in the same run, on one core,
  with no client streaming.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any, TypeVar

import av
import numpy as np

from server.analysis import faces
from server.analysis.images import encode_jpeg
from server.config import Settings
from server.evaluation.webrtc_client import (
    VIDEO_CLOCK,
    EncodedClip,
    StudentClient,
    at_rate,
    encode_vp8,
)
from server.streams.load import cpu_by_pid

CLIENT_FPS = 15.0
CLIP_SECONDS = 20.0  # footage encoded and looped by every client
SETTLE_SECONDS = 2.0  # after every stream has a first result: first detections are heavier
SEED_FRAMES = 40
RTP_WRAP = 2**32  # RTP timestamps are 32-bit

T = TypeVar("T")


def connect_timeout(clients: int) -> float:
    """Seconds a client may take from offer to DTLS connected: offers queue up on the server."""
    return 15.0 + 0.5 * clients


@dataclass
class StreamsBench:
    """One step of the sweep. Lags in ms; NaN where nothing was measured (None in JSON)."""

    clients: int  # asked
    connected: int  # streams that delivered frames to the server through the whole window
    seconds: float  # measured
    warmup_seconds: float
    client_fps: float
    clip_kbps: float  # mean bitrate of the replayed VP8
    client_errors: int  # clients that could not connect, as they saw it
    client_late: int  # times a client's send schedule slipped (the client process lacked CPU)
    fps_p5: float  # analysed frames per second per stream
    fps_median: float
    received_fps_median: float  # frames reaching the server per stream
    lag_capture_p50_ms: float  # capture (client hands the packet to aiortc) -> result
    lag_capture_p95_ms: float
    lag_arrival_p50_ms: float  # arrival at the server's intake -> result
    lag_arrival_p95_ms: float
    server_cpu_ms_per_stream_second: float
    server_cpu_ms_per_frame: float  # server CPU per analysed frame, decoding etc. included
    server_cpu_percent: float  # of one core; 200 % = both cores of this machine
    clients_cpu_percent: float  # the clients' process, for the record: it should be small
    server_rss_mb: float  # summed over the tree
    server_pss_mb: float  # the same with shared pages counted once
    seed_ms_per_frame: float  # HOG + landmarks on every full frame, CPU time of one core
    cpu_ratio_to_seed: float  # server_cpu_ms_per_frame / seed_ms_per_frame
    seed_streams_at_10fps: float  # 10-fps streams one core serves, seed pipeline
    ours_streams_at_10fps: float  # the same from server_cpu_ms_per_frame
    analysed_streams_at_10fps: float  # what this run analysed, all streams: total fps / 10
    client_error_sample: str | None = None

    def to_dict(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            if isinstance(value, float):
                return None if math.isnan(value) else round(value, 2)
            return value

        return {k: clean(v) for k, v in vars(self).items()}


# --- processes ---------------------------------------------------------------------------


def _process_tree(root: int) -> list[int]:
    """root and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _server_pids(client_pid: int | None) -> list[int]:
    """This process and its children (frame and analysis workers) minus the clients' tree."""
    clients = set(_process_tree(client_pid)) if client_pid else set()
    return [p for p in _process_tree(os.getpid()) if p not in clients]


def _memory_mb(pids: list[int], field: str, file: str) -> float:
    """Sum of one kB field of /proc/<pid>/<file> over the processes, in MB."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings, of the processes alive at the second."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def _rss_mb(pids: list[int]) -> float:
    """Resident memory, summed: pages shared between the processes count once per process."""
    return _memory_mb(pids, "VmRSS:", "status")


def _pss_mb(pids: list[int]) -> float:
    """Proportional set size, summed: shared pages split between their processes."""
    return _memory_mb(pids, "Pss:", "smaps_rollup")


# --- footage ------------------------------------------------------------------------------


def webcam_frames(video: Path, width: int, max_seconds: float) -> tuple[list[np.ndarray], float]:
    """The video as a webcam would send it: `width` wide, cropped to 4:3 around the middle."""
    from server.evaluation.webrtc_client import load_video

    frames, fps = load_video(video, width=width, max_seconds=max_seconds)
    height = width * 3 // 4
    top = max(0, (frames[0].shape[0] - height) // 2)
    return [np.ascontiguousarray(f[top : top + height]) for f in frames], fps


def clip_frames(clip: EncodedClip, count: int) -> list[np.ndarray]:
    """The first `count` frames of the clip as BGR, decoded as the server decodes them."""
    decoder = av.CodecContext.create("libvpx", "r")
    frames: list[np.ndarray] = []
    for data in clip.packets[:count]:
        frames.extend(f.to_ndarray(format="bgr24") for f in decoder.decode(av.Packet(data)))
    return frames


def seed_pipeline_ms(frames: list[np.ndarray], count: int = SEED_FRAMES) -> float:
    """Median ms per frame of HOG (upsample 0) on the full frame plus 68 landmarks.

    Timed in CPU time of this thread (dlib runs both on the calling thread only): the server
    is measured in CPU time too, and neither then depends on what else the machine is doing.
    """
    faces.load_models()
    times = []
    for frame in frames[:count]:
        start = time.thread_time()
        for box in faces.detect_faces(frame, detect_width=frame.shape[1]):
            faces.face_landmarks(frame, box)
        times.append(time.thread_time() - start)
    return statistics.median(times) * 1000


def _seed_on_clip(clip: EncodedClip) -> float:
    return seed_pipeline_ms(clip_frames(clip, SEED_FRAMES))


def _in_child(function: Callable[..., T], *args: Any) -> T:
    """function(*args) in a child process that then ends.

    For whatever would otherwise stay in this process and count as the server's memory:
    dlib's models (~100 MB), and the heap that decoded frames leave behind (glibc keeps
    freed frames' memory: ~800 MB after decoding 20 s of 720x1280 video).
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as executor:
        return executor.submit(function, *args).result(timeout=600)


# --- RTP timestamps carry the capture time -------------------------------------------------


def _zero_rtp_timestamp_origin() -> None:
    """In the clients' process: RTP timestamp = the packet's pts (mod 2**32), not pts + random.

    PacketTrack sets pts to CLOCK_MONOTONIC at hand-over, in 1/90000 s. RTCRtpSender._run_rtp
    adds `timestamp_origin = random32()` to it, a secret offset that would make the capture
    time unreadable on the server, so random32 returns 0 from now on. It must be patched only
    after every sender exists: RTCRtpSender.__init__ draws the SSRCs with the same function,
    and SSRCs must stay random (distinct) for the streams to stay apart.
    """
    import aiortc.rtcrtpsender

    aiortc.rtcrtpsender.random32 = lambda: 0


class _RawTimestamps:
    """aiortc's TimestampMapper, minus the rebasing: a frame's pts is its RTP timestamp."""

    def map(self, timestamp: int) -> int:
        return timestamp


@contextlib.contextmanager
def _raw_rtp_timestamps() -> Iterator[None]:
    """In this (the server's) process while the bench runs: frame.pts = the RTP timestamp.

    aiortc's receiver rebases timestamps so that the first frame it assembles has pts 0; the
    capture time of that first frame is known to nobody (it may not be the first frame sent,
    if the server dropped packets that came before it was ready), so the capture time of the
    others would be unknown too. The server never reads pts beyond recording it in
    FrameResult, so keeping the raw timestamp changes nothing it computes; the patch is
    undone when the step ends.
    """
    import aiortc.rtcrtpreceiver

    original = aiortc.rtcrtpreceiver.TimestampMapper
    aiortc.rtcrtpreceiver.TimestampMapper = _RawTimestamps  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        aiortc.rtcrtpreceiver.TimestampMapper = original  # type: ignore[misc]


def capture_time(pts: int, now: float) -> float:
    """The monotonic time (s) of a 32-bit RTP timestamp of CLOCK_MONOTONIC ticks seen at `now`.

    The timestamp wraps every 2**32 / 90000 s (13.3 hours): it stands for the latest time
    not after `now` with those low 32 bits.
    """
    ticks = round(now * VIDEO_CLOCK)
    return (ticks - (ticks - pts) % RTP_WRAP) / VIDEO_CLOCK


# --- the clients' process ------------------------------------------------------------------


async def try_connect(client: StudentClient, timeout: float) -> str | None:
    """None once the client's peer is connected, else why not (never raises)."""
    try:
        await asyncio.wait_for(client.start(timeout), timeout)
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:200]
    if not await client.wait_connected(timeout):
        return f"no ICE/DTLS connection within {timeout:.0f} s"
    return None


def _run_clients(
    base_url: str,
    tokens: list[str],
    clip: EncodedClip,
    stop: EventType,
    report: Connection,
    timeout: float,
    lifetime: float,
) -> None:
    """Child process: one StudentClient per token replaying the clip, until told to stop.

    Sends two reports: {"errors": [...]} once every client connected or gave up, and
    {"late": n} after closing. Ends by itself after `lifetime` seconds whatever happens.
    """
    from aiortc import RTCConfiguration

    async def main() -> None:
        deadline = time.monotonic() + lifetime
        config = RTCConfiguration(iceServers=[])  # one host: no STUN server to ask
        clients = [StudentClient(base_url, t, clip, clip.fps, configuration=config) for t in tokens]
        for client in clients:
            client.prepare()  # every sender, and so every SSRC, exists before the patch
        _zero_rtp_timestamp_origin()
        errors = await asyncio.gather(*(try_connect(c, timeout) for c in clients))
        report.send({"errors": [e for e in errors if e is not None]})
        while not stop.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        late = sum(c.track.late for c in clients if c.track is not None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.close() for c in clients), return_exceptions=True), 10
            )
        report.send({"late": late})

    try:
        asyncio.run(main())
    finally:
        report.close()


# --- one step ------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    connection: Any  # StreamConnection
    analysed: int
    received: int


def _snapshot(registry: Any) -> dict[Any, _Snapshot]:
    return {
        key: _Snapshot(c, c.analysed, c.intake.received if c.intake is not None else 0)
        for key, c in registry.connections.items()
    }


async def _enrol_and_create_session(
    app: Any, settings: Settings, portrait: bytes, count: int, base_url: str
) -> list[str]:
    """`count` students sharing one face, one session; their join tokens."""
    from server.api.context import ENROLMENT
    from server.exam_sessions import create_session
    from server.store import students

    rolls = [f"B{i:03d}" for i in range(count)]
    enrolment = app[ENROLMENT]
    _, first = await enrolment.analyse(portrait)
    for roll in rolls:  # one analysis, many rows: the roster is the same face
        photo = await asyncio.to_thread(enrolment.photos.save, portrait, ".jpg")
        await asyncio.to_thread(
            students.add_student, enrolment.db, roll, roll, photo, first.embedding
        )
    created = await asyncio.to_thread(
        create_session, settings, enrolment.db, "bench", rolls, base_url
    )
    return [link.rsplit("/", 1)[1] for link in created.links.values()]


async def _warm_up(
    registry: Any, reader: Connection, child: multiprocessing.process.BaseProcess, limit: float
) -> list[str]:
    """Wait until the clients have connected (or given up) and every stream has a result.

    Returns the clients' connection errors. Bounded by `limit` seconds: a stream that never
    delivers is measured as it is (and counted as not connected).
    """
    deadline = time.monotonic() + limit
    errors: list[str] | None = None
    while time.monotonic() < deadline:
        if errors is None and reader.poll():
            with contextlib.suppress(EOFError):
                errors = reader.recv()["errors"]
        connections = list(registry.connections.values())
        if errors is not None and all(c.analysed > 0 for c in connections):
            break
        if errors is None and not child.is_alive():
            return ["the clients' process ended before they connected"]
        await asyncio.sleep(0.25)
    await asyncio.sleep(SETTLE_SECONDS)
    return errors if errors is not None else ["the clients did not report in time"]


def _lags(
    start: dict[Any, _Snapshot], registry: Any, t0: float, t1: float
) -> tuple[list[float], list[float]]:
    """(capture -> result, arrival -> result) in seconds of the results made in [t0, t1]."""
    capture: list[float] = []
    arrival: list[float] = []
    for key, connection in registry.connections.items():
        if key not in start or start[key].connection is not connection:
            continue
        for result in list(getattr(connection, "results", ())):
            if not t0 <= result.done <= t1:
                continue
            arrival.append(result.done - result.arrived)
            if result.pts is not None:
                capture.append(result.done - capture_time(result.pts, result.done))
    return capture, arrival


async def _serve_and_measure(
    settings: Settings, clients: int, clip: EncodedClip, portrait: bytes, seconds: float
) -> dict[str, Any]:
    from aiohttp import web

    from server.api.context import STREAMS
    from server.app import create_app

    app = create_app(settings)
    runner = web.AppRunner(app)
    # Startup prints each throwaway server's fresh admin password: noise between the tables.
    # (Logging keeps its own handle on stderr, so warnings and errors still show.)
    with contextlib.redirect_stderr(io.StringIO()):
        await runner.setup()
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    reader, writer = context.Pipe(duplex=False)
    child: multiprocessing.process.BaseProcess | None = None
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base_url = f"http://127.0.0.1:{port}"
        tokens = await _enrol_and_create_session(app, settings, portrait, clients, base_url)

        timeout = connect_timeout(clients)
        warmup_limit = timeout + 15
        child = context.Process(
            target=_run_clients,
            args=(base_url, tokens, clip, stop, writer, timeout, warmup_limit + seconds + 30),
            daemon=True,
        )
        warm_start = time.monotonic()
        child.start()
        writer.close()  # the child's copy is the one that matters: EOF once it is gone
        registry = app[STREAMS]
        errors = await _warm_up(registry, reader, child, warmup_limit)
        warmup = time.monotonic() - warm_start

        start = _snapshot(registry)
        clients0 = cpu_by_pid(_process_tree(child.pid or -1))
        cpu0, t0 = cpu_by_pid(_server_pids(child.pid)), time.monotonic()
        await asyncio.sleep(seconds)
        pids = _server_pids(child.pid)
        cpu1, t1 = cpu_by_pid(pids), time.monotonic()
        clients1 = cpu_by_pid(_process_tree(child.pid or -1))
        rss, pss = _rss_mb(pids), _pss_mb(pids)
        end = _snapshot(registry)
        capture, arrival = _lags(start, registry, t0, t1)
        stop.set()

        elapsed = t1 - t0
        # A stream counts if the same connection was there at both ends and frames came in.
        streams = [
            (start[k], end[k])
            for k in end
            if k in start
            and start[k].connection is end[k].connection
            and end[k].received > start[k].received
        ]
        fps = [(e.analysed - s.analysed) / elapsed for s, e in streams]
        received = [(e.received - s.received) / elapsed for s, e in streams]
        late = 0
        with contextlib.suppress(TimeoutError):
            late = await asyncio.wait_for(asyncio.to_thread(_late_report, reader), 20)
        return {
            "connected": len(streams),
            "warmup": warmup,
            "errors": errors,
            "late": late,
            "fps": fps,
            "received": received,
            "capture": capture,
            "arrival": arrival,
            "cpu": _cpu_used(cpu0, cpu1),
            "clients_cpu": _cpu_used(clients0, clients1),
            "elapsed": elapsed,
            "rss_mb": rss,
            "pss_mb": pss,
        }
    finally:
        stop.set()  # also when something above failed: the clients must not outlive the step
        if child is not None:
            await asyncio.to_thread(_end, child)
        reader.close()
        writer.close()
        await runner.cleanup()


def _late_report(reader: Connection) -> int:
    """The clients' final report (schedule slips), or 0 if they ended without one."""
    with contextlib.suppress(EOFError, OSError):
        while reader.poll(15):
            message = reader.recv()
            if "late" in message:
                return int(message["late"])
    return 0


def _end(child: multiprocessing.process.BaseProcess) -> None:
    """The clients close their peers and exit by themselves; a stuck child is killed."""
    child.join(20)
    if child.is_alive():
        child.kill()
        child.join(5)


def _percentile(values: Sequence[float], q: float, scale: float = 1.0) -> float:
    return float(np.percentile(values, q)) * scale if len(values) else math.nan


def bench_step(clients: int, clip: EncodedClip, portrait: bytes, seconds: float) -> StreamsBench:
    """One fresh server (fresh data dir) under `clients` clients, then the seed pipeline."""
    with (
        tempfile.TemporaryDirectory(prefix="invigilator-bench-") as data_dir,
        _raw_rtp_timestamps(),
    ):
        settings = replace(Settings(), data_dir=Path(data_dir))
        measured = asyncio.run(_serve_and_measure(settings, clients, clip, portrait, seconds))
    seed_ms = _in_child(_seed_on_clip, clip)  # the server and its clients are gone by now

    connected, elapsed = measured["connected"], measured["elapsed"]
    cpu_ms = measured["cpu"] * 1000
    analysed = sum(measured["fps"]) * elapsed
    per_frame = cpu_ms / analysed if analysed else math.nan
    errors = measured["errors"]
    return StreamsBench(
        clients=clients,
        connected=connected,
        seconds=elapsed,
        warmup_seconds=measured["warmup"],
        client_fps=clip.fps,
        clip_kbps=clip.bitrate / 1000,
        client_errors=len(errors),
        client_late=measured["late"],
        fps_p5=_percentile(measured["fps"], 5),
        fps_median=_percentile(measured["fps"], 50),
        received_fps_median=_percentile(measured["received"], 50),
        lag_capture_p50_ms=_percentile(measured["capture"], 50, 1000),
        lag_capture_p95_ms=_percentile(measured["capture"], 95, 1000),
        lag_arrival_p50_ms=_percentile(measured["arrival"], 50, 1000),
        lag_arrival_p95_ms=_percentile(measured["arrival"], 95, 1000),
        server_cpu_ms_per_stream_second=cpu_ms / (connected * elapsed) if connected else math.nan,
        server_cpu_ms_per_frame=per_frame,
        server_cpu_percent=100 * measured["cpu"] / elapsed,
        clients_cpu_percent=100 * measured["clients_cpu"] / elapsed,
        server_rss_mb=measured["rss_mb"],
        server_pss_mb=measured["pss_mb"],
        seed_ms_per_frame=seed_ms,
        cpu_ratio_to_seed=per_frame / seed_ms,
        seed_streams_at_10fps=100 / seed_ms,  # 1000 ms / seed_ms frames per s, / 10 fps
        ours_streams_at_10fps=100 / per_frame if per_frame > 0 else math.nan,
        analysed_streams_at_10fps=sum(measured["fps"]) / 10,
        client_error_sample=errors[0] if errors else None,
    )


def prepare_clip(
    video: Path, width: int = 640, fps: float = CLIENT_FPS
) -> tuple[EncodedClip, bytes]:
    """The footage as the clients' camera would catch it, encoded to VP8 once for every step,
    and a JPEG of one of its frames (2 s in, past any fade-in) to enrol the students with."""
    frames, video_fps = webcam_frames(video, width, CLIP_SECONDS)
    frames = at_rate(frames, video_fps, fps)
    portrait = encode_jpeg(frames[min(len(frames) - 1, round(2 * fps))], 95)
    return encode_vp8(frames, fps), portrait


def bench_streams(
    steps: Sequence[int],
    video: Path,
    seconds: float = 20.0,
    width: int = 640,
    fps: float = CLIENT_FPS,
    on_step: Callable[[StreamsBench], None] | None = None,
) -> list[StreamsBench]:
    """A sweep over client counts, a fresh server for each; on_step sees each as it ends."""
    clip, portrait = _in_child(prepare_clip, video, width, fps)
    results = []
    for clients in steps:
        result = bench_step(clients, clip, portrait, seconds)
        if on_step is not None:
            on_step(result)
        results.append(result)
    return results


# --- output --------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def format_table(result: StreamsBench) -> str:
    r = result
    lines = [
        f"clients {r.clients} asked, {r.connected} connected; {r.seconds:.0f} s measured after"
        f" {r.warmup_seconds:.0f} s warm-up; each sends {r.client_fps:g} fps of pre-encoded"
        f" VP8 at {r.clip_kbps:.0f} kbit/s",
        f"analysed fps per stream   p5 {r.fps_p5:.1f}   median {r.fps_median:.1f}"
        f"   (received median {r.received_fps_median:.1f})",
        f"lag capture -> result     p50 {_ms(r.lag_capture_p50_ms)} ms"
        f"   p95 {_ms(r.lag_capture_p95_ms)} ms",
        f"lag arrival -> result     p50 {_ms(r.lag_arrival_p50_ms)} ms"
        f"   p95 {_ms(r.lag_arrival_p95_ms)} ms",
        f"server CPU {r.server_cpu_ms_per_stream_second:.1f} ms per stream-second"
        f" = {r.server_cpu_ms_per_frame:.1f} ms per analysed frame"
        f" ({r.server_cpu_percent:.0f} % of one core)",
        f"server memory RSS {r.server_rss_mb:.0f} MB (PSS {r.server_pss_mb:.0f} MB);"
        f" the clients used {r.clients_cpu_percent:.0f} % of one core",
        f"seed pipeline (HOG + 68 landmarks on every full frame, one core):"
        f" {r.seed_ms_per_frame:.1f} ms per frame",
        f"per analysed frame, ours / seed = {r.cpu_ratio_to_seed:.2f};"
        f" 10-fps streams per core: ours {r.ours_streams_at_10fps:.1f},"
        f" seed {r.seed_streams_at_10fps:.1f}",
        f"this run analysed {r.analysed_streams_at_10fps:.1f} stream-equivalents at 10 fps",
    ]
    if r.client_errors or r.client_late:
        lines.append(
            f"clients: {r.client_errors} could not connect"
            + (f" (e.g. {r.client_error_sample})" if r.client_error_sample else "")
            + f", send schedule slipped {r.client_late} times"
        )
    return "\n".join(lines)


def format_summary(results: Sequence[StreamsBench]) -> str:
    header = (
        f"{'clients':>7} {'conn':>4} {'fps p5':>6} {'med':>5} {'rx':>5}"
        f" {'cap p50':>7} {'p95':>6} {'arr p50':>7} {'p95':>6}"
        f" {'ms/str-s':>8} {'ms/frame':>8} {'cpu %':>6} {'RSS MB':>6}"
        f" {'/seed':>5} {'str/core':>8}"
    )
    rows = [
        f"{r.clients:>7} {r.connected:>4} {r.fps_p5:>6.1f} {r.fps_median:>5.1f}"
        f" {r.received_fps_median:>5.1f} {_ms(r.lag_capture_p50_ms):>7}"
        f" {_ms(r.lag_capture_p95_ms):>6} {_ms(r.lag_arrival_p50_ms):>7}"
        f" {_ms(r.lag_arrival_p95_ms):>6} {r.server_cpu_ms_per_stream_second:>8.1f}"
        f" {r.server_cpu_ms_per_frame:>8.1f} {r.server_cpu_percent:>6.0f}"
        f" {r.server_rss_mb:>6.0f} {r.cpu_ratio_to_seed:>5.2f} {r.ours_streams_at_10fps:>8.1f}"
        for r in results
    ]
    seed = statistics.median(r.seed_ms_per_frame for r in results) if results else math.nan
    footer = (
        f"lags in ms (capture -> result, arrival -> result); str/core = 10-fps streams one core"
        f" serves at our CPU per frame (seed pipeline: {seed:.1f} ms per frame,"
        f" {1000 / seed / 10:.1f} per core)"
    )
    return "\n".join([header, *rows, footer])


def log(message: str) -> None:
    """Progress on stderr, so that --json output stays one object per line on stdout."""
    print(message, file=sys.stderr, flush=True)
