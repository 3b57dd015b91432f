"""Fixtures for the forensics tests: the shared evaluation data and a few real images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

CASIA_PAIR = "Sp_Sp_D_CNN_A_pla0070_pla0073_0273"  # a spliced object, ~11 % of the image
ID_TEMPLATE = "id_card_td1_a_front.png"
# The portrait's rectangle on that template (x, y, width, height), measured once by eye.
ID_PORTRAIT = (24, 186, 326, 418)


@pytest.fixture(scope="session")
def casia_dir(shared_data: Path) -> Path:
    """The CASIA v1 tampered/authentic/mask triples."""
    folder = shared_data / "forgery" / "casia1"
    if not (folder / f"{CASIA_PAIR}_tampered.png").is_file():
        pytest.skip(f"CASIA triples not found in {folder}")
    return folder


@pytest.fixture(scope="session")
def casia_pair(casia_dir: Path) -> tuple[bytes, bytes, np.ndarray]:
    """(tampered PNG bytes, authentic PNG bytes, boolean mask) of one spliced CASIA image."""
    tampered = (casia_dir / f"{CASIA_PAIR}_tampered.png").read_bytes()
    authentic = (casia_dir / f"{CASIA_PAIR}_authentic.png").read_bytes()
    mask = cv2.imread(str(casia_dir / f"{CASIA_PAIR}_mask.png"), cv2.IMREAD_GRAYSCALE) > 127
    return tampered, authentic, mask


@pytest.fixture(scope="session")
def id_document(shared_data: Path) -> np.ndarray:
    """A synthetic ID card (docxpand template) as BGR, alpha composited on white."""
    path = shared_data / "documents" / "docxpand" / "templates" / ID_TEMPLATE
    if not path.is_file():
        pytest.skip(f"docxpand template not found: {path}")
    from server.analysis.forensics.imaging import as_bgr

    return as_bgr(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))


@pytest.fixture(scope="session")
def passport_photo(shared_data: Path) -> np.ndarray:
    """A real passport-style portrait of someone else, to swap onto the ID card."""
    path = shared_data / "documents" / "docxpand" / "passport_photos" / "man_1.jpg"
    if not path.is_file():
        pytest.skip(f"passport photo not found: {path}")
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (a real face photo), BGR."""
    return np.ascontiguousarray(skdata.astronaut()[:, :, ::-1])


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    """scikit-image's cat photo (real, textured fur), BGR."""
    return np.ascontiguousarray(skdata.chelsea()[:, :, ::-1])


def jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of a BGR image at a quality."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def png_bytes(image: np.ndarray) -> bytes:
    """PNG bytes of a BGR image."""
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def decode(data: bytes) -> np.ndarray:
    """BGR pixels of encoded bytes."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
