"""Ad-hoc 1:1 face comparison of two uploaded images."""

from __future__ import annotations

import asyncio
import base64

from aiohttp import web

from server.analysis.matching import verify
from server.api.access import INVIGILATOR, role
from server.api.context import POOL, SETTINGS
from server.api.uploads import request_form
from server.workers import DescribedFace, describe_photo

routes = web.RouteTableDef()

_TRUE = {"1", "true", "yes", "on"}


def _face_json(face: DescribedFace) -> dict[str, object]:
    result: dict[str, object] = {
        "box": face.box.to_dict(),
        "landmarks": face.landmarks.round(1).tolist(),
        "faces_found": face.faces_found,
        "width": face.width,
        "height": face.height,
    }
    if face.overlay_png is not None:
        result["overlay_png"] = base64.b64encode(face.overlay_png).decode("ascii")
    return result


@routes.post("/api/compare")
@role(INVIGILATOR)
async def compare(request: web.Request) -> web.Response:
    """image1, image2 (and overlay=1) -> distance, match, threshold, both faces."""
    settings, pool = request.app[SETTINGS], request.app[POOL]
    async with request_form(request) as form:
        first, second = form.image("image1"), form.image("image2")
        overlay = (form.optional_text("overlay") or request.query.get("overlay", "")) in _TRUE
        faces = await asyncio.gather(
            *(
                pool.run(
                    describe_photo,
                    upload.read(),
                    settings.max_image_pixels,
                    settings.detect_width,
                    overlay,
                )
                for upload in (first, second)
            )
        )
    result = verify(faces[0].embedding, faces[1].embedding, settings.match_threshold)
    return web.json_response(
        {**result.to_dict(), "image1": _face_json(faces[0]), "image2": _face_json(faces[1])}
    )
