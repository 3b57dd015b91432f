"""One Settings object, built from INVIGILATOR_* environment variables and CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "INVIGILATOR_"


@dataclass(frozen=True)
class Settings:
    """Every tunable of the service. Field names map to INVIGILATOR_<NAME> variables."""

    data_dir: Path = field(default_factory=lambda: Path("invigilator-data"))
    database_url: str = ""  # empty: SQLite file inside data_dir
    host: str = "0.0.0.0"
    port: int = 8080
    match_threshold: float = 0.6  # dlib's documented operating point; 0.5 is stricter
    ssim_threshold: float = 0.90  # an ID photo scoring below this against the reference is forged
    max_upload_bytes: int = 100 * 1024 * 1024
    max_image_pixels: int = 40_000_000  # decoded-pixel guard against decompression bombs
    min_face_px: int = 80  # smallest accepted face box side on an enrolment photo
    min_blur_variance: float = 15.0  # face-crop Laplacian variance below this is too blurry
    detect_width: int = 640  # frames and photos are downscaled to this width to detect faces
    timezone: str = "UTC"
    workers: int = 2  # analysis worker processes
    frame_workers: int = 2  # processes analysing live frames (the box's cores, not more)
    analysis_fps: float = 10.0  # frames analysed per second per stream, at most
    camera_width: int = 640  # what the student page asks the browser's camera for
    camera_height: int = 480
    camera_fps: float = 15.0
    web_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "web")
    public_url: str = ""  # base of join links; empty: the address the request came to
    join_link_hours: float = 24.0  # a join link's life when the session has no end time
    challenge_steps: int = 3
    step_timeout: float = 5.0  # seconds to perform a step after its prompt
    attempts: int = 3
    challenge_seed: int = -1  # -1: a fresh random sequence per attempt; else reproducible
    blink_ear_threshold: float = 0.20  # fixed EAR fallback until a personal baseline exists
    absence_seconds: float = 3.0  # face missing this long during the exam raises an alert
    rematch_seconds: float = 10.0  # identity re-checked this often during the exam
    ice_servers: str = ""  # comma-separated STUN/TURN URLs for browsers behind NAT

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'invigilator.db').resolve()}"

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def id_checks_dir(self) -> Path:
        return self.data_dir / "id-checks"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None overrides applied and converted to each field's type."""
        clean = {k: _convert(k, v) for k, v in overrides.items() if v is not None}
        result = replace(self, **clean)
        result.validate()
        return result

    def validate(self) -> None:
        if not 0 < self.match_threshold < 2:
            raise ValueError("match_threshold must be between 0 and 2")
        if self.max_upload_bytes <= 0 or self.max_image_pixels <= 0:
            raise ValueError("upload limits must be positive")
        if not 1 <= self.analysis_fps <= 60 or not 1 <= self.camera_fps <= 60:
            raise ValueError("analysis_fps and camera_fps must be between 1 and 60")
        if not (160 <= self.camera_width <= 1920 and 120 <= self.camera_height <= 1080):
            raise ValueError("the camera size must be between 160x120 and 1920x1080")
        if self.workers < 1 or self.frame_workers < 1:
            raise ValueError("workers and frame_workers must be at least 1")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc


_TYPES = {f.name: f for f in fields(Settings)}


def _convert(name: str, value: Any) -> Any:
    if name not in _TYPES:
        raise ValueError(f"unknown setting {name!r}")
    default = getattr(Settings(), name)
    if isinstance(default, Path):
        return Path(value)
    if isinstance(default, bool):
        return str(value).lower() in {"1", "true", "yes", "on"}
    return type(default)(value)


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings with INVIGILATOR_* variables applied over the defaults."""
    environ = os.environ if environ is None else environ
    overrides = {
        name: environ[ENV_PREFIX + name.upper()]
        for name in _TYPES
        if ENV_PREFIX + name.upper() in environ
    }
    return Settings().with_overrides(**overrides)
