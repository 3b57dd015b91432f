"""A student joins in Debian's Chromium whose fake camera plays real footage (.y4m)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Page, async_playwright, expect

from server.analysis.challenges import Action
from server.analysis.images import encode_jpeg
from server.config import Settings
from server.evaluation.actors import Repertoire, repertoire_from_labels
from server.evaluation.webrtc_client import load_video
from server.streams.frame_workers import FramePool
from server.workers import AnalysisPool
from tests.conftest import served
from tests.e2e.conftest import BASE_FLAGS, CHROMIUM, artifact

# Seed 2 asks: blink, turn right (nose to the image left), turn left (nose to the image right).
SEED = 2
FPS = 30
LEAD_SECONDS = 4.0  # camera start, ICE, first identity check: all before the first action
GAP_SECONDS = 2.2  # between one action and the next, after the next prompt has appeared


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """Frames as a YUV4MPEG2 file, what Chromium's fake camera plays (and loops)."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            handle.write(b"FRAME\n")
            handle.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def scripted_footage(frames: list[np.ndarray], repertoire: Repertoire) -> list[np.ndarray]:
    """Neutral footage with the seed's three actions placed where each follows its prompt."""
    neutral = itertools.cycle(repertoire.neutral)

    def rest(seconds: float) -> list[np.ndarray]:
        return [frames[next(neutral)] for _ in range(round(seconds * FPS))]

    def act(action: Action) -> list[np.ndarray]:
        segment = repertoire.segments_for(action)[0]
        return [frames[i] for i in range(max(0, segment.start - 5), segment.end + 6)]

    out = rest(LEAD_SECONDS)
    for action in (Action.BLINK, Action.TURN_RIGHT, Action.TURN_LEFT):
        out += act(action) + rest(GAP_SECONDS)
    return out + rest(3.0)


def even(frame: np.ndarray) -> np.ndarray:
    return frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2]


@pytest.fixture(scope="module")
def liveness_dir(shared_data: Path) -> Path:
    path = shared_data / "liveness"
    if not (path / "driving_d3.mp4").exists():
        pytest.skip(f"{path} has no driving_d3.mp4")
    return path


def recording(liveness_dir: Path, name: str) -> tuple[list[np.ndarray], Repertoire]:
    frames, _ = load_video(liveness_dir / f"{name}.mp4", width=512)
    labels = json.loads((liveness_dir / f"{name}.json").read_text())
    return [even(f) for f in frames], repertoire_from_labels(labels, len(frames))


@pytest.fixture
async def service(
    settings: Settings, pool: AnalysisPool, frames: FramePool, liveness_dir: Path
) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:
    """The service with the driving_d3 person enrolled and a session with their join link."""
    settings = replace(settings, challenge_seed=SEED, attempts=2, step_timeout=5.0)
    footage, repertoire = recording(liveness_dir, "driving_d3")
    async with served(settings, pool, frames) as client:
        form = aiohttp.FormData()
        form.add_field("roll_no", "E2E1")
        form.add_field("name", "Camera Student")
        enrol_frame = footage[repertoire.neutral[len(repertoire.neutral) // 2]]
        form.add_field("photo", encode_jpeg(enrol_frame, 95), filename="enrol.jpg")
        assert (await client.post("/api/students", data=form)).status == 201
        created = await client.post("/api/sessions", json={"name": "E2E", "roll_nos": ["E2E1"]})
        body = await created.json()
        yield client, {"session_id": body["session_id"], "link": body["links"]["E2E1"]}


async def join_with_camera(
    y4m: Path, link: str, check: Callable[[Page], object], screenshot: str
) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *BASE_FLAGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={y4m}",
            ],
        )
        try:
            page = await browser.new_page()
            await page.goto(link)
            await page.click("#start")
            try:
                await check(page)  # type: ignore[misc]
            finally:
                await page.screenshot(path=artifact(screenshot), full_page=True)
        finally:
            await browser.close()


def local(link: str, client: TestClient) -> str:
    return str(client.make_url("/join/" + link.rsplit("/join/", 1)[1]))


@pytest.fixture
def chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


async def test_live_student_is_verified_and_attendance_recorded(
    chromium: None, service: tuple[TestClient, dict[str, str]], liveness_dir: Path, tmp_path: Path
) -> None:
    client, info = service
    frames, repertoire = recording(liveness_dir, "driving_d3")
    y4m = write_y4m(tmp_path / "live.y4m", scripted_footage(frames, repertoire), FPS)

    async def verified(page: Page) -> None:
        await expect(page.locator("#steps span")).to_have_count(3, timeout=20_000)
        await expect(page.locator("body")).to_have_attribute(
            "data-result", "verified", timeout=60_000
        )
        await expect(page.locator("#result-text")).to_contain_text("Verified")

    await join_with_camera(y4m, local(info["link"], client), verified, "student-verified.png")
    rows = await (await client.get(f"/api/sessions/{info['session_id']}/attendance")).json()
    assert [r["roll_no"] for r in rows["attendance"]] == ["E2E1"]


async def test_still_photo_is_not_verified(
    chromium: None, service: tuple[TestClient, dict[str, str]], liveness_dir: Path, tmp_path: Path
) -> None:
    client, info = service
    frames, repertoire = recording(liveness_dir, "driving_d3")
    still = frames[repertoire.neutral[len(repertoire.neutral) // 2]]
    y4m = write_y4m(tmp_path / "still.y4m", [still] * (FPS * 2), FPS)

    async def failed(page: Page) -> None:
        await expect(page.locator("body")).to_have_attribute(
            "data-result", "failed", timeout=60_000
        )
        await expect(page.locator("#result-text")).to_contain_text("Not verified")

    await join_with_camera(y4m, local(info["link"], client), failed, "student-photo.png")
    rows = await (await client.get(f"/api/sessions/{info['session_id']}/attendance")).json()
    assert rows["attendance"] == []


async def test_another_person_is_not_verified(
    chromium: None, service: tuple[TestClient, dict[str, str]], liveness_dir: Path, tmp_path: Path
) -> None:
    client, info = service
    frames, repertoire = recording(liveness_dir, "driving_d14")
    neutral = [frames[i] for i in repertoire.neutral[: FPS * 6]]
    y4m = write_y4m(tmp_path / "other.y4m", neutral, FPS)

    async def failed(page: Page) -> None:
        await expect(page.locator("body")).to_have_attribute(
            "data-result", "failed", timeout=60_000
        )
        await expect(page.locator("#result-text")).to_contain_text("does not match")

    await join_with_camera(y4m, local(info["link"], client), failed, "student-other.png")
