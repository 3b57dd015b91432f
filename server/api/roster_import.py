"""Roster import: a CSV of roll_no,name,photo and the photos it names, enrolled row by row."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import PurePath
from typing import Any

from aiohttp import web

from server.analysis.errors import AnalysisError
from server.api.access import ADMIN, role
from server.api.context import ENROLMENT, SETTINGS
from server.api.errors import ApiError
from server.api.uploads import Form, UploadedFile, request_form, require_image
from server.store.errors import StoreError

routes = web.RouteTableDef()

COLUMNS = ("roll_no", "name", "photo")
MAX_ROWS = 5000


def roster_rows(form: Form) -> list[dict[str, str]]:
    """The CSV's rows, from the `roster` file (or a pasted `roster` text field)."""
    uploads = form.files.get("roster")
    if uploads:
        try:
            text = uploads[0].read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ApiError("VALIDATION_ERROR", "the roster must be a UTF-8 CSV file") from exc
    else:
        text = form.fields.get("roster", "")
    if not text.strip():
        raise ApiError("NO_FILE", "send the roster CSV in the field 'roster'")
    reader = csv.DictReader(io.StringIO(text))
    header = {(name or "").strip() for name in reader.fieldnames or []}
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ApiError(
            "VALIDATION_ERROR",
            f"the roster needs the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}",
        )
    rows = [
        {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        for row in reader
    ]
    rows = [row for row in rows if any(row.values())]
    if not rows:
        raise ApiError("VALIDATION_ERROR", "the roster has no rows")
    if len(rows) > MAX_ROWS:
        raise ApiError("VALIDATION_ERROR", f"a roster may have at most {MAX_ROWS} rows")
    return rows


def _by_name(uploads: list[UploadedFile]) -> dict[str, UploadedFile]:
    """Uploaded photos by their base name (browsers send base names; some tools send paths)."""
    found: dict[str, UploadedFile] = {}
    for upload in uploads:
        found.setdefault(PurePath(upload.filename.replace("\\", "/")).name, upload)
    return found


@routes.post("/api/students/import")
@role(ADMIN)
async def import_roster(request: web.Request) -> web.Response:
    """Multipart `roster` (CSV roll_no,name,photo) + `photos` (files) -> one result per row."""
    enrolment = request.app[ENROLMENT]
    limit = asyncio.Semaphore(max(1, request.app[SETTINGS].workers))
    async with request_form(request) as form:
        rows = roster_rows(form)
        photos = _by_name(form.files.get("photos", []))

        async def enrol(line: int, row: dict[str, str]) -> dict[str, Any]:
            result: dict[str, Any] = {
                "line": line,
                "roll_no": row.get("roll_no", ""),
                "name": row.get("name", ""),
                "photo": row.get("photo", ""),
            }
            upload = photos.get(PurePath(row.get("photo", "")).name) if row.get("photo") else None
            if upload is None:
                message = f"no uploaded photo named {row.get('photo', '')!r}"
                return {**result, "ok": False, "code": "PHOTO_NOT_FOUND", "message": message}
            try:
                async with limit:
                    record = await enrolment.enrol(
                        row.get("roll_no", ""), row.get("name", ""), require_image(upload).read()
                    )
            except (ApiError, AnalysisError, StoreError) as exc:
                return {**result, "ok": False, "code": exc.code, "message": exc.message}
            return {**result, "ok": True, "student": record.to_dict()}

        # Line numbers count the header as line 1, as a spreadsheet shows them.
        results = await asyncio.gather(*(enrol(i, row) for i, row in enumerate(rows, start=2)))
    enrolled = sum(1 for r in results if r["ok"])
    return web.json_response(
        {"enrolled": enrolled, "failed": len(results) - enrolled, "results": results}
    )
