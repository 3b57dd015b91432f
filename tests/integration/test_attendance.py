"""Manual attendance, ledger exports and `invigilator ledger` on real files."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient

from server.config import Settings
from tests.integration.test_students_api import enrol


async def _session(client: TestClient, deepface_dir: Path) -> str:
    for roll, photo in (("M1", "img1.jpg"), ("M2", "img3.jpg"), ("M3", "img5.jpg")):
        assert (await enrol(client, roll, f"Student {roll}", deepface_dir / photo)).status == 201
    response = await client.post("/api/sessions", json={"name": "Manual", "roll_nos": ["M1", "M2"]})
    return (await response.json())["session_id"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, timeout=120
    )


async def test_manual_entries_and_exports(
    client: TestClient, deepface_dir: Path, settings: Settings
) -> None:
    session_id = await _session(client, deepface_dir)
    url = f"/api/sessions/{session_id}/attendance"
    first = await client.post(
        url, json={"roll_no": "M1", "reason": "camera broken", "recorded_by": "inv1"}
    )
    assert first.status == 201
    row = (await first.json())["row"]
    assert row["method"] == "manual" and row["recorded_by"] == "admin"  # the logged-in user
    again = await client.post(url, json={"roll_no": "M1", "reason": "again", "recorded_by": "inv2"})
    assert (await again.json())["row"]["row_hash"] == row["row_hash"]  # one row per day
    off_roster = await client.post(url, json={"roll_no": "M3", "reason": "x"})
    assert off_roster.status == 409
    no_reason = await client.post(url, json={"roll_no": "M2", "reason": " "})
    assert no_reason.status == 400
    injected = await client.post(url, json={"roll_no": "M2", "reason": '=HYPERLINK("http://x")'})
    assert injected.status == 201

    export = await client.get("/api/attendance?format=csv")
    rows = list(csv.DictReader(io.StringIO((await export.read()).decode())))
    assert [r["roll_no"] for r in rows] == ["M1", "M2"]
    assert rows[1]["reason"].startswith("'=")  # neutralised against formula injection
    attendance = await (await client.get(f"/api/sessions/{session_id}/attendance")).json()
    assert {a["roll_no"] for a in attendance["attendance"]} == {"M1", "M2"}
    state = await (await client.get("/api/ledger")).json()
    assert state["ok"] is True and len(state["chain_head"]) == 64
    bad = await client.get("/api/attendance?from=yesterday")
    assert bad.status == 400

    # The same ledger through the command line, then tampered with.
    data_dir = str(settings.data_dir)
    verified = cli("ledger", "verify", "--data-dir", data_dir)
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stdout
    day_file = next(settings.data_dir.glob("attendance_*.csv"))
    day_file.write_text(day_file.read_text().replace("Student M1", "Student MX"))
    broken = cli("ledger", "verify", "--data-dir", data_dir)
    assert broken.returncode == 1 and "edited" in broken.stdout, broken.stdout
