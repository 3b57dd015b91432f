"""Debian's Chromium driven by Playwright, against the real service on a local port."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import ADMIN_PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

BASE_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    # Playwright gives every launch a fresh, empty profile of its own.
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=BASE_FLAGS)
        yield chromium
        await chromium.close()


def artifact(name: str) -> Path:
    """Where a test keeps a screenshot for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


async def browser_login(page: Page, client: TestClient, then: str, username: str = "admin") -> None:
    """Log in through the login page and land on `then`."""
    await page.goto(str(client.make_url(f"/login?next={then}")))
    await page.fill("#username", username)
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_url(f"**{then}")
