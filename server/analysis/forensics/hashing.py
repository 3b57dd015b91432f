"""Perceptual hashes (pHash, dHash) written with cv2, and their Hamming distance."""

from __future__ import annotations

import cv2
import numpy as np

from server.analysis.forensics.imaging import to_gray


def _bits_to_hex(bits: np.ndarray) -> str:
    value = 0
    for bit in bits.ravel():
        value = (value << 1) | int(bit)
    return f"{value:0{bits.size // 4}x}"


def phash(image: np.ndarray) -> str:
    """64-bit DCT hash: low 8x8 frequencies of a 32x32 copy against their median."""
    small = cv2.resize(to_gray(image), (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small.astype(np.float32))[:8, :8]
    # The DC term is the mean brightness: left out of the median so it does not skew it.
    median = np.median(low.ravel()[1:])
    return _bits_to_hex(low > median)


def dhash(image: np.ndarray) -> str:
    """64-bit gradient hash: is each pixel of a 9x8 copy brighter than its right neighbour."""
    small = cv2.resize(to_gray(image), (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    return _bits_to_hex(small[:, 1:] > small[:, :-1])


def hamming_distance(first: str, second: str) -> int:
    """Number of differing bits between two hex hashes of equal length."""
    if len(first) != len(second):
        raise ValueError("hashes of different lengths")
    return (int(first, 16) ^ int(second, 16)).bit_count()
