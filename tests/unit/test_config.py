"""Settings from defaults, INVIGILATOR_* variables and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import Settings, settings_from_env


def test_defaults() -> None:
    settings = Settings()
    assert settings.port == 8080 and settings.match_threshold == 0.6
    assert settings.max_upload_bytes == 100 * 1024 * 1024
    assert settings.effective_database_url.startswith("sqlite:///")


def test_environment_is_typed() -> None:
    settings = settings_from_env(
        {
            "INVIGILATOR_PORT": "9000",
            "INVIGILATOR_MATCH_THRESHOLD": "0.5",
            "INVIGILATOR_DATA_DIR": "/srv/inv",
            "INVIGILATOR_TIMEZONE": "Asia/Kolkata",
            "UNRELATED": "x",
        }
    )
    assert settings.port == 9000 and settings.match_threshold == 0.5
    assert settings.data_dir == Path("/srv/inv")
    assert str(settings.tz) == "Asia/Kolkata"


def test_overrides_win_and_are_validated() -> None:
    settings = settings_from_env({"INVIGILATOR_PORT": "9000"}).with_overrides(port="9100")
    assert settings.port == 9100
    with pytest.raises(ValueError):
        Settings().with_overrides(timezone="Nowhere/Land")
    with pytest.raises(ValueError):
        Settings().with_overrides(match_threshold="3")
    with pytest.raises(ValueError):
        Settings().with_overrides(no_such_setting=1)
