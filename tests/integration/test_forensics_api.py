"""The forensic API and the student's ID-photo check, over real HTTP with real images."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from server.config import Settings
from server.streams.frame_workers import FramePool
from server.workers import AnalysisPool
from tests.conftest import served

CASIA = "Sp_Sp_D_CNN_A_pla0070_pla0073_0273"
PORTRAIT = (24, 186, 326, 418)  # x, y, w, h of the portrait on id_card_td1_a_front.png


def form(**fields: object) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, tuple):
                data.add_field(name, item[1], filename=item[0])
            else:
                data.add_field(name, str(item))
    return data


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buffer.tobytes()


@pytest.fixture(scope="module")
def casia(shared_data: Path) -> tuple[bytes, bytes]:
    folder = shared_data / "forgery" / "casia1"
    if not (folder / f"{CASIA}_tampered.png").exists():
        pytest.skip(f"{folder} is missing")
    return (
        (folder / f"{CASIA}_tampered.png").read_bytes(),
        (folder / f"{CASIA}_authentic.png").read_bytes(),
    )


@pytest.fixture(scope="module")
def id_card(shared_data: Path) -> np.ndarray:
    path = shared_data / "documents" / "docxpand" / "templates" / "id_card_td1_a_front.png"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    rgba = Image.open(path).convert("RGBA")
    white = Image.new("RGBA", rgba.size, "white")
    return cv2.cvtColor(
        np.asarray(Image.alpha_composite(white, rgba).convert("RGB")), cv2.COLOR_RGB2BGR
    )


@pytest.fixture(scope="module")
def stranger(shared_data: Path) -> np.ndarray:
    path = shared_data / "documents" / "docxpand" / "passport_photos" / "man_1.jpg"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return cv2.imread(str(path))


async def code_of(response: aiohttp.ClientResponse) -> str:
    return (await response.json())["error"]["code"]


async def test_analyze_json_and_zip(client: TestClient, casia: tuple[bytes, bytes]) -> None:
    tampered, authentic = casia
    response = await client.post(
        "/analyze",
        data=form(image=("t.png", tampered), reference=("a.png", authentic), inline=1),
    )
    body = await response.json()
    assert response.status == 200
    assert body["detectors"]["reference"]["forged"] is True
    assert body["summary"]["risk_tier"] in {"low", "medium", "high"}
    for name in ("ela", "noise", "copy_move", "jpeg", "ai_generation", "blur", "metadata"):
        assert name in body["detectors"], name
    png = base64.b64decode(body["heatmap_png"]["combined"])
    assert Image.open(io.BytesIO(png)).format == "PNG"

    zipped = await client.post("/analyze", data=form(image=("t.png", tampered), format="zip"))
    assert zipped.status == 200 and zipped.content_type == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(await zipped.read()))
    names = archive.namelist()
    report = json.loads(archive.read("forensic_report.json"))
    assert "summary" in report and "detectors" in report
    assert "heatmaps/combined.png" in names and "heatmaps/ela.png" in names
    assert all(archive.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in names if n.endswith(".png"))


async def test_batch_reports_each_image_and_survives_a_bad_one(
    client: TestClient, casia: tuple[bytes, bytes]
) -> None:
    tampered, authentic = casia
    truncated = jpeg(cv2.imdecode(np.frombuffer(authentic, np.uint8), cv2.IMREAD_COLOR))[:3000]
    response = await client.post(
        "/batch",
        data=form(images=[("one.png", tampered), ("two.png", authentic), ("bad.jpg", truncated)]),
    )
    assert response.status == 200
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    summary = json.loads(archive.read("batch_summary.json"))["images"]
    assert [s["filename"] for s in summary] == ["one.png", "two.png", "bad.jpg"]
    assert summary[2]["error"] == "VALIDATION_ERROR"
    for entry in summary[:2]:
        assert f"{entry['folder']}/forensic_report.json" in archive.namelist()
        assert f"{entry['folder']}/heatmaps/combined.png" in archive.namelist()


async def test_compare_gives_ssim_and_hashes(
    client: TestClient, casia: tuple[bytes, bytes]
) -> None:
    tampered, authentic = casia
    response = await client.post(
        "/compare", data=form(image1=("a.png", authentic), image2=("t.png", tampered))
    )
    body = await response.json()
    assert response.status == 200
    assert body["ssim"]["forged"] is True and 0 < body["ssim"]["forgery_percent"] < 50
    assert body["image1"]["sha256"] != body["image2"]["sha256"]
    assert len(body["image1"]["phash"]) == len(body["image2"]["phash"]) > 0
    same = await client.post(
        "/compare", data=form(image1=("a.png", authentic), image2=("b.png", authentic))
    )
    assert (await same.json())["ssim"]["forged"] is False


async def test_metadata_reads_exif(client: TestClient) -> None:
    from skimage import data as skdata

    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.0"  # Software
    exif[0x010F] = "Canon"  # Make
    buffer = io.BytesIO()
    Image.fromarray(skdata.astronaut()).save(buffer, format="JPEG", exif=exif)
    response = await client.post("/metadata", data=form(image=("a.jpg", buffer.getvalue())))
    body = await response.json()
    assert response.status == 200
    assert "Photoshop" in json.dumps(body["metadata"])
    assert len(body["hashes"]["sha256"]) == 64


async def test_health(client: TestClient) -> None:
    assert (await (await client.get("/health")).json())["status"] == "ok"


async def test_error_codes(
    client: TestClient,
    casia: tuple[bytes, bytes],
    tmp_path: Path,
    pool: AnalysisPool,
    frames: FramePool,
) -> None:
    tampered, _ = casia
    no_file = await client.post("/analyze", data=form(format="json"))
    assert no_file.status == 400 and await code_of(no_file) == "NO_FILE"
    empty = await client.post("/analyze", data=form(image=("", tampered)))
    assert empty.status == 400 and await code_of(empty) == "EMPTY_FILENAME"
    text = await client.post("/analyze", data=form(image=("x.png", b"hello, not an image")))
    assert text.status == 415 and await code_of(text) == "INVALID_FORMAT"
    corrupt = bytearray(tampered)
    corrupt[100:400] = bytes(300)
    broken = await client.post("/analyze", data=form(image=("c.png", bytes(corrupt))))
    assert broken.status == 400 and await code_of(broken) == "VALIDATION_ERROR"
    cut = await client.post("/analyze", data=form(image=("c.png", tampered[: len(tampered) // 2])))
    assert cut.status == 400 and await code_of(cut) == "VALIDATION_ERROR"
    bomb = io.BytesIO()
    Image.new("L", (20000, 20000)).save(bomb, format="PNG")
    big = await client.post("/analyze", data=form(image=("bomb.png", bomb.getvalue())))
    assert big.status == 413 and await code_of(big) == "IMAGE_TOO_LARGE"
    bad_format = await client.post("/analyze", data=form(image=("t.png", tampered), format="pdf"))
    assert bad_format.status == 400

    small = Settings(data_dir=tmp_path / "small", max_upload_bytes=100_000)
    async with served(small, pool, frames) as limited:
        over = await limited.post("/analyze", data=form(image=("t.png", tampered)))
        assert over.status == 413 and await code_of(over) == "FILE_TOO_LARGE"


async def test_student_id_photo_checks(
    client: TestClient, settings: Settings, id_card: np.ndarray, stranger: np.ndarray
) -> None:
    """The enrolled photo is the ID card; a re-photographed copy passes, a swapped one does not."""
    for roll in ("ID1", "ID2"):
        enrolled = await client.post(
            "/api/students", data=form(roll_no=roll, name=roll, photo=("card.png", _png(id_card)))
        )
        assert enrolled.status == 201, await enrolled.text()
    created = await client.post("/api/sessions", json={"name": "IDs", "roll_nos": ["ID1", "ID2"]})
    session = await created.json()
    token = {r: link.rsplit("/", 1)[1] for r, link in session["links"].items()}

    genuine = jpeg(_rotate(id_card, 1.5), 85)
    response = await client.post(
        f"/api/join/{token['ID1']}/id-photo", data=form(photo=("id.jpg", genuine))
    )
    assert response.status == 202 and await response.json() == {"status": "received"}

    x, y, w, h = PORTRAIT
    swapped = id_card.copy()
    swapped[y : y + h, x : x + w] = cv2.resize(stranger, (w, h), interpolation=cv2.INTER_AREA)
    response = await client.post(
        f"/api/join/{token['ID1']}/id-photo", data=form(photo=("id2.jpg", jpeg(swapped, 90)))
    )
    assert response.status == 202

    # Another student submits the first student's photo.
    response = await client.post(
        f"/api/join/{token['ID2']}/id-photo", data=form(photo=("id.jpg", genuine))
    )
    assert response.status == 202

    checks = (await (await client.get(f"/api/sessions/{session['session_id']}/id-checks")).json())[
        "id_checks"
    ]
    first, second, third = checks
    assert first["roll_no"] == "ID1" and first["verdict"] == "ok", first
    assert first["ssim_score"] >= 0.9 and first["face_distance"] < 0.6
    assert second["verdict"] == "forged" and second["ssim_score"] < 0.9
    assert second["face_distance"] is None or second["face_distance"] > 0.6
    assert third["roll_no"] == "ID2" and third["reused_by"] == ["ID1"]
    assert third["verdict"] == "suspicious"
    heatmap = await client.get(second["heatmaps"]["reference"])
    assert heatmap.status == 200 and (await heatmap.read())[:4] == b"\x89PNG"
    events = (
        await (
            await client.get(f"/api/sessions/{session['session_id']}/students/ID1/events")
        ).json()
    )["events"]
    verdicts = [(e["severity"], e["detail"]["verdict"]) for e in events if e["kind"] == "id_check"]
    assert verdicts == [("info", "ok"), ("alert", "forged")]

    assert (await client.delete("/api/students/ID1")).status == 204
    assert (await client.delete("/api/students/ID2")).status == 204
    assert list(settings.id_checks_dir.iterdir()) == []


def _png(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image)
    assert ok
    return buffer.tobytes()


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
