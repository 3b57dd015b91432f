"""The evidence hash: RFC 8785 canonical JSON, independent of report id and time."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attendance.reports import canonical_json, evidence_sha256, write_session_report
from attendance.reports.evidence import evidence_of
from tests.unit.reports.report_inputs import session_data


@pytest.mark.parametrize(
    ("value", "text"),
    [  # number serialisation samples of RFC 8785, appendix B, and a few more
        (0.0, "0"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (333333333.33333329, "333333333.3333333"),
        (1e23, "1e+23"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (4.5, "4.5"),
        (0.002, "0.002"),
        (-2.5e-9, "-2.5e-9"),
        (9007199254740992.0, "9007199254740992"),
        (295147905179352830000.0, "295147905179352830000"),
    ],
)
def test_numbers_follow_ecmascript(value: float, text: str) -> None:
    assert canonical_json(value) == text


def test_objects_sort_keys_and_escape_like_json_stringify() -> None:
    value = {"b": [True, None, 1], "a": 'é\n"<\x01', "€": 1, "\U0001f600": 2, "\ufb33": 3}
    # Keys sort by UTF-16 code units: the emoji (a surrogate pair, 0xD83D) before U+FB33.
    expected = '{"a":"é\\n\\"<\\u0001","b":[true,null,1],"€":1,"\U0001f600":2,"\ufb33":3}'
    assert canonical_json(value) == expected
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_evidence_hash_is_a_function_of_the_inputs_only(tmp_path: Path) -> None:
    data = session_data(5)
    first = write_session_report(
        data, tmp_path / "a.pdf", now=datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    )
    second = write_session_report(data, tmp_path / "b.pdf", report_id="SES-fixed")
    assert first.report_id != second.report_id
    assert (
        first.evidence_sha256
        == second.evidence_sha256
        == evidence_sha256(evidence_of("session_report", data))
    )
    assert first.generated_at == datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    assert second.report_id == "SES-fixed"

    changed = session_data(5)
    changed.roster[0].events.clear()  # one flag fewer
    assert evidence_sha256(evidence_of("session_report", changed)) != first.evidence_sha256


def test_sidecar_evidence_rehashes_after_a_json_round_trip(tmp_path: Path) -> None:
    info = write_session_report(session_data(3), tmp_path / "s.pdf")
    sidecar = json.loads(info.sidecar_path.read_text("utf-8"))
    # The pretty-printed sidecar keeps every figure exact: canonicalising it again gives the hash.
    text = canonical_json(sidecar["evidence"])
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == info.evidence_sha256
    assert sidecar["evidence"]["kind"] == "session_report"
    assert sidecar["evidence"]["inputs"]["roster"][0]["roll_no"] == "R-1000"
    assert "RFC 8785" in sidecar["evidence_covers"]
