"""The student's side: join page, join info and the WebRTC offer. The token is the credential."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiortc import RTCSessionDescription

from server.api.access import STUDENT, role
from server.api.context import DATABASE, ID_PHOTOS, SETTINGS, STREAMS
from server.api.errors import ApiError
from server.api.uploads import request_form
from server.config import Settings
from server.exam_sessions import signer_for
from server.store import sessions, students
from server.tokens import JoinClaims

routes = web.RouteTableDef()


async def admitted(request: web.Request) -> JoinClaims:
    """The claims of the request's join token, for an open session whose roster has the student."""
    claims = signer_for(request.app[SETTINGS]).verify(request.match_info["token"])
    db = request.app[DATABASE]
    record = await asyncio.to_thread(sessions.get_session, db, claims.session_id)
    if record.status != "open":
        raise ApiError("SESSION_CLOSED", "this exam session is closed")
    if claims.roll_no not in record.roster:
        raise ApiError("FORBIDDEN", "this student is not on the session's roster")
    return claims


def camera_constraints(settings: Settings) -> dict[str, float]:
    """What the page asks the camera for: the analysis needs no more (see `analysis_fps`)."""
    return {
        "width": settings.camera_width,
        "height": settings.camera_height,
        "frame_rate": settings.camera_fps,
    }


@routes.get("/join/{token}")
@role(STUDENT)
async def join_page(request: web.Request) -> web.StreamResponse:
    try:
        await admitted(request)
    except ApiError as error:
        return web.Response(
            status=403,
            content_type="text/html",
            text=f"<!doctype html><title>invigilator</title><h1>This join link cannot be used</h1>"
            f"<p>{error.message}. Ask your invigilator for a new link.</p>",
        )
    page = request.app[SETTINGS].web_dir / "student" / "index.html"
    return web.FileResponse(page, headers={"Cache-Control": "no-store"})


@routes.get("/api/join/{token}")
@role(STUDENT)
async def join_info(request: web.Request) -> web.Response:
    claims = await admitted(request)
    db = request.app[DATABASE]
    record = await asyncio.to_thread(sessions.get_session, db, claims.session_id)
    student = await asyncio.to_thread(students.get_student, db, claims.roll_no)
    monitor = request.app[STREAMS].monitors.get((claims.session_id, claims.roll_no))
    return web.json_response(
        {
            "session": {"id": record.id, "name": record.name},
            "student": {"roll_no": student.roll_no, "name": student.name},
            "state": monitor.state if monitor else "not_joined",
            "expires_at": claims.expires_at.isoformat(),
            "camera": camera_constraints(request.app[SETTINGS]),
        }
    )


@routes.post("/api/join/{token}/offer")
@role(STUDENT)
async def offer(request: web.Request) -> web.Response:
    """SDP offer in, SDP answer out; the same token reconnects to the same student state."""
    claims = await admitted(request)
    try:
        body = await request.json()
        description = RTCSessionDescription(sdp=str(body["sdp"]), type=str(body["type"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError("VALIDATION_ERROR", 'send JSON {"sdp": ..., "type": "offer"}') from exc
    if description.type != "offer":
        raise ApiError("VALIDATION_ERROR", "the description must be an offer")
    if not description.sdp.startswith("v=0") or "\nm=video " not in description.sdp:
        raise ApiError("VALIDATION_ERROR", "the offer must be SDP with a video stream")
    try:
        answer = await request.app[STREAMS].connect(claims, description)
    except (ValueError, AttributeError, IndexError) as exc:
        # aiortc's SDP parser and transceiver setup reject malformed offers with these.
        raise ApiError("VALIDATION_ERROR", f"the offer was not understood: {exc}") from exc
    return web.json_response({"sdp": answer.sdp, "type": answer.type})


@routes.post("/api/join/{token}/id-photo")
@role(STUDENT)
async def id_photo(request: web.Request) -> web.Response:
    """The student's ID photo: checked and stored; the student only learns it was received."""
    claims = await admitted(request)
    async with request_form(request) as form:
        photo = form.image("photo")
        await request.app[ID_PHOTOS].submit(claims.session_id, claims.roll_no, photo.read())
    return web.json_response({"status": "received"}, status=202)
