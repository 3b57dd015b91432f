"""The invigilator's live view: roster states, a WebSocket of changes, thumbnails, reviews."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import time
from typing import Any

from aiohttp import WSMsgType, web

from server.analysis.images import encode_jpeg
from server.api.access import INVIGILATOR, USER, role
from server.api.context import BUS, DATABASE, SETTINGS, STREAMS
from server.api.errors import ApiError
from server.api.sessions import read_json
from server.exam_sessions import join_links
from server.flags import is_flag, review_priority, settled_status
from server.store import id_checks, reviews, sessions, students

routes = web.RouteTableDef()

THUMBNAIL_WIDTH = 240
HEARTBEAT = 20.0


def _roster_states(request: web.Request, session_id: str) -> list[dict[str, Any]]:
    """Every student on the roster with live state, flags, priority and review (blocking)."""
    db = request.app[DATABASE]
    record = sessions.get_session(db, session_id)
    names = {s.roll_no: s.name for s in students.find_students(db, record.roster).values()}
    monitors = request.app[STREAMS].students_of(session_id)
    attended = {a.roll_no for a in sessions.list_attendance(db, session_id)}
    events = sessions.list_events(db, session_id)
    review_map = reviews.reviews_of(db, session_id)
    checks = {c.roll_no: c for c in id_checks.list_id_checks(db, session_id)}
    rows = []
    for roll_no in record.roster:
        own = [e for e in events if e.roll_no == roll_no]
        monitor = monitors.get(roll_no)
        summary = monitor.summary() if monitor else {"state": "not_joined", "step": 0, "steps": 0}
        flags = [e for e in own if is_flag(e)]
        state = _state(summary["state"], roll_no in attended, own)
        review = review_map.get(roll_no)
        check = checks.get(roll_no)
        rows.append(
            {
                "roll_no": roll_no,
                "name": names.get(roll_no, ""),
                "state": state,
                "connection": monitor.connection if monitor else "not_joined",
                "step": summary.get("step", 0),
                "steps": summary.get("steps", 0),
                "verified": roll_no in attended,
                "flags": len(flags),
                "last_event": own[-1].to_dict() if own else None,
                "priority": review_priority(own),
                "reviewed": bool(review and review.reviewed),
                "id_check": check.verdict if check else None,
                "thumbnail_url": f"/api/sessions/{session_id}/students/{roll_no}/thumbnail.jpg",
            }
        )
    return rows


def _state(live: str, verified: bool, events: list[sessions.EventRecord]) -> str:
    """The live state; a verified student shows flagged when there are flags (one rule)."""
    if live == "verified" or (live == "not_joined" and verified):
        return settled_status(True, events)
    return live


@routes.get("/api/sessions/{session_id}/students")
@role(INVIGILATOR)
async def roster(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    rows = await asyncio.to_thread(_roster_states, request, session_id)
    return web.json_response({"session_id": session_id, "students": rows})


@routes.get("/api/sessions/{session_id}/live")
@role(INVIGILATOR)
async def live(request: web.Request) -> web.WebSocketResponse:
    """A WebSocket: the roster at once, then every status change and alert as it happens."""
    session_id = request.match_info["session_id"]
    await asyncio.to_thread(sessions.get_session, request.app[DATABASE], session_id)
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT)
    await socket.prepare(request)
    async with request.app[BUS].subscribe(f"session:{session_id}") as queue:
        rows = await asyncio.to_thread(_roster_states, request, session_id)
        await socket.send_json({"type": "roster", "students": rows})
        reader = asyncio.create_task(_drain(socket))
        try:
            while not socket.closed:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                message = getter.result()
                # sent_at lets the page (and its tests) measure event-to-screen latency.
                await socket.send_json(
                    {"type": "update", "sent_at": time.time(), **_jsonable(message)}
                )
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    return socket


async def _drain(socket: web.WebSocketResponse) -> None:
    """Read (and ignore) what the page sends, so a close is noticed at once."""
    async for message in socket:
        if message.type == WSMsgType.ERROR:
            break


def _jsonable(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "topic"}


@routes.get("/api/sessions/{session_id}/students/{roll_no}/thumbnail.jpg")
@role(INVIGILATOR)
async def thumbnail(request: web.Request) -> web.Response:
    """The newest frame of a connected student, small (refreshed by the page about every second)."""
    key = (request.match_info["session_id"], request.match_info["roll_no"])
    monitor = request.app[STREAMS].monitors.get(key)
    if monitor is None or monitor.latest_frame is None or monitor.connection != "connected":
        raise ApiError("NOT_FOUND", "no live picture of this student")
    frame = monitor.latest_frame

    def encode() -> bytes:
        return encode_jpeg(frame.small_bgr(THUMBNAIL_WIDTH), 75)

    data = await asyncio.to_thread(encode)
    return web.Response(body=data, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


@routes.get("/api/sessions/{session_id}/students/{roll_no}/timeline")
@role(INVIGILATOR)
async def timeline(request: web.Request) -> web.Response:
    """The last minute of EAR/MAR/yaw of a connected student (for the sparkline)."""
    key = (request.match_info["session_id"], request.match_info["roll_no"])
    monitor = request.app[STREAMS].monitors.get(key)
    samples = list(monitor.timeline)[-900:] if monitor else []
    origin = samples[-1][0] if samples else 0.0
    return web.json_response(
        {"samples": [[round(t - origin, 2), ear, mar, yaw] for t, ear, mar, yaw in samples]}
    )


@routes.post("/api/sessions/{session_id}/students/{roll_no}/review")
@role(INVIGILATOR)
async def review(request: web.Request) -> web.Response:
    """JSON {reviewed?: bool, note?: str} by the logged-in invigilator."""
    body = await read_json(request)
    reviewed = body.get("reviewed")
    if reviewed is not None and not isinstance(reviewed, bool):
        raise ApiError("VALIDATION_ERROR", "reviewed must be true or false")
    record = await asyncio.to_thread(
        reviews.update_review,
        request.app[DATABASE],
        request.match_info["session_id"],
        request.match_info["roll_no"],
        request[USER].username,
        reviewed,
        str(body["note"]) if body.get("note") else None,
    )
    request.app[BUS].publish(
        f"session:{request.match_info['session_id']}",
        {"kind": "review", "roll_no": record.roll_no, **record.to_dict()},
    )
    return web.json_response(record.to_dict())


@routes.get("/api/sessions/{session_id}/students/{roll_no}/review")
@role(INVIGILATOR)
async def get_review(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(
        reviews.reviews_of, request.app[DATABASE], request.match_info["session_id"]
    )
    record = found.get(request.match_info["roll_no"])
    empty = {"roll_no": request.match_info["roll_no"], "reviewed": False, "notes": []}
    return web.json_response(record.to_dict() if record else empty)


@routes.get("/api/sessions/{session_id}/links.csv")
@role(INVIGILATOR)
async def links_csv(request: web.Request) -> web.Response:
    """roll_no,name,link for mailing."""
    db = request.app[DATABASE]
    record = await asyncio.to_thread(sessions.get_session, db, request.match_info["session_id"])
    found = await asyncio.to_thread(students.find_students, db, record.roster)
    links = join_links(request.app[SETTINGS], record, str(request.url.origin()))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["roll_no", "name", "link"])
    for roll_no, link in links.items():
        writer.writerow([roll_no, found[roll_no].name if roll_no in found else "", link])
    return web.Response(
        text=buffer.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="links-{record.id}.csv"'},
    )


@routes.post("/api/sessions/{session_id}/open")
@role(INVIGILATOR)
async def reopen(request: web.Request) -> web.Response:
    record = await asyncio.to_thread(
        sessions.set_status, request.app[DATABASE], request.match_info["session_id"], "open"
    )
    return web.json_response(record.to_dict())
