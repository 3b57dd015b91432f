"""Frame analysis in worker processes: frames cross in shared memory, tracker state with them.

Why not a ProcessPoolExecutor (the service's photo pool): each call would pickle the frame
(300 KB of luma at 640x480) and pass through two helper threads of the parent, all under the
parent's GIL, which also runs aiortc's per-packet work for every student. Here the luma plane
is copied once into a slot of a shared-memory file and a message of ~100 bytes crosses a
pipe; replies are read on the event loop itself (add_reader), with no extra thread.

Any worker serves any stream: the tracker state (a small dataclass) goes out with each frame
and comes back with its features, so a busy or restarted worker costs no stream its face,
and the pool can hand the next free slot to whichever stream has waited longest.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import mmap
import multiprocessing
import os
import pickle
import tempfile
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from server.analysis import faces
from server.analysis.errors import AnalysisError
from server.analysis.faces import FaceBox
from server.analysis.frame_analyser import AnalyserConfig, analyse_frame
from server.analysis.liveness import FrameFeatures, MouthShape, frame_features

log = logging.getLogger("invigilator.frames")

# A slot holds one luma plane up to this size (1920x1088); a larger frame is decimated to fit.
SLOT_BYTES = 1920 * 1088
# Slots per worker: one being analysed while the parent fills the next, so a worker never
# waits for the parent between frames, and a frame never waits long behind another.
SLOTS_PER_WORKER = 2
_SHM_DIR = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
WORKER_NICENESS = 5


# A job: (request, slot, height, width, step, timestamp, pickled TrackState or b"").
# step: the plane was decimated by this factor to fit a slot; results are scaled back.
FrameJob = tuple[int, int, int, int, int, float, bytes]


# What crosses the pipe is builtins only (tuples, floats, bytes): unpickling dataclasses and
# numpy arrays costs the parent ~10 class look-ups a frame, on the thread that runs aiortc.
# The tracker state stays pickled bytes: the parent only carries it from reply to next job.
FeaturesWire = tuple[Any, ...]


def pack_features(features: FrameFeatures) -> FeaturesWire:
    """FrameFeatures as a tuple of builtins (landmarks as float64 bytes)."""
    box, landmarks, mouth = features.box, features.landmarks, features.mouth
    return (
        features.timestamp,
        features.face_count,
        None if box is None else (box.left, box.top, box.right, box.bottom),
        None if landmarks is None else np.ascontiguousarray(landmarks, np.float64).tobytes(),
        features.ear_left,
        features.ear_right,
        features.ear,
        features.mar,
        features.mouth_width_ratio,
        features.yaw,
        None if mouth is None else (mouth.width, mouth.opening, mouth.lift_left, mouth.lift_right),
        features.detected,
    )


def unpack_features(wire: FeaturesWire) -> FrameFeatures:
    """The FrameFeatures pack_features sent, rebuilt without computing anything."""
    (timestamp, count, box, landmarks, ear_l, ear_r, ear, mar, width, yaw, mouth, detected) = wire
    return FrameFeatures(
        timestamp=timestamp,
        face_count=count,
        box=None if box is None else FaceBox(*box),
        landmarks=None if landmarks is None else np.frombuffer(landmarks).reshape(68, 2),
        ear_left=ear_l,
        ear_right=ear_r,
        ear=ear,
        mar=mar,
        mouth_width_ratio=width,
        yaw=yaw,
        mouth=None if mouth is None else MouthShape(*mouth),
        detected=detected,
    )


# --- worker process ----------------------------------------------------------------------


def _worker_main(conn: Connection, shm_path: str, slots: int, config: AnalyserConfig) -> None:
    """A frame worker: load the models, then answer FrameJobs until the pipe closes."""
    # Below the media process in priority: when the box is full, frames must still be
    # received and decoded on time (aiortc's decoder queue is unbounded, so a starved
    # decoder means seconds of lag); analysis is what slows down, evenly, instead.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    faces.load_models()
    with open(shm_path, "r+b") as handle:
        buffer = mmap.mmap(handle.fileno(), SLOT_BYTES * slots)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job: FrameJob = conn.recv()
        except (EOFError, OSError):
            return
        request, slot, height, width, step, timestamp, blob = job
        try:
            gray = np.ndarray((height, width), np.uint8, buffer, offset=slot * SLOT_BYTES)
            state = pickle.loads(blob) if blob else None
            features, state = analyse_frame(gray, timestamp, state, config)
            if step > 1:
                features = _scaled(features, step)
            reply = (pack_features(features), pickle.dumps(state, pickle.HIGHEST_PROTOCOL))
            conn.send((request, True, reply))
        except Exception as exc:  # one bad frame fails its request, not the worker
            conn.send((request, False, f"{type(exc).__name__}: {exc}"))


def _scaled(features: FrameFeatures, step: int) -> FrameFeatures:
    """Features of a decimated plane in the coordinates of the full frame."""
    box = features.box.scaled(step) if features.box is not None else None
    landmarks = features.landmarks * step if features.landmarks is not None else None
    return frame_features(
        features.timestamp, features.face_count, box, landmarks, features.detected
    )


# --- parent side -------------------------------------------------------------------------


@dataclass
class _Worker:
    """The parent's handle on one worker process and its slots."""

    index: int
    shm_path: str
    process: Any = None
    conn: Connection | None = None
    ready: bool = False  # its models are loaded
    generation: int = 0  # bumped at each (re)start and re-binding: older slots are void
    early_deaths: int = 0  # deaths before its models loaded, in a row: restarts back off
    pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)

    @property
    def busy(self) -> int:
        return len(self.pending)


class Lease:
    """One free slot of one worker, held by a stream while its frame is analysed."""

    def __init__(self, pool: FramePool, worker: _Worker, slot: int) -> None:
        self._pool = pool
        self.worker = worker
        self.slot = slot
        self.generation = worker.generation

    async def analyse(
        self, luma: np.ndarray, timestamp: float, state: bytes | None
    ) -> tuple[FrameFeatures, bytes]:
        """Features of one luma plane (any stride), and the stream's next tracker state
        (a pickled TrackState the caller keeps and passes back with its next frame)."""
        return await self._pool._analyse(self, luma, timestamp, state)


class FramePool:
    """Worker processes for live frames, shared fairly by every stream of the process.

    The workers outlive an event loop (tests share one pool between apps); the pool binds
    its pipes to whichever loop uses it.
    """

    def __init__(self, processes: int, config: AnalyserConfig | None = None) -> None:
        self.config = config or AnalyserConfig()
        self._context = multiprocessing.get_context("spawn")
        self._requests = itertools.count()
        self._workers: list[_Worker] = []
        self._free: list[tuple[_Worker, int]] = []
        self._waiting: deque[asyncio.Future[tuple[_Worker, int]]] = deque()
        self._buffers: list[tuple[int, mmap.mmap]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready_waiters: list[asyncio.Future[None]] = []
        self._closed = False
        self.analysed = 0  # frames answered since start, for /api/health and benchmarks
        for index in range(max(1, processes)):
            fd, path = tempfile.mkstemp(prefix="invigilator-frames-", dir=_SHM_DIR)
            os.ftruncate(fd, SLOT_BYTES * SLOTS_PER_WORKER)
            self._buffers.append((fd, mmap.mmap(fd, SLOT_BYTES * SLOTS_PER_WORKER)))
            self._workers.append(_Worker(index, path))

    @property
    def processes(self) -> int:
        return len(self._workers)

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process is not None]

    async def warm(self) -> None:
        """Start every worker and wait until its models are loaded."""
        self._bind()
        while not all(w.ready for w in self._workers):
            waiter = asyncio.get_running_loop().create_future()
            self._ready_waiters.append(waiter)
            await waiter

    def _bind(self) -> None:
        """Start missing workers; read their pipes on the running loop."""
        if self._closed:
            raise AnalysisError("ANALYSIS_ERROR", "the frame pool is closed")
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        old, self._loop = self._loop, loop
        # Futures of another loop can never be resolved here: forget them with their slots.
        self._waiting.clear()
        self._ready_waiters.clear()
        self._free.clear()
        for worker in self._workers:
            worker.pending.clear()
            if worker.conn is None:
                self._start(worker)
            else:
                if old is not None and not old.is_closed():
                    old.remove_reader(worker.conn.fileno())
                self._listen(worker)

    def _start(self, worker: _Worker) -> None:
        parent, child = self._context.Pipe(duplex=True)
        worker.process = self._context.Process(
            target=_worker_main,
            args=(child, worker.shm_path, SLOTS_PER_WORKER, self.config),
            name=f"invigilator-frames-{worker.index}",
            daemon=True,
        )
        worker.process.start()
        child.close()
        worker.conn = parent
        worker.ready = False
        self._listen(worker)

    def _listen(self, worker: _Worker) -> None:
        assert self._loop is not None and worker.conn is not None
        self._loop.add_reader(worker.conn.fileno(), self._on_readable, worker)
        worker.generation += 1
        for slot in range(SLOTS_PER_WORKER):
            self._release(worker, slot, worker.generation)

    def _on_readable(self, worker: _Worker) -> None:
        """One reply per call: the loop polls the pipe level-triggered and calls again while
        more is waiting (Connection.poll() builds a selector each time: ~100 us a frame)."""
        conn = worker.conn
        if conn is None:
            return
        try:
            message = conn.recv()
            if message[0] == "ready":
                worker.ready = True
                worker.early_deaths = 0
                self._wake_ready()
                return
            request, ok, payload = message
            future = worker.pending.pop(request, None)
            if future is None or future.done():
                return
            if ok:
                future.set_result(payload)
            else:
                future.set_exception(AnalysisError("ANALYSIS_ERROR", payload))
        except (EOFError, OSError):
            self._restart(worker)
        except Exception:  # a reply that cannot be read: the worker is not to be trusted
            log.exception("event=frame_worker_reply_unreadable index=%d", worker.index)
            if worker.process is not None:
                worker.process.kill()
            self._restart(worker)

    def _wake_ready(self) -> None:
        waiters, self._ready_waiters = self._ready_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _restart(self, worker: _Worker) -> None:
        """A worker died (a crash in native code): fail what it held and start a fresh one."""
        assert self._loop is not None
        if worker.conn is not None:
            self._loop.remove_reader(worker.conn.fileno())
            worker.conn.close()
            worker.conn = None
        if worker.process is not None:
            worker.process.join(timeout=1)
            log.error(
                "event=frame_worker_died index=%d exitcode=%s",
                worker.index,
                worker.process.exitcode,
            )
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(
                    AnalysisError("ANALYSIS_ERROR", "the frame worker stopped; try again")
                )
        worker.pending.clear()
        self._free = [(w, s) for w, s in self._free if w is not worker]
        if self._closed:
            return
        if worker.ready:
            self._start(worker)  # a crash on one frame: a fresh worker at once
            return
        # A worker that cannot even start (models missing, memory) would be restarted in a
        # tight loop: wait longer after each such death, up to 30 s.
        worker.early_deaths += 1
        delay = min(30.0, 0.5 * 2 ** (worker.early_deaths - 1))
        self._loop.call_later(delay, self._start_unless_closed, worker)

    def _start_unless_closed(self, worker: _Worker) -> None:
        if not self._closed and worker.conn is None:
            self._start(worker)

    # --- fair slots ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Lease]:
        """Wait for a free slot; streams are served in the order they asked (no starving)."""
        self._bind()
        if self._free and not self._waiting:
            worker, slot = self._take_free()
        else:
            future: asyncio.Future[tuple[_Worker, int]] = asyncio.get_running_loop().create_future()
            self._waiting.append(future)
            try:
                worker, slot = await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    taken, slot = future.result()
                    self._release(taken, slot, taken.generation)
                raise
        lease = Lease(self, worker, slot)
        try:
            yield lease
        finally:
            self._release(worker, slot, lease.generation)

    def _take_free(self) -> tuple[_Worker, int]:
        """The free slot of the least busy worker: spread frames over the processes."""
        best = min(range(len(self._free)), key=lambda i: self._free[i][0].busy)
        return self._free.pop(best)

    def _release(self, worker: _Worker, slot: int, generation: int) -> None:
        if worker.conn is None or generation != worker.generation:
            return  # the worker was restarted meanwhile, with fresh slots
        self._free.append((worker, slot))
        while self._waiting and self._free:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(self._take_free())

    async def _analyse(
        self, lease: Lease, luma: np.ndarray, timestamp: float, state: bytes | None
    ) -> tuple[FrameFeatures, bytes]:
        worker = lease.worker
        if worker.conn is None or lease.generation != worker.generation:
            raise AnalysisError("ANALYSIS_ERROR", "the frame worker stopped; try again")
        step = max(1, math.ceil(math.sqrt(luma.size / SLOT_BYTES)))
        if step > 1:
            luma = luma[::step, ::step]
        height, width = luma.shape
        fd_buffer = self._buffers[worker.index][1]
        target = np.ndarray((height, width), np.uint8, fd_buffer, offset=lease.slot * SLOT_BYTES)
        np.copyto(target, luma)
        request = next(self._requests)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        worker.pending[request] = future
        worker.conn.send((request, lease.slot, height, width, step, timestamp, state or b""))
        wire, new_state = await future
        self.analysed += 1
        return unpack_features(wire), new_state

    def load(self) -> dict[str, Any]:
        """What the pool is doing now: for /api/health."""
        return {
            "processes": self.processes,
            "busy_slots": sum(w.busy for w in self._workers),
            "slots": self.processes * SLOTS_PER_WORKER,
            "waiting_streams": sum(1 for f in self._waiting if not f.done()),
            "frames_analysed": self.analysed,
        }

    def close(self) -> None:
        self._closed = True
        loop = self._loop
        for worker in self._workers:
            if worker.conn is not None:
                if loop is not None and not loop.is_closed():
                    loop.remove_reader(worker.conn.fileno())
                worker.conn.close()
                worker.conn = None
            if worker.process is not None:
                worker.process.join(timeout=2)
                if worker.process.is_alive():
                    worker.process.kill()
                    worker.process.join(timeout=2)
            for future in worker.pending.values():
                if not future.done():
                    future.set_exception(AnalysisError("ANALYSIS_ERROR", "shutting down"))
            worker.pending.clear()
        for (fd, buffer), worker in zip(self._buffers, self._workers, strict=True):
            with contextlib.suppress(BufferError, ValueError):
                buffer.close()
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(worker.shm_path)
        for future in self._waiting:
            if not future.done():
                future.set_exception(AnalysisError("ANALYSIS_ERROR", "shutting down"))
        self._waiting.clear()
