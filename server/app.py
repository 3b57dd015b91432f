"""Builds the aiohttp Application: routes, middlewares, start-up and shutdown."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from server.api import compare, health, students
from server.api.context import DATABASE, ENROLMENT, POOL, SETTINGS
from server.api.errors import error_middleware
from server.config import Settings
from server.enrolment import Enrolment
from server.store.database import Database
from server.store.photos import PhotoStore
from server.workers import AnalysisPool

log = logging.getLogger("invigilator.app")

# Pages served from web/: path -> file below it.
PAGES = {
    "/": "index.html",
    "/compare": "compare/index.html",
    "/admin": "admin/index.html",
}


def _page(path: Path) -> web.Handler:
    async def handler(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


def create_app(settings: Settings, pool: AnalysisPool | None = None) -> web.Application:
    """The whole service; `pool` lets tests share one warmed-up worker pool between apps."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = web.Application(middlewares=[error_middleware], client_max_size=1024 * 1024)
    db = Database(settings.effective_database_url)
    owns_pool = pool is None
    pool = pool or AnalysisPool(settings.workers)
    app[SETTINGS] = settings
    app[DATABASE] = db
    app[POOL] = pool
    app[ENROLMENT] = Enrolment(settings, db, PhotoStore(settings.photos_dir), pool)

    for module in (health, students, compare):
        app.add_routes(module.routes)
    for route, file in PAGES.items():
        app.router.add_get(route, _page(settings.web_dir / file))
    app.router.add_static("/web/", settings.web_dir)

    async def on_startup(_app: web.Application) -> None:
        db.migrate()
        log.info(
            "event=started database=%s data_dir=%s",
            db.engine.url.render_as_string(hide_password=True),
            settings.data_dir,
        )

    async def on_cleanup(_app: web.Application) -> None:
        db.dispose()
        if owns_pool:
            pool.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
