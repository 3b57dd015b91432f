"""The analysis domain's error: a stable code the HTTP layer maps to a status."""

from __future__ import annotations


class AnalysisError(Exception):
    """An input the analysis cannot use (no face, unreadable image ...), with a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Worker processes send these back pickled; the default would drop `message`.
        return (type(self), (self.code, self.message))
