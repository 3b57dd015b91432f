"""The base of every detector result: JSON-able fields apart, image and map arrays apart."""

from __future__ import annotations

import math
from dataclasses import Field, dataclass, fields
from typing import Any

import numpy as np

# Field metadata marking arrays: IMAGE is a BGR uint8 picture for people (saved as PNG by
# callers); MAP is a float32 0..1 evidence map that feeds the combined heatmap and evaluation.
IMAGE = {"kind": "image"}
MAP = {"kind": "map"}


def jsonable(value: Any) -> Any:
    """Plain Python values for numpy scalars, tuples, results and nested containers."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    return value


def _kind(f: Field[Any]) -> str | None:
    return f.metadata.get("kind")


@dataclass
class Result:
    """Fields marked IMAGE or MAP hold arrays; all others go into the JSON report."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able fields of this result."""
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self) if _kind(f) is None}

    def heatmaps(self) -> dict[str, np.ndarray]:
        """The pictures of this result that are set, by field name."""
        return self._arrays("image")

    def maps(self) -> dict[str, np.ndarray]:
        """The 0..1 evidence maps of this result that are set, by field name."""
        return self._arrays("map")

    def _arrays(self, kind: str) -> dict[str, np.ndarray]:
        found = {f.name: getattr(self, f.name) for f in fields(self) if _kind(f) == kind}
        return {name: array for name, array in found.items() if array is not None}
