"""Attendance: manual entries, ledger exports and the ledger's integrity check."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import date

from aiohttp import web

from server.api.access import ADMIN, INVIGILATOR, USER, role
from server.api.context import ATTENDANCE
from server.api.errors import ApiError
from server.api.sessions import read_json

routes = web.RouteTableDef()


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError("VALIDATION_ERROR", f"{name} must be a date like 2026-11-22") from exc


@routes.post("/api/sessions/{session_id}/attendance")
@role(INVIGILATOR)
async def manual_entry(request: web.Request) -> web.Response:
    """JSON {roll_no, reason}: a student recorded by hand by the logged-in invigilator."""
    body = await read_json(request)
    row = await asyncio.to_thread(
        request.app[ATTENDANCE].manual,
        request.match_info["session_id"],
        str(body.get("roll_no") or ""),
        str(body.get("reason") or ""),
        request[USER].username,
    )
    return web.json_response({"recorded": True, "row": asdict(row) if row else None}, status=201)


@routes.get("/api/attendance")
@role(INVIGILATOR)
async def export(request: web.Request) -> web.Response:
    """?from=DATE&to=DATE&format=csv|pdf: the ledger rows of those days."""
    start = _day(request.query.get("from"), "from")
    end = _day(request.query.get("to"), "to")
    chosen = request.query.get("format", "csv")
    ledger = request.app[ATTENDANCE].ledger
    if chosen == "csv":
        data = await asyncio.to_thread(ledger.export_csv, start, end)
        return web.Response(
            body=data,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="attendance.csv"'},
        )
    if chosen == "pdf":
        from server.report_builder import attendance_sheet_pdf

        data = await asyncio.to_thread(attendance_sheet_pdf, ledger, start, end)
        return web.Response(
            body=data,
            content_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="attendance.pdf"'},
        )
    raise ApiError("VALIDATION_ERROR", "format must be csv or pdf")


@routes.get("/api/ledger")
@role(ADMIN)
async def ledger_state(request: web.Request) -> web.Response:
    """The ledger's days, its chain head and whether the chain verifies."""
    ledger = request.app[ATTENDANCE].ledger
    result = await asyncio.to_thread(ledger.verify)
    days = await asyncio.to_thread(ledger.days)
    return web.json_response(
        {
            "days": [d.isoformat() for d in days],
            "chain_head": result.head,
            "ok": result.ok,
            "verify": str(result),
        }
    )
