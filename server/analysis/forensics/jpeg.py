"""JPEG history: quality from the quantisation tables, 8x8 blocking, double compression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.analysis.forensics.imaging import to_gray
from server.analysis.forensics.result import Result
from server.analysis.images import sniff_format

# The IJG (libjpeg) base tables, natural order; quality q scales them (jpeg_quality_scaling).
_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float64,
)
_ZIGZAG = sorted(
    ((u, v) for u in range(8) for v in range(8)),
    key=lambda p: (p[0] + p[1], p[1] if (p[0] + p[1]) % 2 == 0 else p[0]),
)
# Low-frequency AC coefficients: the ones with enough non-zero values to form a histogram.
_AC = ((0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0))
_MAX_BLOCKS = 6000  # a fixed sample keeps the statistic comparable across image sizes
_BLOCKING_SIDE = 2048  # blocking is measured on a centred crop this size at most
_ROUNDING_SIGMA = 0.5  # DCT noise of pixel rounding and clipping, in coefficient units
_GRID_VISIBLE = 1.15  # blockiness from which an 8x8 grid is clearly there
_LATTICE_COEFFS = 5  # of the 9 coefficients, this many on a lattice = a JPEG past
_DQ_MIDPOINT = 8.0  # histogram roughness at which double compression is as likely as not


@dataclass
class JpegResult(Result):
    """What the bytes and the pixels say about the image's JPEG history."""

    is_jpeg: bool
    format: str
    quality: int | None  # estimated IJG quality (1..100)
    quality_source: str | None  # "quantisation tables", "pixels" or None
    luminance_table: list[int] | None  # natural order, 64 values, from the file
    blockiness: float  # grid-boundary / interior gradient ratio (~1.0 means no 8x8 grid)
    grid_offset: tuple[int, int]  # (x, y) phase of the strongest 8x8 grid; (0, 0) if aligned
    jpeg_history: bool  # 8x8 block traces present (even if the file is not a JPEG now)
    double_compression: float  # 0..1 likelihood of two JPEG compressions
    double_compression_statistic: float
    suspicion: float
    notes: list[str]


def scaled_table(quality: int) -> np.ndarray:
    """The IJG luminance table at a quality (libjpeg's scaling, values clamped to 1..255)."""
    quality = int(np.clip(quality, 1, 100))
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((_LUMA * scale + 50) / 100), 1, 255)


def quality_from_table(table: np.ndarray) -> int:
    """The IJG quality whose luminance table is closest to the given one."""
    errors = [float(np.abs(scaled_table(q) - table).mean()) for q in range(1, 101)]
    return int(np.argmin(errors)) + 1


def quantisation_tables(data: bytes) -> dict[int, np.ndarray]:
    """The DQT tables of a JPEG file by id, as 8x8 arrays in natural order."""
    tables: dict[int, np.ndarray] = {}
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # start of scan: the tables are all before it
            break
        if marker == 0xDB:
            _read_dqt(data[pos + 4 : pos + 2 + length], tables)
        pos += 2 + length
    return tables


def _read_dqt(segment: bytes, tables: dict[int, np.ndarray]) -> None:
    offset = 0
    while offset < len(segment):
        precision, table_id = segment[offset] >> 4, segment[offset] & 0x0F
        size = 128 if precision else 64
        raw = segment[offset + 1 : offset + 1 + size]
        if len(raw) < size:
            return
        values = np.frombuffer(raw, ">u2" if precision else "u1").astype(np.float64)
        table = np.zeros((8, 8))
        for (u, v), value in zip(_ZIGZAG, values, strict=True):
            table[u, v] = value
        tables[table_id] = table
        offset += 1 + size


def _dct_matrix() -> np.ndarray:
    n = np.arange(8)
    matrix = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / 16) * np.sqrt(2 / 8)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix()


def _sample_blocks(gray: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """Orthonormal 8x8 DCTs of up to _MAX_BLOCKS grid-aligned blocks spread over the image."""
    ox, oy = offset
    usable = gray[oy:, ox:]
    rows, cols = usable.shape[0] // 8, usable.shape[1] // 8
    if rows == 0 or cols == 0:
        return np.empty((0, 8, 8))
    step = max(1, int(np.ceil(np.sqrt(rows * cols / _MAX_BLOCKS))))
    pick_rows, pick_cols = np.arange(0, rows, step), np.arange(0, cols, step)
    index_y = (pick_rows[:, None] * 8 + np.arange(8)[None, :]).ravel()
    index_x = (pick_cols[:, None] * 8 + np.arange(8)[None, :]).ravel()
    sample = usable[np.ix_(index_y, index_x)].astype(np.float64) - 128.0
    blocks = sample.reshape(len(pick_rows), 8, len(pick_cols), 8).transpose(0, 2, 1, 3)
    return np.einsum("ij,abjk,lk->abil", _DCT, blocks, _DCT).reshape(-1, 8, 8)


def _lattice_step(values: np.ndarray) -> int:
    """The largest quantisation step the coefficients sit on a lattice of (1 = none found)."""
    values = values[np.abs(values) >= 1.5]  # zeros sit on every lattice
    if len(values) < 50:
        return 0
    best = 1
    for step in range(2, 41):
        coherence = abs(np.mean(np.exp(2j * np.pi * values / step)))
        expected = np.exp(-2 * np.pi**2 * _ROUNDING_SIGMA**2 / step**2)
        if coherence >= max(0.5, 0.8 * expected):
            best = step
    return best


def _roughness(values: np.ndarray, step: float) -> float | None:
    """Chi-square-like jaggedness of the histogram of quantised values (double quantisation)."""
    levels = np.abs(np.round(values / step).astype(np.int64))
    levels = levels[levels != 0]
    counts = np.bincount(levels, minlength=26)[1:25].astype(np.float64)
    if counts.sum() < 100:
        return None
    around = (counts[:-2] + counts[2:]) / 2
    middle = counts[1:-1]
    usable = around >= 5
    if usable.sum() < 3:
        return None
    return float(np.mean((middle[usable] - around[usable]) ** 2 / (around[usable] + 1)))


def double_compression(blocks: np.ndarray, table: np.ndarray | None) -> tuple[float, list[int]]:
    """Median histogram roughness over low-frequency coefficients, and the steps used."""
    stats, steps = [], []
    for u, v in _AC:
        values = blocks[:, u, v]
        step = int(table[u, v]) if table is not None else _lattice_step(values)
        steps.append(step)
        if step < 2:  # no lattice: no JPEG trace to judge in this coefficient
            continue
        value = _roughness(values, step)
        if value is not None:
            stats.append(value)
    return (float(np.median(stats)) if stats else 0.0), steps


def blocking(gray: np.ndarray) -> tuple[float, tuple[int, int]]:
    """Strength of an 8x8 grid in the gradients, and its phase (x, y)."""
    height, width = gray.shape
    top = max(0, (height - _BLOCKING_SIDE) // 16 * 8)
    left = max(0, (width - _BLOCKING_SIDE) // 16 * 8)
    crop = gray[top : top + _BLOCKING_SIDE, left : left + _BLOCKING_SIDE].astype(np.float32)
    if min(crop.shape) < 17:
        return 1.0, (0, 0)
    ratios, phases = [], []
    for axis in (1, 0):
        profile = np.abs(np.diff(crop, axis=axis)).mean(axis=1 - axis)
        usable = len(profile) // 8 * 8
        per_phase = profile[:usable].reshape(-1, 8).mean(axis=0)
        strongest = int(np.argmax(per_phase))
        others = np.delete(per_phase, strongest)
        ratios.append(float(per_phase[strongest] / max(1e-6, float(np.median(others)))))
        phases.append((strongest + 1) % 8)  # a boundary after column 7 means offset 0
    return float(np.mean(ratios)), (phases[0], phases[1])


def analyse_jpeg(data: bytes, image: np.ndarray) -> JpegResult:
    """Quality, blocking and double-compression evidence of the file and its pixels."""
    fmt = sniff_format(data[:16]) or "unknown"
    is_jpeg = fmt == "jpeg"
    tables = quantisation_tables(data) if is_jpeg else {}
    luma = tables.get(0)
    gray = to_gray(image)
    strength, offset = blocking(gray)
    grid = offset if (strength >= _GRID_VISIBLE and not is_jpeg) else (0, 0)
    statistic, steps = double_compression(_sample_blocks(gray, grid), luma)
    # A PNG that was once a JPEG keeps its coefficients on the old quantisation lattice.
    lattice = sum(step >= 2 for step in steps) >= _LATTICE_COEFFS
    history = is_jpeg or strength >= _GRID_VISIBLE or lattice
    likelihood = _likelihood(statistic) if history else 0.0
    notes: list[str] = []
    quality, source = None, None
    if luma is not None:
        quality, source = quality_from_table(luma), "quantisation tables"
    elif history and steps and np.median(steps) >= 2:
        estimated = np.full((8, 8), np.nan)
        for (u, v), step in zip(_AC, steps, strict=True):
            estimated[u, v] = step
        known = ~np.isnan(estimated)
        errors = [np.abs(scaled_table(q)[known] - estimated[known]).mean() for q in range(1, 101)]
        quality, source = int(np.argmin(errors)) + 1, "pixels"
    if not is_jpeg:
        notes.append(f"not a JPEG ({fmt})")
        if history:
            notes.append("8x8 block traces show it was a JPEG before")
    if is_jpeg and strength >= _GRID_VISIBLE and offset != (0, 0):
        notes.append(f"8x8 grid shifted by {offset}: cropped or edited after compression")
    misaligned = is_jpeg and strength >= _GRID_VISIBLE and offset != (0, 0)
    return JpegResult(
        is_jpeg=is_jpeg,
        format=fmt,
        quality=quality,
        quality_source=source,
        luminance_table=[int(v) for v in luma.ravel()] if luma is not None else None,
        blockiness=round(strength, 3),
        grid_offset=offset,
        jpeg_history=bool(history),
        double_compression=round(likelihood, 3),
        double_compression_statistic=round(statistic, 3),
        suspicion=round(max(likelihood, 0.6 if misaligned else 0.0), 3),
        notes=notes,
    )


def _likelihood(statistic: float) -> float:
    """Logistic map of the roughness statistic (single JPEGs measure ~1-7, double 10-1000)."""
    if statistic <= 0:
        return 0.0
    return float(1.0 / (1.0 + np.exp(-3.0 * (np.log(statistic) - np.log(_DQ_MIDPOINT)))))
