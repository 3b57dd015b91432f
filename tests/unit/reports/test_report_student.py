"""Student verification report from real face photos: text, pages, sidecar, optional parts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from attendance.reports import (
    Detection,
    PresenceEvent,
    ReviewerNote,
    TimelineSample,
    canonical_json,
    write_student_report,
)
from tests.unit.reports.report_inputs import (
    CHAIN_HEAD,
    START,
    body_std,
    pdf_text,
    render_pages,
    student_data,
    timeline,
)

MIN_BODY_STD = 8.0  # a page with nothing but header and footer measures 0 in its body


def test_full_report_text_pages_and_sidecar(faces: Path, tmp_path: Path) -> None:
    data = student_data(faces)
    info = write_student_report(data, tmp_path / "student.pdf")

    text = pdf_text(info.pdf_path)
    for expected in (
        "Amelia Okafor",
        "R-1042",
        "Algebra II midterm",
        "S-2025-03-14-ALG",
        "VERIFIED",
        "0.412",
        "0.600",
        "blink+smile+turn_left",
        "0.713",
        "6.8 %",
        "forged",
        "high",
        "72.5 %",
        "face_absent",
        "multiple_faces",
        "Second face was a proctor walking by.",
        "timeout waiting for smile",
        info.report_id,
        CHAIN_HEAD,
        info.evidence_sha256,
        f"Page 1 of {info.pages}",
        f"Page {info.pages} of {info.pages}",
    ):
        assert expected in text, expected

    pages = render_pages(info.pdf_path, tmp_path / "png")
    assert len(pages) == info.pages >= 2
    assert all(body_std(page) > MIN_BODY_STD for page in pages)

    sidecar = json.loads(info.sidecar_path.read_text("utf-8"))
    assert sidecar["report_id"] == info.report_id
    assert sidecar["pages"] == info.pages
    assert sidecar["pdf"]["sha256"] == hashlib.sha256(info.pdf_path.read_bytes()).hexdigest()
    assert sidecar["figures"]["match_distance"] == data.match_distance
    assert sidecar["figures"]["id_check"]["ssim_score"] == 0.7134
    assert sidecar["figures"]["detections"] == {"blink": 2, "smile": 1, "turn_left": 1}
    # An auditor re-derives the evidence hash from the sidecar and the original photos.
    evidence = sidecar["evidence"]
    digest = hashlib.sha256(canonical_json(evidence).encode("utf-8")).hexdigest()
    assert digest == info.evidence_sha256 == sidecar["evidence_sha256"]
    photo = evidence["inputs"]["enrolled_photo"]
    assert photo["sha256"] == hashlib.sha256((faces / "img1.jpg").read_bytes()).hexdigest()
    assert photo["sha256"] in text  # the PDF lists every image digest too


def test_minimal_report_without_optional_parts(faces: Path, tmp_path: Path) -> None:
    data = student_data(
        faces,
        verified=False,
        match_distance=None,
        enrolled_photo=None,
        live_snapshot=None,
        landmarks_overlay=None,
        timeline=[],
        prompts=[],
        detections=[],
        id_check=None,
        presence_events=[],
        reviewer_notes=[],
        failure_reasons=[],
        chain_head="",
    )
    info = write_student_report(data, tmp_path / "bare.pdf")

    text = pdf_text(info.pdf_path)
    for expected in (
        "NOT VERIFIED",
        "no enrolled photo",
        "no live snapshot",
        "No EAR/MAR samples were recorded.",
        "No ID photo was checked.",
        "No presence events were recorded.",
        "No reviewer notes.",
    ):
        assert expected in text, expected
    pages = render_pages(info.pdf_path, tmp_path / "png")
    assert len(pages) == info.pages
    assert all(body_std(page) > MIN_BODY_STD for page in pages)


def test_markup_characters_in_user_text_are_printed_literally(faces: Path, tmp_path: Path) -> None:
    name = "Zoë <b>O'Brien</b> & <i>Sons"
    note = "looked <away> & back; a</para> <font size=40>"
    data = student_data(
        faces,
        name=name,
        roll_no="R&D<1>",
        reviewer_notes=[ReviewerNote("x<y", START, note)],
        failure_reasons=["<script>alert(1)</script>"],
    )
    info = write_student_report(data, tmp_path / "markup.pdf")

    text = pdf_text(info.pdf_path)
    for expected in (name, "R&D<1>", "looked <away> & back;", "<script>alert(1)</script>"):
        assert expected in text, expected
    sidecar = json.loads(info.sidecar_path.read_text("utf-8"))
    assert sidecar["figures"]["name"] == name


def test_unreadable_images_and_odd_signals_do_not_break_the_report(
    faces: Path, tmp_path: Path
) -> None:
    long_run = [TimelineSample(i / 30, 0.3 - 0.2 * (i % 90 == 0), 0.3, None) for i in range(9000)]
    data = student_data(
        faces,
        live_snapshot=b"\xff\xd8\xff\xe0 not really a jpeg",
        landmarks_overlay=b"",
        timeline=[*long_run, TimelineSample(300.5, float("nan"), None, None)],
        detections=[Detection("head_nod", 10, 12)],  # a kind the chart has no colour for
        presence_events=[
            PresenceEvent(
                START, "tab_switch", "info", {"nested": {"a": [1, 2]}, "ratio": float("inf")}
            )
        ],
    )
    info = write_student_report(data, tmp_path / "odd.pdf")

    text = pdf_text(info.pdf_path)
    assert "no live snapshot (unreadable image)" in text
    assert "head_nod" in text
    sidecar = json.loads(info.sidecar_path.read_text("utf-8"))  # strict JSON: NaN became null
    assert sidecar["evidence"]["inputs"]["timeline"][-1]["ear"] is None
    assert len(render_pages(info.pdf_path, tmp_path / "png")) == info.pages


def test_all_signal_missing_timeline_still_draws(faces: Path, tmp_path: Path) -> None:
    blank = [TimelineSample(s.t) for s in timeline(seconds=3)]
    info = write_student_report(student_data(faces, timeline=blank), tmp_path / "gaps.pdf")
    assert info.pages >= 1
    assert "Liveness challenge" in pdf_text(info.pdf_path)
