"""Reading ID-photo checks: the report, the submitted photo and the heatmaps."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.api.access import INVIGILATOR, role
from server.api.context import DATABASE, SETTINGS
from server.api.errors import ApiError
from server.store import id_checks
from server.store.id_checks import IdCheckRecord

routes = web.RouteTableDef()


async def _record(request: web.Request) -> IdCheckRecord:
    try:
        check_id = int(request.match_info["check_id"])
    except ValueError as exc:
        raise ApiError("NOT_FOUND", "no such ID check") from exc
    return await asyncio.to_thread(id_checks.get_id_check, request.app[DATABASE], check_id)


def _file(request: web.Request, name: str) -> web.FileResponse:
    path = request.app[SETTINGS].id_checks_dir / name
    return web.FileResponse(path, headers={"Cache-Control": "no-store"})


@routes.get("/api/id-checks/{check_id}")
@role(INVIGILATOR)
async def get_check(request: web.Request) -> web.Response:
    record = await _record(request)
    return web.json_response({**record.to_dict(), "report": record.report})


@routes.get("/api/id-checks/{check_id}/photo")
@role(INVIGILATOR)
async def get_photo(request: web.Request) -> web.FileResponse:
    return _file(request, (await _record(request)).photo_file)


@routes.get("/api/id-checks/{check_id}/heatmaps/{name}.png")
@role(INVIGILATOR)
async def get_heatmap(request: web.Request) -> web.FileResponse:
    record = await _record(request)
    name = record.heatmap_files.get(request.match_info["name"])
    if name is None:
        raise ApiError("NOT_FOUND", "no such heatmap")
    return _file(request, name)


@routes.get("/api/sessions/{session_id}/id-checks")
@role(INVIGILATOR)
async def session_checks(request: web.Request) -> web.Response:
    records = await asyncio.to_thread(
        id_checks.list_id_checks, request.app[DATABASE], request.match_info["session_id"]
    )
    return web.json_response({"id_checks": [r.to_dict() for r in records]})
