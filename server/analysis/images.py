"""Recognise images by content and decode them with a guard on the decoded pixel count."""

from __future__ import annotations

import io
import math
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from server.analysis.errors import AnalysisError

# Magic bytes of the accepted formats; the extension a client sends is never trusted.
_SIGNATURES: tuple[tuple[str, int, bytes], ...] = (
    ("jpeg", 0, b"\xff\xd8\xff"),
    ("png", 0, b"\x89PNG\r\n\x1a\n"),
    ("bmp", 0, b"BM"),
    ("tiff", 0, b"II*\x00"),
    ("tiff", 0, b"MM\x00*"),
    ("webp", 8, b"WEBP"),
)
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "bmp": ".bmp", "tiff": ".tif", "webp": ".webp"}
SNIFF_BYTES = 16


def sniff_format(head: bytes) -> str | None:
    """The image format named by the first bytes of a file, or None when it is none we accept."""
    for name, offset, magic in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic and (name != "webp" or head[:4] == b"RIFF"):
            return name
    return None


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode JPEG/PNG/BMP/TIFF/WebP bytes to a BGR uint8 array, upright per EXIF orientation.

    The header is read first, so a decompression bomb is refused before any pixel is decoded.
    """
    return decode_reduced(data, max_pixels, None)[0]


def decode_reduced(data: bytes, max_pixels: int, min_side: int | None) -> tuple[np.ndarray, float]:
    """decode_image that may decode a JPEG at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling)
    while its shorter side stays at least min_side; returns the image and that scale.

    Several times cheaper than a full decode, and nothing is lost for face work: a face chip
    is only 150 px.
    """
    if sniff_format(data[:SNIFF_BYTES]) is None:
        raise AnalysisError(
            "INVALID_FORMAT", "not a JPEG, PNG, BMP, TIFF or WebP image (checked by content)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise AnalysisError(
                    "IMAGE_TOO_LARGE",
                    f"image is {width}x{height} = {width * height} pixels; "
                    f"the limit is {max_pixels}",
                )
            if min_side and image.format == "JPEG" and min(width, height) > 2 * min_side:
                factor = min_side / min(width, height)
                image.draft("RGB", (math.ceil(width * factor), math.ceil(height * factor)))
            image.load()
            scale = image.size[0] / width
            image = ImageOps.exif_transpose(image)
            rgb = np.asarray(image.convert("RGB"))
    except AnalysisError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AnalysisError("IMAGE_TOO_LARGE", str(exc)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise AnalysisError("VALIDATION_ERROR", f"image is corrupt or truncated: {exc}") from exc
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), scale


def encode_png(image_bgr: np.ndarray) -> bytes:
    """PNG bytes of a BGR (or gray) image."""
    ok, buf = cv2.imencode(".png", image_bgr)
    if not ok:
        raise AnalysisError("ANALYSIS_ERROR", "PNG encoding failed")
    return buf.tobytes()


def encode_jpeg(image_bgr: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of a BGR image."""
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise AnalysisError("ANALYSIS_ERROR", "JPEG encoding failed")
    return buf.tobytes()
