"""Reports replace their previous version atomically: a failed build leaves it intact."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import pytest

from attendance.reports import atomic_writer, write_session_report
from attendance.reports import output as report_output
from tests.unit.reports.report_inputs import session_data


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_failed_rebuild_keeps_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "session.pdf"
    first = write_session_report(session_data(6), path)
    pdf_before = path.read_bytes()
    sidecar_before = first.sidecar_path.read_bytes()
    real_build = report_output.build_pdf
    seen: list[Path] = []

    def half_build(handle: Any, story: list[Any], ctx: Any) -> int:
        # The temp file exists and already holds part of a PDF when the build dies.
        handle.write(b"%PDF-1.4\n% half a report")
        seen.extend(p for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(report_output, "build_pdf", half_build)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_session_report(session_data(6), path)

    assert seen, "the build should have run with a temp file beside the report"
    assert path.read_bytes() == pdf_before
    assert first.sidecar_path.read_bytes() == sidecar_before
    assert _leftovers(tmp_path) == []

    monkeypatch.setattr(report_output, "build_pdf", real_build)
    second = write_session_report(session_data(6), path)
    assert path.read_bytes() != pdf_before
    assert second.report_id != first.report_id
    assert _leftovers(tmp_path) == []


def test_atomic_writer_replaces_only_on_success(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"old")

    def fail(handle: BinaryIO) -> None:
        handle.write(b"new but incomplete")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), atomic_writer(path) as handle:
        fail(handle)
    assert path.read_bytes() == b"old"

    with atomic_writer(path) as handle:
        handle.write(b"new")
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


def test_missing_directory_is_an_error_not_a_partial_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_session_report(session_data(2), tmp_path / "nowhere" / "session.pdf")


def test_a_pdf_path_that_would_collide_with_its_sidecar_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sidecar"):
        write_session_report(session_data(2), tmp_path / "session.json")
    assert list(tmp_path.iterdir()) == []
