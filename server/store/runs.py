"""Each student's verification run on disk: signals, prompts, detections, and two stills.

The EAR/MAR timeline and the live stills are evidence for the audit report; they are kept per
session and student and deleted with the student.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


class RunStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _base(self, session_id: str, roll_no: str) -> Path:
        if not (_SAFE.match(session_id) and _SAFE.match(roll_no)):
            raise ValueError("unsafe session id or roll number")
        return self.directory / session_id / roll_no

    def save(
        self, session_id: str, roll_no: str, run: dict[str, Any], stills: dict[str, bytes]
    ) -> None:
        """Replace the run's files atomically (temp file + rename each)."""
        base = self._base(session_id, roll_no)
        base.parent.mkdir(parents=True, exist_ok=True)
        files = {".json": json.dumps(run).encode(), **{f"_{k}": v for k, v in stills.items()}}
        for suffix, data in files.items():
            target = base.with_name(base.name + suffix)
            temp = target.with_name(f".{target.name}.tmp")
            temp.write_bytes(data)
            os.replace(temp, target)

    def load(self, session_id: str, roll_no: str) -> tuple[dict[str, Any] | None, dict[str, bytes]]:
        base = self._base(session_id, roll_no)
        run_file = base.with_name(base.name + ".json")
        run = json.loads(run_file.read_text()) if run_file.exists() else None
        stills = (
            {
                p.name[len(base.name) + 1 :]: p.read_bytes()
                for p in base.parent.glob(f"{base.name}_*")
                if p.is_file()
            }
            if base.parent.exists()
            else {}
        )
        return run, stills

    def delete_student(self, roll_no: str) -> None:
        if not _SAFE.match(roll_no) or not self.directory.exists():
            return
        for session_dir in self.directory.iterdir():
            for path in session_dir.glob(f"{roll_no}*"):
                if path.name == f"{roll_no}.json" or path.name.startswith(f"{roll_no}_"):
                    path.unlink(missing_ok=True)
