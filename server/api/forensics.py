"""The standalone forensic API (the Visual Forensics contracts): analyze, batch, compare."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import zipfile
from typing import Any

from aiohttp import web

from server.api.access import INVIGILATOR, PUBLIC, role
from server.api.context import POOL, SETTINGS
from server.api.errors import ApiError
from server.api.uploads import UploadedFile, request_form
from server.forensic_tasks import ForensicBundle, analyse_image, compare_images, metadata_of

routes = web.RouteTableDef()

FORMATS = {"json", "zip"}


def _format(value: str | None) -> str:
    chosen = (value or "json").lower()
    if chosen not in FORMATS:
        raise ApiError("VALIDATION_ERROR", "format must be json or zip")
    return chosen


async def _analyse(
    request: web.Request, upload: UploadedFile, reference: bytes | None
) -> ForensicBundle:
    settings = request.app[SETTINGS]
    return await request.app[POOL].run(
        analyse_image,
        upload.read(),
        reference,
        settings.max_image_pixels,
        settings.ssim_threshold,
    )


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _bundle_files(bundle: ForensicBundle, prefix: str = "") -> dict[str, bytes]:
    files = {f"{prefix}forensic_report.json": json.dumps(bundle.report, indent=2).encode()}
    files.update({f"{prefix}heatmaps/{name}.png": png for name, png in bundle.pngs.items()})
    return files


def _zip_response(data: bytes, filename: str) -> web.Response:
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _safe_name(name: str, index: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit("/", 1)[-1]).strip("._") or "image"
    return f"{index:03d}_{stem[:60]}"


@routes.post("/analyze")
@role(INVIGILATOR)
async def analyze(request: web.Request) -> web.Response:
    """image (+ optional reference), format=json|zip, inline=1 to embed heatmaps in the JSON."""
    async with request_form(request) as form:
        image = form.image("image")
        reference = form.optional_image("reference")
        chosen = _format(form.optional_text("format") or request.query.get("format"))
        inline = (form.optional_text("inline") or request.query.get("inline")) in {"1", "true"}
        bundle = await _analyse(request, image, reference.read() if reference else None)
    if chosen == "zip":
        data = await asyncio.to_thread(_zip, _bundle_files(bundle))
        return _zip_response(data, "forensic_report.zip")
    body: dict[str, Any] = {"filename": image.filename, **bundle.report}
    if inline:
        body["heatmap_png"] = {k: base64.b64encode(v).decode() for k, v in bundle.pngs.items()}
    return web.json_response(body)


@routes.post("/batch")
@role(INVIGILATOR)
async def batch(request: web.Request) -> web.Response:
    """images (several) -> zip: one folder per image and batch_summary.json."""
    async with request_form(request) as form:
        images = form.all_images("images")
        files: dict[str, bytes] = {}
        summary: list[dict[str, Any]] = []
        for index, upload in enumerate(images, start=1):
            folder = _safe_name(upload.filename, index)
            try:
                bundle = await _analyse(request, upload, None)
            except Exception as exc:  # one bad image is reported, the batch goes on
                code = getattr(exc, "code", "ANALYSIS_ERROR")
                summary.append({"filename": upload.filename, "folder": folder, "error": code})
                continue
            files.update(_bundle_files(bundle, f"{folder}/"))
            verdict = bundle.report["summary"]
            summary.append(
                {
                    "filename": upload.filename,
                    "folder": folder,
                    "risk_percent": verdict.get("risk_percent"),
                    "risk_tier": verdict.get("risk_tier"),
                }
            )
    files["batch_summary.json"] = json.dumps({"images": summary}, indent=2).encode()
    data = await asyncio.to_thread(_zip, files)
    return _zip_response(data, "forensic_batch.zip")


@routes.post("/compare")
@role(INVIGILATOR)
async def compare(request: web.Request) -> web.Response:
    """image1 (the reference), image2 -> SSIM after registration, changed regions, hashes."""
    settings = request.app[SETTINGS]
    async with request_form(request) as form:
        first, second = form.image("image1"), form.image("image2")
        result = await request.app[POOL].run(
            compare_images,
            first.read(),
            second.read(),
            settings.max_image_pixels,
            settings.ssim_threshold,
        )
    pngs = result.pop("pngs")
    result["heatmap_png"] = {k: base64.b64encode(v).decode() for k, v in pngs.items()}
    return web.json_response(result)


@routes.post("/metadata")
@role(INVIGILATOR)
async def metadata(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    async with request_form(request) as form:
        image = form.image("image")
        result = await request.app[POOL].run(metadata_of, image.read(), settings.max_image_pixels)
    return web.json_response({"filename": image.filename, **result})


@routes.get("/health")
@role(PUBLIC)
async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "service": "invigilator-forensics"})
