"""Who may call what: every handler declares a role; one middleware enforces it.

Roles: public; student (the handler checks the signed join token itself); invigilator;
admin (admins may do everything invigilators may). Cookie-authenticated requests that change
state must echo the session's CSRF token in the X-CSRF-Token header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from server.api.errors import ApiError
from server.auth import COOKIE, LoginSession, SessionCookies

PUBLIC, STUDENT, INVIGILATOR, ADMIN = "public", "student", "invigilator", "admin"
RANK = {INVIGILATOR: 1, ADMIN: 2}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
COOKIES = web.AppKey("cookies", SessionCookies)
USER = web.RequestKey("user", LoginSession)

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


def role(required: str) -> Callable[[H], H]:
    """Declare the role a handler needs."""

    def mark(handler: H) -> H:
        handler.required_role = required  # type: ignore[attr-defined]
        return handler

    return mark


def required_role(request: web.Request) -> str | None:
    handler = request.match_info.handler
    declared = getattr(handler, "required_role", None)
    if declared is None and isinstance(request.match_info.route.resource, web.StaticResource):
        return PUBLIC  # the static front-end: code and styles, no data
    return declared


def logged_in(request: web.Request) -> LoginSession | None:
    return request.app[COOKIES].decode(request.cookies.get(COOKIE))


@web.middleware
async def access_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        return await handler(request)  # 404/405: nothing to protect
    needed = required_role(request)
    if needed is None:
        raise ApiError("FORBIDDEN", "this endpoint declares no role")  # fail closed
    if needed in (PUBLIC, STUDENT):
        return await handler(request)
    session = logged_in(request)
    if session is None:
        if request.method in SAFE_METHODS and not request.path.startswith(("/api/", "/ws")):
            raise web.HTTPFound(f"/login?next={request.path_qs}")
        raise ApiError("UNAUTHORIZED", "log in as an invigilator or administrator")
    if RANK.get(session.role, 0) < RANK[needed]:
        raise ApiError("FORBIDDEN", f"this needs the {needed} role")
    if request.method not in SAFE_METHODS and request.headers.get("X-CSRF-Token") != session.csrf:
        raise ApiError("CSRF_FAILED", "missing or wrong X-CSRF-Token header")
    request[USER] = session
    return await handler(request)
