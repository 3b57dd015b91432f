"""Fixtures of the report tests: the real face photos, or a skip saying where to put them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.reports.report_inputs import data_dir


@pytest.fixture(scope="session")
def faces() -> Path:
    """The deepface photos folder, or a skip saying how to provide it."""
    found = data_dir()
    path = found / "faces" / "deepface" if found else None
    if path is None or not (path / "img1.jpg").is_file():
        pytest.skip(
            "face photos not found: set INVIGILATOR_DATA or place the data at "
            "../shared/data (needs faces/deepface/img1.jpg)"
        )
    return path
