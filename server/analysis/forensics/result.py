"""The base of every detector result: JSON-able fields apart, heatmap arrays apart."""

from __future__ import annotations

import math
from dataclasses import Field, dataclass, fields
from typing import Any

import numpy as np


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


def _is_image(f: Field[Any]) -> bool:
    # Annotations are strings under `from __future__ import annotations`.
    return "ndarray" in str(f.type)


@dataclass
class Result:
    """Fields typed np.ndarray are heatmaps (BGR uint8); all others go into the JSON report."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able fields of this result."""
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self) if not _is_image(f)}

    def heatmaps(self) -> dict[str, np.ndarray]:
        """The image fields of this result that are set, by field name."""
        images = {f.name: getattr(self, f.name) for f in fields(self) if _is_image(f)}
        return {name: image for name, image in images.items() if image is not None}
