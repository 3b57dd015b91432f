"""Builds the aiohttp Application: routes, middlewares, start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from pathlib import Path

from aiohttp import web

from attendance.ledger import Ledger
from server.api import (
    attendance,
    auth,
    compare,
    dashboard,
    forensics,
    health,
    id_checks,
    join,
    reports,
    roster_import,
    sessions,
    students,
)
from server.api.access import (
    ADMIN,
    COOKIES,
    INVIGILATOR,
    PUBLIC,
    access_middleware,
    role,
)
from server.api.auth import THROTTLE
from server.api.context import (
    ATTENDANCE,
    BUS,
    DATABASE,
    ENROLMENT,
    ID_PHOTOS,
    POOL,
    REPORTS,
    RUNS,
    SETTINGS,
    STREAMS,
)
from server.api.errors import error_middleware
from server.attendance_records import AttendanceBook
from server.auth import LoginThrottle, SessionCookies, hash_password
from server.config import Settings
from server.enrolment import Enrolment
from server.events import EventBus
from server.id_photos import IdPhotoChecks
from server.report_builder import Reports
from server.store import users
from server.store.database import Database
from server.store.photos import PhotoStore
from server.store.runs import RunStore
from server.streams.frame_workers import FramePool
from server.streams.registry import StreamRegistry
from server.streams.student import StreamServices
from server.tokens import load_or_create_key
from server.workers import AnalysisPool

log = logging.getLogger("invigilator.app")

# Pages served from web/: path -> file below it.
PAGES = {
    "/": ("index.html", PUBLIC),
    "/login": ("login/index.html", PUBLIC),
    "/compare": ("compare/index.html", INVIGILATOR),
    "/forensics": ("forensics/index.html", INVIGILATOR),
    "/dashboard": ("invigilator/index.html", INVIGILATOR),
    "/admin": ("admin/index.html", ADMIN),
}


def _page(path: Path, required: str) -> web.Handler:
    @role(required)
    async def handler(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


def bootstrap_admin(settings: Settings, db: Database) -> None:
    """On a first start with no accounts, create "admin" with a random password and say so."""
    if users.count_users(db):
        return
    password = secrets.token_urlsafe(12)
    users.add_user(db, "admin", "admin", hash_password(password))
    path = settings.data_dir / "initial-admin-password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    print(
        f"First start: created the account admin with password {password} "
        f"(also in {path}; add others with `invigilator user add`)",
        file=sys.stderr,
        flush=True,
    )


def create_app(
    settings: Settings, pool: AnalysisPool | None = None, frames: FramePool | None = None
) -> web.Application:
    """The whole service; tests pass warmed-up worker pools to share them between apps."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = web.Application(
        middlewares=[error_middleware, access_middleware], client_max_size=1024 * 1024
    )
    db = Database(settings.effective_database_url)
    owned_pools: list[AnalysisPool | FramePool] = []
    if pool is None:
        pool = AnalysisPool(settings.workers)
        owned_pools.append(pool)
    if frames is None:
        frames = FramePool(settings.frame_workers)
        owned_pools.append(frames)
    bus = EventBus()
    snapshots = PhotoStore(settings.snapshots_dir)
    app[SETTINGS] = settings
    app[COOKIES] = SessionCookies(load_or_create_key(settings.key_file))
    app[THROTTLE] = LoginThrottle()
    app[DATABASE] = db
    app[POOL] = pool
    app[BUS] = bus
    photos = PhotoStore(settings.photos_dir)
    id_files = PhotoStore(settings.id_checks_dir)
    app[ENROLMENT] = Enrolment(
        settings, db, photos, pool, snapshots, id_files, RunStore(settings.runs_dir)
    )
    app[ID_PHOTOS] = IdPhotoChecks(settings, db, pool, photos, id_files, bus)
    ledger = Ledger(settings.data_dir, settings.tz)
    book = AttendanceBook(db, ledger)
    app[ATTENDANCE] = book
    runs = RunStore(settings.runs_dir)
    app[RUNS] = runs
    app[REPORTS] = Reports(settings, db, photos, snapshots, id_files, runs, ledger)
    services = StreamServices(settings, db, bus, frames, pool, snapshots, book, runs)
    app[STREAMS] = StreamRegistry(services)

    for module in (
        health,
        auth,
        students,
        roster_import,
        compare,
        sessions,
        join,
        forensics,
        id_checks,
        attendance,
        reports,
        dashboard,
    ):
        app.add_routes(module.routes)
    for route, (file, required) in PAGES.items():
        app.router.add_get(route, _page(settings.web_dir / file, required))
    app.router.add_static("/web/", settings.web_dir)

    async def on_startup(_app: web.Application) -> None:
        await asyncio.to_thread(db.migrate)
        await asyncio.to_thread(bootstrap_admin, settings, db)
        repaired = await asyncio.to_thread(ledger.repair)
        for line in repaired.removed:
            log.warning("event=ledger_torn_line_removed file=%s line=%d", line.file, line.line)
        await asyncio.gather(pool.warm(), frames.warm())
        log.info(
            "event=started database=%s data_dir=%s",
            db.engine.url.render_as_string(hide_password=True),
            settings.data_dir,
        )

    async def on_shutdown(_app: web.Application) -> None:
        await app[STREAMS].close_all()

    async def on_cleanup(_app: web.Application) -> None:
        db.dispose()
        for owned_pool in owned_pools:
            owned_pool.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app
