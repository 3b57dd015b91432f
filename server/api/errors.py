"""Client-facing errors: one table maps every stable code to its HTTP status."""

from __future__ import annotations

import logging

from aiohttp import web

from server.analysis.errors import CodedError

log = logging.getLogger("invigilator.http")

STATUS = {
    "BAD_REQUEST": 400,
    "NO_FILE": 400,
    "EMPTY_FILENAME": 400,
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "CSRF_FAILED": 403,
    "INVALID_TOKEN": 403,
    "TOKEN_EXPIRED": 403,
    "SESSION_CLOSED": 403,
    "NOT_FOUND": 404,
    "STUDENT_NOT_FOUND": 404,
    "SESSION_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "DUPLICATE_ROLL_NO": 409,
    "DUPLICATE_USER": 409,
    "TOO_MANY_ATTEMPTS": 429,
    "NOT_ENROLLED": 409,
    "FILE_TOO_LARGE": 413,
    "IMAGE_TOO_LARGE": 413,
    "INVALID_FORMAT": 415,
    "NO_FACE": 422,
    "MULTIPLE_FACES": 422,
    "FACE_TOO_SMALL": 422,
    "TOO_BLURRY": 422,
    "INVALID_ENTRY": 400,
    "INVALID_TIME": 400,
    "CLOCK_BEHIND": 500,
    "ANALYSIS_ERROR": 500,
    "INTERNAL_ERROR": 500,
}


class ApiError(CodedError):
    """An HTTP-level error (missing field, body too large ...)."""


def error_response(code: str, message: str, status: int | None = None) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status or STATUS.get(code, 400)
    )


_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "FILE_TOO_LARGE",
}


@web.middleware
async def error_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Every failure leaves as JSON `{"error": {"code", "message"}}`; only real faults are 500."""
    try:
        return await handler(request)
    except CodedError as exc:
        if STATUS.get(exc.code, 400) >= 500:
            log.error("event=analysis_error code=%s message=%r", exc.code, exc.message)
        return error_response(exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.empty_body:
            raise
        code = _HTTP_CODES.get(exc.status, "BAD_REQUEST" if exc.status < 500 else "INTERNAL_ERROR")
        return error_response(code, exc.reason, exc.status)
    except Exception:
        log.exception("event=internal_error path=%s", request.path)
        return error_response("INTERNAL_ERROR", "internal server error", 500)
