"""Image forensics: reference SSIM and blind detectors, pure (bytes/arrays in, dataclasses out).

`analyze(data, reference=...)` runs them all; each detector module also stands alone.
"""

from server.analysis.forensics.hashing import dhash, hamming_distance, phash
from server.analysis.forensics.reference import ReferenceResult, compare_to_reference
from server.analysis.forensics.suite import ForensicReport, analyze

__all__ = [
    "ForensicReport",
    "ReferenceResult",
    "analyze",
    "compare_to_reference",
    "dhash",
    "hamming_distance",
    "phash",
]
