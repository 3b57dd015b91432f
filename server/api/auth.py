"""Log in, log out, and who am I (with the CSRF token the pages echo)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.api.access import COOKIES, INVIGILATOR, PUBLIC, USER, role
from server.api.context import DATABASE
from server.api.errors import ApiError
from server.auth import COOKIE, SESSION_SECONDS, LoginThrottle, check_password
from server.store import users

routes = web.RouteTableDef()
THROTTLE = web.AppKey("throttle", LoginThrottle)


async def _credentials(request: web.Request) -> tuple[str, str]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError("VALIDATION_ERROR", "the body must be JSON") from exc
    else:
        body = dict(await request.post())
    if not isinstance(body, dict):
        raise ApiError("VALIDATION_ERROR", "send username and password")
    return str(body.get("username") or "").strip(), str(body.get("password") or "")


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"


@routes.post("/api/login")
@role(PUBLIC)
async def login(request: web.Request) -> web.Response:
    username, password = await _credentials(request)
    throttle = request.app[THROTTLE]
    keys = (f"ip:{request.remote}", f"user:{username.lower()}")
    if throttle.blocked(*keys):
        raise ApiError("TOO_MANY_ATTEMPTS", "too many failed logins; wait a few minutes")
    record = await asyncio.to_thread(users.find_user, request.app[DATABASE], username)
    ok = await asyncio.to_thread(check_password, record.password_hash if record else None, password)
    if record is None or not ok:
        throttle.failed(*keys)
        raise ApiError("UNAUTHORIZED", "wrong username or password")
    throttle.succeeded(*keys)
    cookies = request.app[COOKIES]
    session = cookies.issue(record.username, record.role)
    response = web.json_response(
        {"username": session.username, "role": session.role, "csrf": session.csrf}
    )
    response.set_cookie(
        COOKIE,
        cookies.encode(session),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
        path="/",
    )
    return response


@routes.post("/api/logout")
@role(INVIGILATOR)
async def logout(_request: web.Request) -> web.Response:
    response = web.json_response({"logged_out": True})
    response.del_cookie(COOKIE, path="/")
    return response


@routes.get("/api/me")
@role(INVIGILATOR)
async def me(request: web.Request) -> web.Response:
    session = request[USER]
    return web.json_response(
        {"username": session.username, "role": session.role, "csrf": session.csrf}
    )
