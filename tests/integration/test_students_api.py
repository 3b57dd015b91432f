"""The students, verify and compare endpoints over real HTTP with real photos and dlib."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from server.config import Settings
from server.streams.frame_workers import FramePool
from server.workers import AnalysisPool
from tests.conftest import served


def form(**fields: object) -> aiohttp.FormData:
    """Multipart body; a Path value is sent as a file under its own name."""
    data = aiohttp.FormData()
    for name, value in fields.items():
        if isinstance(value, Path):
            data.add_field(name, value.read_bytes(), filename=value.name)
        elif isinstance(value, tuple):
            filename, content = value
            data.add_field(name, content, filename=filename)
        else:
            data.add_field(name, str(value))
    return data


async def enrol(client: TestClient, roll_no: str, name: str, photo: Path) -> aiohttp.ClientResponse:
    return await client.post("/api/students", data=form(roll_no=roll_no, name=name, photo=photo))


async def error_code(response: aiohttp.ClientResponse) -> str:
    body = await response.json()
    return body["error"]["code"]


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


async def test_enrol_list_get_update_delete(
    client: TestClient, deepface_dir: Path, settings: Settings
) -> None:
    response = await enrol(client, "R001", "Ada Lovelace", deepface_dir / "img1.jpg")
    assert response.status == 201
    created = await response.json()
    assert created["roll_no"] == "R001" and "embedding" not in created

    listing = await (await client.get("/api/students")).json()
    assert [s["roll_no"] for s in listing["students"]] == ["R001"]
    photo = await client.get("/api/students/R001/photo")
    assert photo.status == 200
    assert await photo.read() == (deepface_dir / "img1.jpg").read_bytes()
    stored = files_in(settings.photos_dir)
    assert len(stored) == 1 and stored[0] != "img1.jpg" and stored[0].endswith(".jpg")

    renamed = await client.patch("/api/students/R001", data=form(name="Ada King"))
    assert renamed.status == 200 and (await renamed.json())["name"] == "Ada King"
    rephotographed = await client.patch(
        "/api/students/R001", data=form(photo=deepface_dir / "img2.jpg")
    )
    assert rephotographed.status == 200
    assert len(files_in(settings.photos_dir)) == 1 and files_in(settings.photos_dir) != stored

    deleted = await client.delete("/api/students/R001")
    assert deleted.status == 204
    assert files_in(settings.photos_dir) == []
    missing = await client.get("/api/students/R001")
    assert missing.status == 404 and await error_code(missing) == "STUDENT_NOT_FOUND"


async def test_verify_against_the_enrolled_embedding(
    client: TestClient, deepface_dir: Path
) -> None:
    assert (await enrol(client, "R001", "Person", deepface_dir / "img1.jpg")).status == 201
    same = await client.post(
        "/api/students/R001/verify", data=form(photo=deepface_dir / "img2.jpg")
    )
    body = await same.json()
    assert same.status == 200 and body["match"] is True and body["distance"] < 0.6
    other = await client.post(
        "/api/students/R001/verify", data=form(photo=deepface_dir / "img3.jpg")
    )
    body = await other.json()
    assert body["match"] is False and body["distance"] > body["threshold"] == 0.6
    unknown = await client.post(
        "/api/students/R999/verify", data=form(photo=deepface_dir / "img2.jpg")
    )
    assert unknown.status == 404


async def test_compare_returns_boxes_landmarks_and_overlays(
    client: TestClient, deepface_dir: Path
) -> None:
    response = await client.post(
        "/api/compare",
        data=form(image1=deepface_dir / "img1.jpg", image2=deepface_dir / "img2.jpg", overlay=1),
    )
    body = await response.json()
    assert response.status == 200
    assert body["match"] is True and body["threshold"] == 0.6
    for key in ("image1", "image2"):
        face = body[key]
        assert len(face["landmarks"]) == 68
        box = face["box"]
        assert 0 <= box["left"] < box["right"] <= face["width"]
        assert 0 <= box["top"] < box["bottom"] <= face["height"]
        png = Image.open(io.BytesIO(base64.b64decode(face["overlay_png"])))
        assert png.format == "PNG"
    assert body["image1"]["width"] == 1382  # coordinates of the photo as sent


@pytest.mark.parametrize(
    ("photo", "code", "status"),
    [
        ("couple.jpg", "MULTIPLE_FACES", 422),
        ("landscape", "NO_FACE", 422),
        ("tiny", "FACE_TOO_SMALL", 422),
        ("blurred", "TOO_BLURRY", 422),
        ("text", "INVALID_FORMAT", 415),
        ("truncated", "VALIDATION_ERROR", 400),
    ],
)
async def test_enrolment_errors_have_stable_codes(
    client: TestClient,
    deepface_dir: Path,
    settings: Settings,
    photo: str,
    code: str,
    status: int,
) -> None:
    response = await client.post(
        "/api/students", data=form(roll_no="R1", name="N", photo=bad_photo(deepface_dir, photo))
    )
    assert response.status == status
    assert await error_code(response) == code
    assert files_in(settings.photos_dir) == [] and files_in(settings.data_dir / "tmp") == []
    assert (await (await client.get("/api/students")).json())["students"] == []


def bad_photo(deepface_dir: Path, kind: str) -> tuple[str, bytes]:
    from skimage import data as skdata

    def jpeg(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=92)
        return buffer.getvalue()

    if kind == "couple.jpg":
        return kind, (deepface_dir / kind).read_bytes()
    if kind == "landscape":
        return "coffee.jpg", jpeg(Image.fromarray(skdata.coffee()))
    if kind == "tiny":
        return "tiny.jpg", jpeg(Image.fromarray(skdata.astronaut()).resize((200, 200)))
    if kind == "blurred":
        from PIL import ImageFilter

        image = Image.open(deepface_dir / "img1.jpg").filter(ImageFilter.GaussianBlur(20))
        return "blurred.jpg", jpeg(image)
    if kind == "text":
        return "photo.jpg", b"this is a text file renamed to .jpg\n" * 10
    data = (deepface_dir / "img1.jpg").read_bytes()
    return "truncated.jpg", data[: len(data) // 3]


async def test_duplicate_roll_number_is_409_and_leaves_no_file(
    client: TestClient, deepface_dir: Path, settings: Settings
) -> None:
    assert (await enrol(client, "R001", "A", deepface_dir / "img1.jpg")).status == 201
    again = await enrol(client, "R001", "B", deepface_dir / "img3.jpg")
    assert again.status == 409 and await error_code(again) == "DUPLICATE_ROLL_NO"
    assert len(files_in(settings.photos_dir)) == 1


async def test_missing_parts_and_bad_fields(client: TestClient, deepface_dir: Path) -> None:
    no_file = await client.post("/api/students", data=form(roll_no="R1", name="N"))
    assert no_file.status == 400 and await error_code(no_file) == "NO_FILE"
    empty_name = await client.post(
        "/api/students", data=form(roll_no="R1", name="N", photo=("", b"\xff\xd8\xff"))
    )
    assert empty_name.status == 400 and await error_code(empty_name) == "EMPTY_FILENAME"
    bad_roll = await enrol(client, "R 1/..", "N", deepface_dir / "img1.jpg")
    assert bad_roll.status == 400 and await error_code(bad_roll) == "VALIDATION_ERROR"
    not_multipart = await client.post("/api/students", json={"roll_no": "R1"})
    assert not_multipart.status == 400
    garbage = await client.post(
        "/api/students",
        data=b'--xyz\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= garbage.status < 500


async def test_unknown_route_and_method_are_json_errors(client: TestClient) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status == 404 and await error_code(missing) == "NOT_FOUND"
    wrong = await client.put("/api/students")
    assert wrong.status == 405 and await error_code(wrong) == "METHOD_NOT_ALLOWED"


async def test_upload_over_the_size_limit_is_413_and_not_kept(
    tmp_path: Path, pool: AnalysisPool, frames: FramePool
) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_upload_bytes=1_000_000)
    async with served(settings, pool, frames) as client:
        big = ("big.jpg", b"\xff\xd8\xff" + bytes(3_000_000))
        declared = await client.post("/api/students", data=form(roll_no="R1", name="N", photo=big))
        assert declared.status == 413 and await error_code(declared) == "FILE_TOO_LARGE"
        # Without a Content-Length the limit is enforced while the parts are read.
        streamed = await client.post(
            "/api/compare",
            data=_chunked_multipart(big[1]),
            headers={"Content-Type": "multipart/form-data; boundary=B0UND"},
        )
        assert streamed.status == 413 and await error_code(streamed) == "FILE_TOO_LARGE"
    assert files_in(settings.data_dir / "tmp") == [] and files_in(settings.photos_dir) == []


async def _chunked_multipart(content: bytes) -> AsyncIterator[bytes]:
    yield (
        b'--B0UND\r\nContent-Disposition: form-data; name="image1"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
    )
    for start in range(0, len(content), 65536):
        yield content[start : start + 65536]
    yield b"\r\n--B0UND--\r\n"


async def test_decompression_bomb_is_refused(client: TestClient, settings: Settings) -> None:
    buffer = io.BytesIO()
    Image.new("L", (20000, 20000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 2_000_000  # small on the wire, 400 MP decoded
    response = await client.post(
        "/api/students", data=form(roll_no="R1", name="N", photo=("bomb.png", buffer.getvalue()))
    )
    assert response.status == 413 and await error_code(response) == "IMAGE_TOO_LARGE"
    assert files_in(settings.photos_dir) == []


async def test_health_and_pages(client: TestClient) -> None:
    health = await (await client.get("/api/health")).json()
    assert health["status"] == "ok" and health["database"] is True
    for page, marker in (("/", "invigilator"), ("/compare", "Predict"), ("/admin", "Enrol")):
        response = await client.get(page)
        assert response.status == 200 and marker in await response.text()
