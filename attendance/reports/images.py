"""Evidence images made small enough to embed, scaled to fit a box, or a placeholder."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from reportlab.platypus import Flowable, Image, Paragraph, Table, TableStyle

from attendance.reports.styles import CAPTION, RULE, ZEBRA, esc

# Enough pixels for print at the sizes the reports use (<= 9 cm wide at ~250 dpi) while a
# 20 MP upload does not make a 20 MB PDF or a slow build.
MAX_PIXELS_SIDE = 900
# Refuse to decode decompression bombs: evidence comes from uploads.
MAX_DECODED_PIXELS = 60_000_000


@dataclass(frozen=True)
class Picture:
    """An image re-encoded for the PDF with its pixel size."""

    data: bytes
    width: int
    height: int


def prepare(data: bytes | None, max_side: int = MAX_PIXELS_SIDE) -> Picture | None:
    """Decode, flatten onto white and downscale an image; None when absent or unreadable."""
    if not data:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(data))
            if image.width * image.height > MAX_DECODED_PIXELS:
                return None
            image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale, fast
            image.load()
    except (
        OSError,
        ValueError,
        SyntaxError,
        PILImage.DecompressionBombError,
        PILImage.DecompressionBombWarning,
    ):
        return None
    image = _flatten(image)
    image.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
    out = io.BytesIO()
    # JPEG is embedded by reportlab as is (DCTDecode): small and fast to write.
    image.save(out, format="JPEG", quality=88)
    return Picture(out.getvalue(), image.width, image.height)


def picture(data: bytes | None, width: float, height: float, missing: str) -> Flowable:
    """The image scaled to fit width x height points, or a labelled empty box."""
    found = prepare(data)
    if found is None:
        reason = missing if not data else f"{missing} (unreadable image)"
        return placeholder(reason, width, height)
    scale = min(width / found.width, height / found.height)
    flowable = Image(io.BytesIO(found.data), found.width * scale, found.height * scale)
    flowable.hAlign = "CENTER"
    return flowable


def placeholder(text: str, width: float, height: float) -> Table:
    """A light box of the image's size saying why there is no image."""
    box = Table([[Paragraph(esc(text), CAPTION)]], colWidths=[width], rowHeights=[height])
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("BACKGROUND", (0, 0), (-1, -1), ZEBRA),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    box.hAlign = "CENTER"
    return box


def _flatten(image: PILImage.Image) -> PILImage.Image:
    """RGB on a white background (JPEG has no alpha; palette and 16-bit modes need converting)."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = PILImage.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image
