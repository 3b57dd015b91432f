"""Errors with a stable code: the base every domain's error shares, and the analysis one.

The HTTP layer maps codes to statuses in one table (server/api/errors.py); the CLI prints them.
"""

from __future__ import annotations


class CodedError(Exception):
    """A failure a caller can act on, named by a stable code (NO_FACE, DUPLICATE_ROLL_NO ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Worker processes send these back pickled; the default would drop `message`.
        return (type(self), (self.code, self.message))


class AnalysisError(CodedError):
    """An input the analysis cannot use (no face, unreadable image ...)."""
