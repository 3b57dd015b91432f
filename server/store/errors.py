"""The store domain's error: a stable code the HTTP layer maps to a status."""

from __future__ import annotations

from server.analysis.errors import CodedError


class StoreError(CodedError):
    """A request the store cannot satisfy (unknown student, duplicate roll number ...)."""
