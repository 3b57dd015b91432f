"""Image intake: formats by content, pixel guard, corrupt and truncated files, EXIF orientation."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from server.analysis.errors import AnalysisError
from server.analysis.images import decode_image, sniff_format


def encoded(fmt: str, image: Image.Image | None = None, **params: object) -> bytes:
    buffer = io.BytesIO()
    (image or Image.fromarray(skdata.astronaut())).save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("JPEG", "jpeg"), ("PNG", "png"), ("BMP", "bmp"), ("TIFF", "tiff"), ("WEBP", "webp")],
)
def test_each_format_is_recognised_and_decoded(fmt: str, name: str) -> None:
    data = encoded(fmt)
    assert sniff_format(data[:16]) == name
    image = decode_image(data, 10_000_000)
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8


def test_colour_order_is_bgr() -> None:
    image = decode_image(encoded("PNG"), 10_000_000)
    expected = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    assert np.array_equal(image, expected)


def test_text_renamed_to_jpg_is_not_an_image() -> None:
    with pytest.raises(AnalysisError) as error:
        decode_image(b"GIF89a not what we take" + bytes(100), 10_000_000)
    assert error.value.code == "INVALID_FORMAT"


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A 20000x20000 PNG of zeros is ~400 KB compressed but 1.2 GB decoded.
    bomb = encoded("PNG", Image.new("L", (20000, 20000)), optimize=False)
    assert len(bomb) < 2_000_000
    with pytest.raises(AnalysisError) as error:
        decode_image(bomb, 40_000_000)
    assert error.value.code == "IMAGE_TOO_LARGE"


def test_truncated_jpeg_is_a_validation_error() -> None:
    data = encoded("JPEG", quality=90)
    with pytest.raises(AnalysisError) as error:
        decode_image(data[: len(data) // 2], 10_000_000)
    assert error.value.code == "VALIDATION_ERROR"


def test_corrupt_png_is_a_validation_error() -> None:
    data = bytearray(encoded("PNG"))
    data[40:200] = bytes(160)
    with pytest.raises(AnalysisError) as error:
        decode_image(bytes(data), 10_000_000)
    assert error.value.code == "VALIDATION_ERROR"


def test_exif_orientation_is_applied() -> None:
    image = Image.fromarray(skdata.astronaut()[:, :300])  # 300 wide, 512 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encoded("JPEG", image, exif=exif)
    assert decode_image(data, 10_000_000).shape[:2] == (300, 512)
