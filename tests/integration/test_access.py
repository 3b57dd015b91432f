"""Every endpoint x every kind of caller gets exactly the access its declared role allows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.api.access import ADMIN, INVIGILATOR, PUBLIC, STUDENT
from server.config import Settings
from server.exam_sessions import signer_for
from server.streams.frame_workers import FramePool
from server.tokens import JoinClaims
from server.workers import AnalysisPool
from tests.conftest import ADMIN_PASSWORD, add_account, served
from tests.integration.test_students_api import enrol

CALLERS = ("anonymous", "other_student", "own_student", "invigilator", "admin")
ALLOWED = {
    PUBLIC: set(CALLERS),
    STUDENT: {"other_student", "own_student"},  # any genuine token reaches its own student
    INVIGILATOR: {"invigilator", "admin"},
    ADMIN: {"admin"},
}


def routes_of(app: web.Application) -> list[tuple[str, str, str]]:
    """(method, path template, declared role) of every route but HEAD and static files."""
    found = []
    for route in app.router.routes():
        if route.method == "HEAD" or isinstance(route.resource, web.StaticResource):
            continue
        declared = getattr(route.handler, "required_role", None)
        assert declared is not None, f"{route.method} {route.resource.canonical} declares no role"
        found.append((route.method, route.resource.canonical, declared))
    return found


def fill(template: str, token: str) -> str:
    """Concrete path: unknown ids, so an allowed call ends in 404/400 and changes nothing."""
    values = {
        "session_id": "0" * 32,
        "roll_no": "NOBODY",
        "event_id": "999999",
        "check_id": "999999",
        "name": "reference",
        "token": token,
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


async def login(session: aiohttp.ClientSession, url: str, username: str) -> str:
    response = await session.post(url, json={"username": username, "password": ADMIN_PASSWORD})
    assert response.status == 200
    return (await response.json())["csrf"]


async def test_role_matrix(
    settings: Settings, pool: AnalysisPool, frames: FramePool, deepface_dir: Path
) -> None:
    add_account(settings, "inv", "invigilator")
    async with served(settings, pool, frames) as admin:
        for roll, photo in (("S1", "img1.jpg"), ("S2", "img3.jpg")):
            assert (await enrol(admin, roll, roll, deepface_dir / photo)).status == 201
        own = await (
            await admin.post("/api/sessions", json={"name": "A", "roll_nos": ["S1"]})
        ).json()
        other = await (
            await admin.post("/api/sessions", json={"name": "B", "roll_nos": ["S2"]})
        ).json()
        tokens = {
            "own_student": own["links"]["S1"].rsplit("/", 1)[1],
            "other_student": other["links"]["S2"].rsplit("/", 1)[1],
        }
        table = routes_of(admin.server.app)
        assert len(table) >= 40

        anonymous = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        invigilator = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        invigilator_csrf = await login(invigilator, str(admin.make_url("/api/login")), "inv")
        admin_csrf = admin.session.headers["X-CSRF-Token"]
        try:
            failures = []
            for method, template, declared in table:
                if template in ("/api/login", "/api/logout"):
                    continue  # their outcomes are credentials themselves: tested below
                for caller in CALLERS:
                    token = tokens.get(caller, "not-a-token")
                    path = fill(template, token)
                    client, headers = {
                        "admin": (admin.session, {"X-CSRF-Token": admin_csrf}),
                        "invigilator": (invigilator, {"X-CSRF-Token": invigilator_csrf}),
                    }.get(caller, (anonymous, {}))
                    if caller.endswith("student"):
                        # A student's token offered the ways a credential could be sent.
                        headers = {
                            "Authorization": f"Bearer {token}",
                            "Cookie": f"invigilator_session={token}",
                        }
                    if caller in ("admin", "invigilator") and declared == STUDENT:
                        path = fill(template, "not-a-token")  # a login is no join token
                    response = await client.request(
                        method, str(admin.make_url(path)), headers=headers, allow_redirects=False
                    )
                    await response.read()
                    granted = response.status not in (401, 403) and not (
                        response.status == 302 and "/login" in response.headers.get("Location", "")
                    )
                    expected = caller in ALLOWED[declared] and not (
                        declared == STUDENT and caller in ("admin", "invigilator")
                    )
                    if granted != expected:
                        failures.append(f"{method} {template} as {caller}: {response.status}")
            assert not failures, "\n".join(failures)
        finally:
            await invigilator.close()
            await anonymous.close()


async def test_csrf_cookies_and_throttle(client: TestClient, settings: Settings) -> None:
    no_token = await client.post(
        "/api/sessions", json={"name": "x", "roll_nos": ["S"]}, headers={"X-CSRF-Token": ""}
    )
    assert no_token.status == 403 and (await no_token.json())["error"]["code"] == "CSRF_FAILED"

    assert (await client.get("/api/me")).status == 200
    assert (await client.post("/api/logout")).status == 200
    assert (await client.get("/api/me")).status == 401
    assert (await client.post("/api/logout")).status == 401

    add_account(settings, "secure", "invigilator")
    response = await client.post(
        "/api/login",
        json={"username": "secure", "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie

    for _ in range(5):
        wrong = await client.post("/api/login", json={"username": "secure", "password": "wrong!!!"})
        assert wrong.status == 401
    blocked = await client.post(
        "/api/login", json={"username": "secure", "password": ADMIN_PASSWORD}
    )
    assert blocked.status == 429 and (await blocked.json())["error"]["code"] == "TOO_MANY_ATTEMPTS"


async def test_logged_out_pages_redirect_to_login(
    settings: Settings, pool: AnalysisPool, frames: FramePool
) -> None:
    async with served(settings, pool, frames, username=None) as anonymous:
        for page in ("/dashboard", "/admin", "/compare", "/forensics"):
            response = await anonymous.get(page, allow_redirects=False)
            assert response.status == 302 and response.headers["Location"].startswith("/login")
        assert (await anonymous.get("/login")).status == 200
        assert (await anonymous.get("/api/students")).status == 401


async def test_expired_student_token_is_refused(
    client: TestClient, settings: Settings, deepface_dir: Path
) -> None:
    assert (await enrol(client, "S9", "S9", deepface_dir / "img1.jpg")).status == 201
    session = await (
        await client.post("/api/sessions", json={"name": "T", "roll_nos": ["S9"]})
    ).json()
    expired = signer_for(settings).sign(
        JoinClaims(session["session_id"], "S9", datetime.now(UTC) - timedelta(seconds=1))
    )
    response = await client.get(f"/api/join/{expired}")
    assert response.status == 403 and (await response.json())["error"]["code"] == "TOKEN_EXPIRED"
