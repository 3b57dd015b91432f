"""Liveness of the service itself."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server import __version__
from server.api.access import PUBLIC, role
from server.api.context import DATABASE, STREAMS

routes = web.RouteTableDef()


@routes.get("/api/health")
@role(PUBLIC)
async def health(request: web.Request) -> web.Response:
    tables = await asyncio.to_thread(request.app[DATABASE].table_names)
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "database": "students" in tables,
            # For operators: is this box full? cpu_percent is of one core, since the last call.
            "load": request.app[STREAMS].load(),
        }
    )
