"""File metadata: format, size, EXIF (camera, lens, exposure, software, dates), GPS, hashes."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import ExifTags, Image

from server.analysis.forensics.hashing import dhash, phash
from server.analysis.forensics.result import Result
from server.analysis.images import sniff_format

EDITING_SOFTWARE = (
    "photoshop",
    "gimp",
    "lightroom",
    "affinity",
    "pixelmator",
    "paint.net",
    "snapseed",
    "picsart",
    "facetune",
    "canva",
    "fotor",
    "photopea",
    "capture one",
    "luminar",
    "krita",
    "paintshop",
    "corel",
    "acdsee",
    "inkscape",
    "faceapp",
    "remini",
    "meitu",
    "befunky",
    "photodirector",
    "polarr",
    "vsco",
    "airbrush",
    "stable diffusion",
    "midjourney",
    "dall",
)
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_CAMERA_TAGS = {"make": 0x010F, "model": 0x0110, "software": 0x0131, "modified": 0x0132}
_EXIF_TAGS = {
    "lens": 0xA434,
    "lens_make": 0xA433,
    "exposure_time": 0x829A,
    "f_number": 0x829D,
    "iso": 0x8827,
    "focal_length": 0x920A,
    "taken": 0x9003,
    "digitised": 0x9004,
}


@dataclass
class MetadataResult(Result):
    """What the file says about itself, its fingerprints and the metadata red flags."""

    format: str
    width: int
    height: int
    mode: str
    file_size: int
    exif_present: bool
    exif: dict[str, Any]
    gps: dict[str, float] | None
    md5: str
    sha256: str
    phash: str
    dhash: str
    editing_software: str | None
    flags: list[str]
    suspicion: float


def _plain(value: Any) -> Any:
    """EXIF values as JSON-able Python values (rationals to floats, bytes to text)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip("\x00 ").strip()
    if isinstance(value, str):
        return value.strip("\x00 ").strip()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return int(number) if number.is_integer() else round(number, 6)


def _degrees(parts: Any, ref: Any) -> float | None:
    """GPS degrees/minutes/seconds and N/S/E/W to signed decimal degrees."""
    try:
        degrees, minutes, seconds = (float(p) for p in parts)
    except (TypeError, ValueError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    return -value if str(ref).upper() in ("S", "W") else value


def _read_exif(image: Image.Image) -> tuple[dict[str, Any], dict[str, float] | None]:
    exif = image.getexif()
    found: dict[str, Any] = {}
    for name, tag in _CAMERA_TAGS.items():
        if tag in exif:
            found[name] = _plain(exif[tag])
    sub = exif.get_ifd(_EXIF_IFD)
    for name, tag in _EXIF_TAGS.items():
        if tag in sub:
            found[name] = _plain(sub[tag])
    found["tag_count"] = len(exif) + len(sub)
    gps_ifd = exif.get_ifd(_GPS_IFD)
    gps = None
    if gps_ifd:
        lat = _degrees(gps_ifd.get(2), gps_ifd.get(1))
        lon = _degrees(gps_ifd.get(4), gps_ifd.get(3))
        if lat is not None and lon is not None:
            gps = {"latitude": round(lat, 6), "longitude": round(lon, 6)}
            if 6 in gps_ifd:
                gps["altitude"] = _plain(gps_ifd[6])
    names = {ExifTags.TAGS.get(tag, str(tag)) for tag in exif}
    found["tags"] = sorted(names)[:40]
    return found, gps


def extract_metadata(data: bytes, image_bgr: np.ndarray) -> MetadataResult:
    """Metadata of the file bytes; perceptual hashes of the decoded pixels."""
    fmt = sniff_format(data[:16]) or "unknown"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pixel guard is decode_image's job, not ours
        with Image.open(io.BytesIO(data)) as image:
            mode, (width, height) = image.mode, image.size
            exif, gps = _read_exif(image)
    exif_present = exif.get("tag_count", 0) > 0
    software = str(exif.get("software", "")).lower()
    editor = next((name for name in EDITING_SOFTWARE if name in software), None)
    flags: list[str] = []
    if editor:
        flags.append(f"saved by editing software: {exif.get('software')}")
    if not exif_present and fmt in ("jpeg", "tiff", "webp"):
        flags.append("no EXIF metadata: stripped, or re-saved by an app or editor")
    if exif.get("taken") and exif.get("modified") and exif["taken"] != exif["modified"]:
        flags.append("modified date differs from the capture date")
    if exif_present and not (exif.get("make") or exif.get("model")):
        flags.append("EXIF present without camera make or model")
    suspicion = 0.8 if editor else 0.0
    suspicion = max(suspicion, 0.3 if "no EXIF" in " ".join(flags) else 0.0)
    suspicion = max(suspicion, 0.3 if "modified date" in " ".join(flags) else 0.0)
    return MetadataResult(
        format=fmt,
        width=width,
        height=height,
        mode=mode,
        file_size=len(data),
        exif_present=exif_present,
        exif=exif if exif_present else {},
        gps=gps,
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        phash=phash(image_bgr),
        dhash=dhash(image_bgr),
        editing_software=exif.get("software") if editor else None,
        flags=flags,
        suspicion=suspicion,
    )
