"""The admin and compare pages in a real browser against the real service."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, expect

from tests.e2e.conftest import artifact, browser_login


async def test_compare_page_shows_overlays_and_distance(
    browser: Browser, client: TestClient, deepface_dir: Path
) -> None:
    page = await browser.new_page()
    await browser_login(page, client, "/compare")
    await page.set_input_files("#image1", deepface_dir / "img1.jpg")
    await page.set_input_files("#image2", deepface_dir / "img2.jpg")
    await page.click("#predict")
    result = page.locator("#result")
    await expect(result).to_contain_text("Same person", timeout=30_000)
    distance = float(await result.get_attribute("data-distance") or "nan")
    assert 0 < distance < 0.6
    for view in ("#view1", "#view2"):
        assert (await page.get_attribute(view, "src") or "").startswith("data:image/png;base64,")
    await page.screenshot(path=artifact("compare.png"), full_page=True)

    await page.set_input_files("#image2", deepface_dir / "img3.jpg")
    await page.click("#predict")
    await expect(result).to_contain_text("Different people", timeout=30_000)


async def test_admin_page_enrols_lists_and_reports_errors(
    browser: Browser, client: TestClient, deepface_dir: Path
) -> None:
    page = await browser.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    await browser_login(page, client, "/admin")
    await page.fill("#roll_no", "R100")
    await page.fill("#name", "Grace Hopper")
    await page.set_input_files("#photo", deepface_dir / "img1.jpg")
    await page.click("#enrol button[type=submit]")
    await expect(page.locator("#message")).to_contain_text("Enrolled R100", timeout=30_000)
    row = page.locator("tr[data-roll-no=R100]")
    await expect(row).to_contain_text("Grace Hopper")

    await page.fill("#roll_no", "R101")
    await page.fill("#name", "Two People")
    await page.set_input_files("#photo", deepface_dir / "couple.jpg")
    await page.click("#enrol button[type=submit]")
    await expect(page.locator("#message")).to_contain_text("MULTIPLE_FACES", timeout=30_000)
    await page.screenshot(path=artifact("admin.png"), full_page=True)

    await row.locator("button").click()
    await expect(row).to_have_count(0)
    assert (await client.get("/api/students/R100")).status == 404


async def test_forensics_page_shows_summary_and_heatmaps(
    browser: Browser, client: TestClient, shared_data: Path
) -> None:
    casia = shared_data / "forgery" / "casia1"
    name = "Sp_Sp_D_CNN_A_pla0070_pla0073_0273"
    page = await browser.new_page()
    await browser_login(page, client, "/forensics")
    await page.set_input_files("#image", casia / f"{name}_tampered.png")
    await page.set_input_files("#reference", casia / f"{name}_authentic.png")
    await page.click("#analyse button[type=submit]")
    await expect(page.locator("#result")).to_be_visible(timeout=60_000)
    assert await page.locator("#heatmaps img").count() >= 5
    assert await page.locator("#tier").text_content() in {"low", "medium", "high"}
    assert "reference" in (await page.locator("#raw").text_content() or "")
    await page.screenshot(path=artifact("forensics.png"), full_page=True)
