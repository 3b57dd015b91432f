"""JPEG history: quantisation tables, quality, blocking and double compression."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from server.analysis.forensics.jpeg import (
    analyse_jpeg,
    quality_from_table,
    quantisation_tables,
    scaled_table,
)
from tests.unit.forensics.conftest import decode, jpeg_bytes, png_bytes


def test_tables_parsed_from_bytes_match_pillow(astronaut: np.ndarray) -> None:
    buffer = io.BytesIO()
    Image.fromarray(astronaut[:, :, ::-1]).save(buffer, "JPEG", quality=83)
    data = buffer.getvalue()
    tables = quantisation_tables(data)
    pillow = Image.open(io.BytesIO(data)).quantization
    assert sorted(tables) == sorted(pillow)
    for table_id, values in pillow.items():
        assert tables[table_id].ravel().astype(int).tolist() == list(values)
    assert quality_from_table(tables[0]) == 83


def test_quality_table_round_trip() -> None:
    for quality in (10, 50, 75, 90, 100):
        assert quality_from_table(scaled_table(quality)) == quality


def test_jpeg_saved_twice_is_told_from_jpeg_saved_once(astronaut: np.ndarray) -> None:
    once = jpeg_bytes(astronaut, 90)
    twice = jpeg_bytes(decode(jpeg_bytes(astronaut, 70)), 90)
    single = analyse_jpeg(once, decode(once))
    double = analyse_jpeg(twice, decode(twice))
    assert single.is_jpeg and double.is_jpeg
    assert single.quality == 90 and double.quality == 90
    assert single.quality_source == "quantisation tables"
    assert single.double_compression < 0.5
    assert double.double_compression > 0.5
    assert double.suspicion > single.suspicion


def test_double_compression_across_images_and_qualities(chelsea: np.ndarray) -> None:
    for first, second in ((60, 85), (50, 75)):
        twice = jpeg_bytes(decode(jpeg_bytes(chelsea, first)), second)
        assert analyse_jpeg(twice, decode(twice)).double_compression > 0.5, (first, second)
    for quality in (60, 75, 95):
        once = jpeg_bytes(chelsea, quality)
        assert analyse_jpeg(once, decode(once)).double_compression < 0.5, quality


def test_png_without_jpeg_history_is_reported_as_not_a_jpeg(astronaut: np.ndarray) -> None:
    data = png_bytes(astronaut)
    result = analyse_jpeg(data, astronaut)
    assert not result.is_jpeg
    assert result.format == "png"
    assert result.quality is None
    assert not result.jpeg_history
    assert result.double_compression == 0.0
    assert any("not a JPEG" in note for note in result.notes)
    assert result.blockiness < 1.1


def test_png_of_a_decoded_jpeg_keeps_its_history(astronaut: np.ndarray) -> None:
    pixels = decode(jpeg_bytes(astronaut, 75))
    result = analyse_jpeg(png_bytes(pixels), pixels)
    assert not result.is_jpeg
    assert result.jpeg_history
    assert result.blockiness > 1.1
    assert result.quality is not None and abs(result.quality - 75) <= 8
    assert any("was a JPEG before" in note for note in result.notes)
