"""PDF audit reports, made on request from what the service stored."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.api.access import INVIGILATOR, role
from server.api.context import REPORTS

routes = web.RouteTableDef()


def _pdf(path: object) -> web.FileResponse:
    return web.FileResponse(
        path,  # type: ignore[arg-type]
        headers={"Content-Type": "application/pdf", "Cache-Control": "no-store"},
    )


@routes.get("/api/sessions/{session_id}/report.pdf")
@role(INVIGILATOR)
async def session_report(request: web.Request) -> web.FileResponse:
    path = await asyncio.to_thread(
        request.app[REPORTS].session_report, request.match_info["session_id"]
    )
    return _pdf(path)


@routes.get("/api/sessions/{session_id}/students/{roll_no}/report.pdf")
@role(INVIGILATOR)
async def student_report(request: web.Request) -> web.FileResponse:
    path = await asyncio.to_thread(
        request.app[REPORTS].student_report,
        request.match_info["session_id"],
        request.match_info["roll_no"],
    )
    return _pdf(path)
