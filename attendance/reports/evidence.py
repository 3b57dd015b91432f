"""A report's evidence as RFC 8785 canonical JSON and its SHA-256, re-derivable by an auditor."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from datetime import date, datetime
from typing import Any

SCHEMA = "invigilator-report-evidence/v1"

COVERS = (
    "evidence_sha256 is the SHA-256 of the UTF-8 bytes of the RFC 8785 (JCS) canonical JSON "
    'of the sidecar\'s "evidence" object: every input of this report (figures, texts, times '
    'as ISO 8601) in which each image is replaced by {"bytes": size, "sha256": digest of '
    "its original file bytes}. It does not cover the report id, the generation time or the "
    "PDF file itself (the sidecar gives the PDF's own SHA-256)."
)


def image_ref(data: bytes) -> dict[str, Any]:
    """How an image stands in the evidence: its size and the SHA-256 of its bytes."""
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def to_evidence(value: Any) -> Any:
    """Plain JSON values for any report input (dataclasses, images, times, lists, dicts)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        # JSON has no NaN or infinity: a missing measurement is the honest reading of either.
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray | memoryview):
        return image_ref(bytes(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_evidence(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_evidence(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_evidence(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays in event details
        return to_evidence(value.tolist())
    return str(value)  # anything else a caller put in a detail dict: keep what it says


def evidence_of(kind: str, data: Any) -> dict[str, Any]:
    """The evidence object of one report: schema, report kind and every input."""
    return {"schema": SCHEMA, "kind": kind, "inputs": to_evidence(data)}


def canonical_json(value: Any) -> str:
    """RFC 8785 JSON Canonicalization Scheme text of plain JSON values."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        # Python escapes exactly what ECMAScript JSON.stringify escapes when ensure_ascii is off.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return _number(float(value)) if abs(value) > 2**53 else str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        # JCS orders keys by their UTF-16 code units, not by code points.
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        items = (f"{canonical_json(k)}:{canonical_json(value[k])}" for k in keys)
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def evidence_sha256(evidence: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an evidence object."""
    return hashlib.sha256(canonical_json(evidence).encode("utf-8")).hexdigest()


def _number(x: float) -> str:
    """ECMAScript Number.prototype.toString of a finite double, as RFC 8785 requires."""
    if not math.isfinite(x):
        raise ValueError("JSON has no NaN or infinity")
    if x == 0:
        return "0"  # also for -0.0
    sign = "-" if x < 0 else ""
    # repr gives the shortest digits that round-trip, as ECMAScript does; only the layout differs.
    mantissa, _, exp_text = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # ECMAScript's n: the value is 0.<digits> x 10^n.
    if whole == "0":  # repr writes 0.0001 .. 0.9 without an exponent
        point = -(len(frac) - len(frac.lstrip("0")))
    else:
        point = len(whole) + (int(exp_text) if exp_text else 0)
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    exponent = n - 1
    tail = f"{digits[0]}.{digits[1:]}" if k > 1 else digits
    return f"{sign}{tail}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
