"""The store domain's error: a stable code the HTTP layer maps to a status."""

from __future__ import annotations


class StoreError(Exception):
    """A request the store cannot satisfy (unknown student, duplicate roll number ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Worker processes send these back pickled; the default would drop `message`.
        return (type(self), (self.code, self.message))
