"""Fixtures shared by every test: the shared data folder, databases, a warm worker pool."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import cv2
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from server.app import create_app
from server.auth import hash_password
from server.config import Settings
from server.store import users
from server.store.database import Database
from server.streams.frame_workers import FramePool
from server.workers import AnalysisPool

REPO_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("INVIGILATOR_TEST_DATABASE_URL", "")


def shared_data_dir() -> Path | None:
    """../shared/data beside the checkout, or INVIGILATOR_DATA; None when neither exists."""
    candidate = Path(os.environ.get("INVIGILATOR_DATA", REPO_ROOT.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("shared data not found: set INVIGILATOR_DATA or place it at ../shared/data")
    return found


@pytest.fixture(scope="session")
def liveness_dir(shared_data: Path) -> Path:
    """../shared/data/liveness (labelled face videos)."""
    folder = shared_data / "liveness"
    if not any(folder.glob("*.mp4")):
        pytest.skip(f"labelled liveness videos not found in {folder}")
    return folder


@pytest.fixture(scope="session")
def deepface_dir(shared_data: Path) -> Path:
    path = shared_data / "faces" / "deepface"
    if not path.is_dir():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def pool() -> Iterator[AnalysisPool]:
    """One pool of two worker processes for the whole run (each loads the dlib models once)."""
    analysis_pool = AnalysisPool(2)
    yield analysis_pool
    analysis_pool.close()


def _reset(url: str) -> None:
    """Empty a server database so every test starts from no schema, as a fresh install does."""
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    db.dispose()


def _database_params() -> list[object]:
    params: list[object] = ["sqlite"]
    params.append(
        pytest.param("postgresql", marks=pytest.mark.postgres)
        if POSTGRES_URL
        else pytest.param(
            "postgresql",
            marks=pytest.mark.skip(reason="INVIGILATOR_TEST_DATABASE_URL is not set"),
        )
    )
    return params


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in tmp_path, or the PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    _reset(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=2)


@pytest.fixture(scope="session")
def frames() -> Iterator[FramePool]:
    """One pair of frame workers for the whole run."""
    frame_pool = FramePool(2)
    yield frame_pool
    frame_pool.close()


ADMIN_PASSWORD = "correct horse battery"


def add_account(settings: Settings, username: str, role: str) -> None:
    db = Database(settings.effective_database_url)
    db.migrate()
    users.add_user(db, username, role, hash_password(ADMIN_PASSWORD))
    db.dispose()


async def log_in(client: TestClient, username: str) -> None:
    """Log the client in; its later requests carry the cookie and the CSRF header."""
    response = await client.post(
        "/api/login", json={"username": username, "password": ADMIN_PASSWORD}
    )
    assert response.status == 200, await response.text()
    client.session.headers["X-CSRF-Token"] = (await response.json())["csrf"]


@asynccontextmanager
async def served(
    settings: Settings, pool: AnalysisPool, frames: FramePool, username: str | None = "admin"
) -> AsyncIterator[TestClient]:
    """The whole service over real HTTP, logged in as `username` (an admin) unless None."""
    if username is not None:
        add_account(settings, username, "admin")
    app = create_app(settings, pool=pool, frames=frames)
    async with TestClient(TestServer(app)) as test_client:
        if username is not None:
            await log_in(test_client, username)
        yield test_client


@pytest.fixture
async def client(
    settings: Settings, pool: AnalysisPool, frames: FramePool
) -> AsyncIterator[TestClient]:
    """The whole service on SQLite in a temporary data directory, logged in as an admin."""
    async with served(settings, pool, frames) as test_client:
        yield test_client


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF, by poppler's pdftotext."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils is not installed (apt-get install poppler-utils)")
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode()


def assert_pages_not_blank(pdf: bytes) -> None:
    """Render every page with pdftoppm and check each has visible content."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed (apt-get install poppler-utils)")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "report.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(source), f"{folder}/page"], check=True)
        pages = sorted(Path(folder).glob("page*.png"))
        assert pages
        for page in pages:
            image = cv2.imread(str(page), cv2.IMREAD_GRAYSCALE)
            assert image is not None and float(image.std()) > 5, page.name
