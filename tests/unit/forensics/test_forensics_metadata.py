"""Metadata and hashes: EXIF written with PIL is read back; perceptual hashes behave."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from server.analysis.forensics.hashing import dhash, hamming_distance, phash
from server.analysis.forensics.metadata import extract_metadata
from server.analysis.forensics.reverse_search import SEARCH_PAGES
from tests.unit.forensics.conftest import decode, jpeg_bytes, png_bytes


def _jpeg_with_exif(image_bgr: np.ndarray, software: str) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 80D"
    exif[0x0131] = software
    exif[0x0132] = "2024:05:02 10:00:00"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:01 09:30:00"
    sub[0x829A] = 0.005
    sub[0x8827] = 200
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 30.0)
    gps[3], gps[4] = "W", (2.0, 21.0, 0.0)
    buffer = io.BytesIO()
    Image.fromarray(image_bgr[:, :, ::-1]).save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def test_exif_written_by_pil_is_read_back(astronaut) -> None:
    data = _jpeg_with_exif(astronaut, "Adobe Photoshop 25.0 (Windows)")
    result = extract_metadata(data, decode(data))
    assert result.format == "jpeg"
    assert (result.width, result.height) == (512, 512)
    assert result.mode == "RGB"
    assert result.file_size == len(data)
    assert result.exif_present
    assert result.exif["make"] == "Canon" and result.exif["model"] == "Canon EOS 80D"
    assert result.exif["taken"] == "2024:05:01 09:30:00"
    assert result.exif["iso"] == 200
    assert result.exif["exposure_time"] == 0.005
    assert result.gps["latitude"] == 48.858333
    assert result.gps["longitude"] == -2.35
    assert result.editing_software == "Adobe Photoshop 25.0 (Windows)"
    assert any("editing software" in flag for flag in result.flags)
    assert any("modified date" in flag for flag in result.flags)
    assert result.md5 == hashlib.md5(data).hexdigest()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.suspicion >= 0.8


def test_camera_exif_without_editor_is_not_flagged(astronaut) -> None:
    data = _jpeg_with_exif(astronaut, "Firmware Version 1.0.2")
    result = extract_metadata(data, decode(data))
    assert result.editing_software is None
    assert not any("editing software" in flag for flag in result.flags)


def test_stripped_exif_is_flagged_for_a_jpeg_not_for_a_png(astronaut) -> None:
    jpeg = extract_metadata(jpeg_bytes(astronaut, 90), astronaut)
    png = extract_metadata(png_bytes(astronaut), astronaut)
    assert not jpeg.exif_present and any("no EXIF" in flag for flag in jpeg.flags)
    assert not png.exif_present and png.flags == []
    assert png.format == "png"


def test_perceptual_hashes_survive_recompression_but_tell_images_apart(astronaut, chelsea) -> None:
    resaved = decode(jpeg_bytes(astronaut, 60))
    assert len(phash(astronaut)) == 16 and len(dhash(astronaut)) == 16
    assert hamming_distance(phash(astronaut), phash(resaved)) <= 4
    assert hamming_distance(dhash(astronaut), dhash(resaved)) <= 4
    assert hamming_distance(phash(astronaut), phash(chelsea)) >= 20


def test_hamming_distance() -> None:
    assert hamming_distance("ff", "00") == 8
    assert hamming_distance("a5a5", "a5a4") == 1


def test_search_links_are_plain_upload_pages() -> None:
    assert set(SEARCH_PAGES) == {"google_lens", "bing_visual_search", "tineye", "yandex_images"}
    assert all(url.startswith("https://") for url in SEARCH_PAGES.values())
