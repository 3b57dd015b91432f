"""Multipart uploads streamed to temporary files under a size limit; nothing kept on failure."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import BodyPartReader, web

from server.analysis.images import SNIFF_BYTES, sniff_format
from server.api.context import SETTINGS
from server.api.errors import ApiError

CHUNK = 256 * 1024
MAX_TEXT_FIELD = 16 * 1024


@dataclass
class UploadedFile:
    """One file part, spooled to disk; its format is judged by content."""

    field: str
    filename: str
    path: Path
    size: int
    format: str | None

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class Form:
    """The text fields and files of one multipart request."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)

    def text(self, name: str) -> str:
        value = self.fields.get(name)
        if not (value and value.strip()):
            raise ApiError("VALIDATION_ERROR", f"the field {name!r} is required")
        return value

    def optional_text(self, name: str) -> str | None:
        return self.fields.get(name)

    def image(self, name: str) -> UploadedFile:
        """The single file sent as `name`, checked to be a recognised image."""
        return self.all_images(name)[0]

    def optional_image(self, name: str) -> UploadedFile | None:
        return self.image(name) if self.files.get(name) else None

    def all_images(self, name: str) -> list[UploadedFile]:
        found = self.files.get(name)
        if not found:
            raise ApiError("NO_FILE", f"no file was sent in the field {name!r}")
        return [require_image(f) for f in found]


def require_image(upload: UploadedFile) -> UploadedFile:
    if upload.size == 0:
        raise ApiError("VALIDATION_ERROR", f"the file {upload.filename!r} is empty")
    if upload.format is None:
        raise ApiError(
            "INVALID_FORMAT",
            f"{upload.filename!r} is not a JPEG, PNG, BMP, TIFF or WebP image (checked by content)",
        )
    return upload


def request_form(request: web.Request) -> contextlib.AbstractAsyncContextManager[Form]:
    """The request's multipart form under the configured upload limit."""
    settings = request.app[SETTINGS]
    return multipart_form(request, settings.max_upload_bytes, settings.data_dir / "tmp")


@contextlib.asynccontextmanager
async def multipart_form(request: web.Request, limit: int, spool_dir: Path) -> AsyncIterator[Form]:
    """Read a multipart body part by part; the spooled files are removed when the block ends."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError("FILE_TOO_LARGE", f"the upload exceeds the limit of {limit} bytes")
    form = Form()
    if request.content_type == "application/x-www-form-urlencoded":
        # Text-only edits (a rename) may come as a plain form; it is capped by client_max_size.
        form.fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        yield form
        return
    if not request.content_type.startswith("multipart/"):
        raise ApiError("VALIDATION_ERROR", "send the request as multipart/form-data")
    spool_dir.mkdir(parents=True, exist_ok=True)
    try:
        await _read_parts(request, form, limit, spool_dir)
        yield form
    finally:
        for uploads in form.files.values():
            for upload in uploads:
                upload.path.unlink(missing_ok=True)


async def _read_parts(request: web.Request, form: Form, limit: int, spool_dir: Path) -> None:
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            if part.filename is None:
                text = await part.read(decode=True)
                if len(text) > MAX_TEXT_FIELD:
                    raise ApiError("VALIDATION_ERROR", f"the field {part.name!r} is too long")
                total += len(text)
                form.fields[part.name] = text.decode("utf-8", errors="replace")
                continue
            if not part.filename.strip():
                raise ApiError("EMPTY_FILENAME", f"the file in {part.name!r} has no file name")
            upload, total = await _spool(part, spool_dir, limit, total)
            form.files.setdefault(part.name, []).append(upload)
    except ApiError:
        raise
    except (ValueError, AssertionError, RuntimeError, UnicodeDecodeError) as exc:
        # aiohttp's multipart parser reports a malformed body with these.
        raise ApiError("BAD_REQUEST", f"malformed multipart body: {exc}") from exc


async def _spool(
    part: BodyPartReader, spool_dir: Path, limit: int, total: int
) -> tuple[UploadedFile, int]:
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=spool_dir)
    path = Path(name)
    size, head = 0, b""
    try:
        with os.fdopen(fd, "wb") as handle:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if total + size > limit:
                    raise ApiError(
                        "FILE_TOO_LARGE", f"the upload exceeds the limit of {limit} bytes"
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    upload = UploadedFile(
        field=part.name or "",
        filename=part.filename or "",
        path=path,
        size=size,
        format=sniff_format(head),
    )
    return upload, total + size
