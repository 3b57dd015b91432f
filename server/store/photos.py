"""Baseline photos on disk: internal UUID names, atomic writes, deletion on request."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


class PhotoStore:
    """Files under one directory; names are generated here, never taken from a client."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def save(self, data: bytes, extension: str) -> str:
        """Write the bytes under a new UUID name (temp file, fsync, rename) and return the name."""
        name = f"{uuid.uuid4().hex}{extension}"
        temp = self.directory / f".{name}.tmp"
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.directory / name)
        finally:
            temp.unlink(missing_ok=True)
        return name

    def path(self, name: str) -> Path:
        # Names come from our own database, but refuse anything that could leave the directory.
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"invalid photo name {name!r}")
        return self.directory / name

    def read(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir() if not p.name.startswith("."))
