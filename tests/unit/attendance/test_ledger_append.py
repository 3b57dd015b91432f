"""Appending, day files, the chain across days, one row per student per session per day."""

import csv
import io
import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from attendance.hash_chain import GENESIS_HASH, chain_hash
from attendance.ledger import COLUMNS, AttendanceEntry, Ledger, LedgerError

KOLKATA = ZoneInfo("Asia/Kolkata")
MORNING = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)  # 09:30 in Kolkata


def verified(roll_no: str, session: str = "S1", name: str = "Asha") -> AttendanceEntry:
    """An entry as the live verification records it."""
    return AttendanceEntry(session, roll_no, name, "blink+smile+turn_left", 0.4123456, "pass")


@pytest.fixture
def ledger(tmp_path):
    return Ledger(tmp_path, KOLKATA)


def test_append_writes_header_and_row_in_local_time(ledger, tmp_path):
    row = ledger.append(verified("R1"), now=MORNING)

    lines = (tmp_path / "attendance_2024-05-01.csv").read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert next(csv.reader([lines[1]])) == list(row.cells())
    assert row.timestamp == "2024-05-01T09:30:00.000+05:30"
    assert row.moment == MORNING
    assert (row.session, row.roll_no, row.name) == ("S1", "R1", "Asha")
    assert row.method == "blink+smile+turn_left"
    assert (row.match_distance, row.id_check) == ("0.4123", "pass")
    assert row.prev_hash == GENESIS_HASH
    assert row.row_hash == chain_hash(GENESIS_HASH, row.data_cells())
    assert ledger.chain_head() == row.row_hash


def test_rows_chain_in_order(ledger):
    rows = [ledger.append(verified(f"R{i}"), now=MORNING + timedelta(seconds=i)) for i in range(5)]

    assert ledger.rows() == rows
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.row_hash
    assert ledger.verify().ok


def test_one_row_per_student_per_session_per_day(ledger):
    first = ledger.append(verified("R1"), now=MORNING)

    assert ledger.append(verified("R1"), now=MORNING + timedelta(minutes=5)) is None
    assert ledger.append(verified("R1", name="reconnected"), now=MORNING) is None
    assert ledger.find("S1", "R1", date(2024, 5, 1)) == first
    other_session = ledger.append(verified("R1", session="S2"), now=MORNING)
    next_day = ledger.append(verified("R1"), now=MORNING + timedelta(days=1))

    assert other_session is not None and next_day is not None
    assert len(ledger.rows()) == 3
    assert ledger.verify().ok


def test_duplicate_key_compares_the_stored_text(ledger):
    # "-7" is stored as "'-7": a retry with the same raw roll number must still match it.
    assert ledger.append(verified("-7"), now=MORNING).roll_no == "'-7"
    assert ledger.append(verified("-7"), now=MORNING) is None
    assert ledger.find("S1", "-7", date(2024, 5, 1)) is not None


def test_day_follows_the_configured_timezone(ledger, tmp_path):
    before_midnight = datetime(2024, 5, 1, 18, 29, 59, tzinfo=UTC)  # 23:59:59 in Kolkata
    at_midnight = datetime(2024, 5, 1, 18, 30, tzinfo=UTC)  # 00:00 on 2 May in Kolkata

    last = ledger.append(verified("R1"), now=before_midnight)
    first = ledger.append(verified("R1"), now=at_midnight)

    assert last.timestamp == "2024-05-01T23:59:59.000+05:30"
    assert first.timestamp == "2024-05-02T00:00:00.000+05:30"
    assert ledger.days() == [date(2024, 5, 1), date(2024, 5, 2)]
    assert "R1" in (tmp_path / "attendance_2024-05-01.csv").read_text()
    assert "R1" in (tmp_path / "attendance_2024-05-02.csv").read_text()
    # The chain runs across days: the day's first row links to the previous day's last.
    assert first.prev_hash == last.row_hash
    assert ledger.verify().ok


def test_chain_skips_days_without_rows(ledger):
    first = ledger.append(verified("R1"), now=MORNING)
    later = ledger.append(verified("R2"), now=MORNING + timedelta(days=9))

    assert later.prev_hash == first.row_hash
    assert ledger.verify().ok


def test_rows_and_export_by_date_range(ledger):
    for day in range(3):
        ledger.append(verified("R1"), now=MORNING + timedelta(days=day))
        ledger.append(verified("R2", name='Ravi "R", Jr.'), now=MORNING + timedelta(days=day))

    middle = ledger.rows(date(2024, 5, 2), date(2024, 5, 2))
    assert [r.timestamp[:10] for r in middle] == ["2024-05-02"] * 2
    assert len(ledger.rows(from_date=date(2024, 5, 2))) == 4
    assert len(ledger.rows(to_date=date(2024, 5, 1))) == 2

    exported = ledger.export_csv(date(2024, 5, 2), date(2024, 5, 3))
    table = list(csv.reader(io.StringIO(exported.decode("utf-8"))))
    assert table[0] == list(COLUMNS)
    assert [tuple(r) for r in table[1:]] == [r.cells() for r in ledger.rows(date(2024, 5, 2))]
    assert table[2][3] == 'Ravi "R", Jr.'


def test_verify_a_date_range_starts_from_the_previous_day_head(ledger):
    for day in range(3):
        ledger.append(verified("R1"), now=MORNING + timedelta(days=day))

    result = ledger.verify(from_date=date(2024, 5, 2), to_date=date(2024, 5, 2))

    assert result.ok and result.rows == 1 and result.files == 1
    assert result.head == ledger.rows(date(2024, 5, 2), date(2024, 5, 2))[0].row_hash
    assert str(result).startswith("OK: 1 rows in 1 files")


def test_empty_ledger(ledger):
    assert ledger.days() == []
    assert ledger.rows() == []
    assert ledger.chain_head() == GENESIS_HASH
    assert ledger.verify().ok
    assert ledger.export_csv() == (",".join(COLUMNS) + "\n").encode()
    assert ledger.repair().removed == []


def test_manual_entry_names_who_recorded_it_and_why(ledger):
    entry = AttendanceEntry.manual("S1", "R9", "Meera", "invigilator:kumar", "camera failed")

    row = ledger.append(entry, now=MORNING)

    assert (row.method, row.recorded_by) == ("manual", "invigilator:kumar")
    assert row.reason == "camera failed"
    assert row.match_distance == "" and row.id_check == ""
    assert ledger.append(verified("R9"), now=MORNING) is None  # still one row for the student


@pytest.mark.parametrize(
    "entry",
    [
        AttendanceEntry("", "R1", "A", "blink"),
        AttendanceEntry("S1", " ", "A", "blink"),
        AttendanceEntry("S1", "R1", "A", ""),
        AttendanceEntry("S1", "R1", "A", "manual", recorded_by="kumar"),
        AttendanceEntry("S1", "R1", "A", "manual", reason="camera failed"),
        AttendanceEntry("S1", "R1", "A", "blink", match_distance=-0.1),
        AttendanceEntry("S1", "R1", "A", "blink", match_distance=float("nan")),
        AttendanceEntry("S1", "R1", 42, "blink"),  # type: ignore[arg-type]
        AttendanceEntry("S1", "R1", "bad \ud800 surrogate", "blink"),
    ],
)
def test_invalid_entries_are_refused(ledger, entry):
    with pytest.raises(LedgerError) as caught:
        ledger.append(entry, now=MORNING)
    assert caught.value.code == "INVALID_ENTRY"
    assert ledger.days() == []


def test_naive_time_is_refused(ledger):
    with pytest.raises(LedgerError) as caught:
        ledger.append(verified("R1"), now=datetime(2024, 5, 1, 9, 30))
    assert caught.value.code == "INVALID_TIME"


def test_an_older_day_cannot_be_appended_once_a_later_day_exists(ledger):
    ledger.append(verified("R1"), now=MORNING + timedelta(days=1))

    with pytest.raises(LedgerError) as caught:
        ledger.append(verified("R2"), now=MORNING)

    assert caught.value.code == "CLOCK_BEHIND"
    assert ledger.days() == [date(2024, 5, 2)]


def test_default_time_is_now(ledger):
    row = ledger.append(verified("R1"))

    assert abs(row.moment - datetime.now(UTC)) < timedelta(seconds=5)
    assert row.timestamp.endswith("+05:30")
    assert ledger.find("S1", "R1", row.moment.date()) == row


def test_other_files_in_the_directory_are_ignored(ledger, tmp_path):
    (tmp_path / "attendance_2024-13-01.csv").write_text("not a day")
    (tmp_path / "notes.csv").write_text("x")
    ledger.append(verified("R1"), now=MORNING)

    assert ledger.days() == [date(2024, 5, 1)]
    assert ledger.verify().ok
