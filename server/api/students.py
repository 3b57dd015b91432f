"""Students: enrol, list, get, update, delete, baseline photo and 1:1 verification."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.api.access import ADMIN, INVIGILATOR, role
from server.api.context import ENROLMENT
from server.api.uploads import request_form
from server.store import students

routes = web.RouteTableDef()


@routes.post("/api/students")
@role(ADMIN)
async def create_student(request: web.Request) -> web.Response:
    async with request_form(request) as form:
        photo = form.image("photo")
        record = await request.app[ENROLMENT].enrol(
            form.text("roll_no"), form.text("name"), photo.read()
        )
    return web.json_response(record.to_dict(), status=201)


@routes.get("/api/students")
@role(INVIGILATOR)
async def list_students(request: web.Request) -> web.Response:
    enrolment = request.app[ENROLMENT]
    records = await asyncio.to_thread(students.list_students, enrolment.db)
    return web.json_response({"students": [r.to_dict() for r in records]})


@routes.get("/api/students/{roll_no}")
@role(INVIGILATOR)
async def get_student(request: web.Request) -> web.Response:
    enrolment = request.app[ENROLMENT]
    record = await asyncio.to_thread(
        students.get_student, enrolment.db, request.match_info["roll_no"]
    )
    return web.json_response(record.to_dict())


@routes.get("/api/students/{roll_no}/photo")
@role(INVIGILATOR)
async def get_photo(request: web.Request) -> web.FileResponse:
    enrolment = request.app[ENROLMENT]
    record = await asyncio.to_thread(
        students.get_student, enrolment.db, request.match_info["roll_no"]
    )
    return web.FileResponse(
        enrolment.photos.path(record.photo_file), headers={"Cache-Control": "no-store"}
    )


@routes.patch("/api/students/{roll_no}")
@role(ADMIN)
async def update_student(request: web.Request) -> web.Response:
    async with request_form(request) as form:
        photo = form.optional_image("photo")
        record = await request.app[ENROLMENT].update(
            request.match_info["roll_no"],
            form.optional_text("name"),
            photo.read() if photo else None,
        )
    return web.json_response(record.to_dict())


@routes.delete("/api/students/{roll_no}")
@role(ADMIN)
async def delete_student(request: web.Request) -> web.Response:
    await request.app[ENROLMENT].delete(request.match_info["roll_no"])
    return web.Response(status=204)


@routes.post("/api/students/{roll_no}/verify")
@role(INVIGILATOR)
async def verify_student(request: web.Request) -> web.Response:
    async with request_form(request) as form:
        photo = form.image("photo")
        result, portrait = await request.app[ENROLMENT].verify(
            request.match_info["roll_no"], photo.read()
        )
    return web.json_response(
        {
            "roll_no": request.match_info["roll_no"],
            **result.to_dict(),
            "box": portrait.box.to_dict(),
        }
    )
