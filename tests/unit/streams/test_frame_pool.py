"""The frame worker pool with real processes and real frames: shared memory, fairness, crashes."""

from __future__ import annotations

import asyncio
import os
import signal
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from server.analysis.errors import AnalysisError
from server.analysis.frame_analyser import AnalyserConfig, analyse_frame
from server.evaluation.liveness_eval import iter_frames
from server.streams.frame_workers import FramePool

VIDEO = "WDA_AlexandriaOcasioCortez_000.mp4"


@pytest.fixture(scope="module")
def lumas(liveness_dir: Path) -> list[np.ndarray]:
    path = liveness_dir / VIDEO
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    grey = [f.mean(axis=2).astype(np.uint8) for f in islice(iter_frames(path), 12)]
    return grey


@pytest.fixture
async def pool() -> FramePool:
    frame_pool = FramePool(2)
    await frame_pool.warm()
    yield frame_pool
    frame_pool.close()


async def test_workers_give_what_the_analyser_gives_in_process(
    pool: FramePool, lumas: list[np.ndarray]
) -> None:
    config = AnalyserConfig()
    local_state = remote_state = None
    for i, luma in enumerate(lumas):
        # A strided view, as a decoded frame's plane is: the pool copies what it needs.
        padded = np.zeros((luma.shape[0], luma.shape[1] + 64), np.uint8)
        padded[:, : luma.shape[1]] = luma
        async with pool.lease() as lease:
            remote, remote_state = await lease.analyse(padded[:, : luma.shape[1]], i, remote_state)
        local, local_state = analyse_frame(luma, i, local_state, config)
        assert remote.face_count == local.face_count == 1
        assert remote.landmarks is not None and local.landmarks is not None
        assert np.allclose(remote.landmarks, local.landmarks)
        assert remote.ear == pytest.approx(local.ear)


async def test_a_large_frame_is_decimated_and_mapped_back(
    pool: FramePool, lumas: list[np.ndarray]
) -> None:
    big = np.kron(lumas[0], np.ones((5, 5), np.uint8))  # 2560x2560: over a slot
    async with pool.lease() as lease:
        features, _ = await lease.analyse(big, 0.0, None)
    async with pool.lease() as lease:
        small, _ = await lease.analyse(lumas[0], 0.0, None)
    assert features.box is not None and small.box is not None
    assert features.box.left == pytest.approx(5 * small.box.left, abs=25)
    assert features.ear == pytest.approx(small.ear, abs=0.05)


async def test_streams_are_served_in_the_order_they_asked(
    pool: FramePool, lumas: list[np.ndarray]
) -> None:
    """Twelve streams on four slots: first come, first served, so no stream runs ahead.

    Frames take different times (a stream's first frame searches the whole picture), so the
    order within a round varies; but a stream that just had its turn queues behind all the
    others, and no stream is ever more than two turns ahead of another."""
    served: list[int] = []

    async def stream(number: int) -> None:
        state = None
        for i in range(3):
            async with pool.lease() as lease:
                served.append(number)
                _, state = await lease.analyse(lumas[i], i, state)

    await asyncio.gather(*(stream(n) for n in range(12)))
    assert sorted(served[:12]) == list(range(12)), served
    turns = [0] * 12
    for number in served:
        turns[number] += 1
        assert max(turns) - min(turns) <= 2, served


async def test_a_crashed_worker_fails_its_frame_and_is_replaced(
    pool: FramePool, lumas: list[np.ndarray]
) -> None:
    before = set(pool.pids)
    victim = pool.pids[0]

    async def analyse_many() -> list[object]:
        async def one(i: int) -> object:
            async with pool.lease() as lease:
                return (await lease.analyse(lumas[i % len(lumas)], i, None))[0]

        return await asyncio.gather(*(one(i) for i in range(40)), return_exceptions=True)

    task = asyncio.create_task(analyse_many())
    await asyncio.sleep(0.05)
    os.kill(victim, signal.SIGKILL)
    results = await task
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, AnalysisError) and e.code == "ANALYSIS_ERROR" for e in errors)
    await pool.warm()
    assert victim not in pool.pids and len(set(pool.pids) - before) == 1
    async with pool.lease() as lease:
        features, _ = await lease.analyse(lumas[0], 0.0, None)
    assert features.has_face
