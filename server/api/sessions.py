"""Exam sessions: create with a roster, list, links, close; attendance and events of a session."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web

from server.api.access import INVIGILATOR, role
from server.api.context import DATABASE, SETTINGS, STREAMS
from server.api.errors import ApiError
from server.exam_sessions import create_session, join_links, parse_roster
from server.store import sessions

routes = web.RouteTableDef()


def _base_url(request: web.Request) -> str:
    return str(request.url.origin())


def _time(value: object, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ApiError("VALIDATION_ERROR", f"{field} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise ApiError("VALIDATION_ERROR", f"{field} needs a UTC offset, e.g. +00:00")
    return parsed


async def read_json(request: web.Request) -> dict[str, object]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError("VALIDATION_ERROR", "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise ApiError("VALIDATION_ERROR", "the body must be a JSON object")
    return body


@routes.post("/api/sessions")
@role(INVIGILATOR)
async def create(request: web.Request) -> web.Response:
    """JSON {name, roll_nos: [...] | roster: "csv text", starts_at?, ends_at?}."""
    body = await read_json(request)
    roll_nos = body.get("roll_nos")
    if roll_nos is None and isinstance(body.get("roster"), str):
        roll_nos = parse_roster(str(body["roster"]))
    if not isinstance(roll_nos, list) or not all(isinstance(r, str) for r in roll_nos):
        raise ApiError("VALIDATION_ERROR", "roll_nos must be a list of roll numbers")
    created = await asyncio.to_thread(
        create_session,
        request.app[SETTINGS],
        request.app[DATABASE],
        str(body.get("name") or ""),
        roll_nos,
        _base_url(request),
        _time(body.get("starts_at"), "starts_at"),
        _time(body.get("ends_at"), "ends_at"),
    )
    return web.json_response(created.to_dict(), status=201)


@routes.get("/api/sessions")
@role(INVIGILATOR)
async def list_all(request: web.Request) -> web.Response:
    records = await asyncio.to_thread(sessions.list_sessions, request.app[DATABASE])
    return web.json_response({"sessions": [r.to_dict() for r in records]})


@routes.get("/api/sessions/{session_id}")
@role(INVIGILATOR)
async def get_one(request: web.Request) -> web.Response:
    record = await asyncio.to_thread(
        sessions.get_session, request.app[DATABASE], request.match_info["session_id"]
    )
    return web.json_response(record.to_dict())


@routes.get("/api/sessions/{session_id}/links")
@role(INVIGILATOR)
async def links(request: web.Request) -> web.Response:
    record = await asyncio.to_thread(
        sessions.get_session, request.app[DATABASE], request.match_info["session_id"]
    )
    found = join_links(request.app[SETTINGS], record, _base_url(request))
    return web.json_response({"session_id": record.id, "links": found})


@routes.post("/api/sessions/{session_id}/close")
@role(INVIGILATOR)
async def close(request: web.Request) -> web.Response:
    record = await asyncio.to_thread(
        sessions.set_status, request.app[DATABASE], request.match_info["session_id"], "closed"
    )
    await request.app[STREAMS].close_session(record.id)
    return web.json_response(record.to_dict())


@routes.get("/api/sessions/{session_id}/attendance")
@role(INVIGILATOR)
async def attendance(request: web.Request) -> web.Response:
    rows = await asyncio.to_thread(
        sessions.list_attendance, request.app[DATABASE], request.match_info["session_id"]
    )
    return web.json_response(
        {
            "attendance": [
                {
                    "roll_no": r.roll_no,
                    "name": r.name,
                    "verified_at": r.verified_at.isoformat(),
                    "method": r.method,
                    "match_distance": r.match_distance,
                }
                for r in rows
            ]
        }
    )


@routes.get("/api/sessions/{session_id}/students/{roll_no}/events")
@role(INVIGILATOR)
async def student_events(request: web.Request) -> web.Response:
    rows = await asyncio.to_thread(
        sessions.list_events,
        request.app[DATABASE],
        request.match_info["session_id"],
        request.match_info["roll_no"],
    )
    return web.json_response({"events": [r.to_dict() for r in rows]})


@routes.get("/api/events/{event_id}/snapshot")
@role(INVIGILATOR)
async def snapshot(request: web.Request) -> web.FileResponse:
    try:
        event_id = int(request.match_info["event_id"])
    except ValueError as exc:
        raise ApiError("NOT_FOUND", "no such event") from exc
    event = await asyncio.to_thread(sessions.get_event, request.app[DATABASE], event_id)
    if not event.snapshot_file:
        raise ApiError("NOT_FOUND", "this event has no snapshot")
    path = request.app[SETTINGS].data_dir / "snapshots" / event.snapshot_file
    return web.FileResponse(path, headers={"Cache-Control": "no-store"})
