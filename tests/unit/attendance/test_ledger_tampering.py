"""Each kind of tampering is found at the right file and line, with the right reason."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from attendance.hash_chain import chain_hash
from attendance.ledger import AttendanceEntry, Ledger

DAY1, DAY2 = "attendance_2024-05-01.csv", "attendance_2024-05-02.csv"
START = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path):
    """Two days of four rows each: data lines 2-5 in each file."""
    ledger = Ledger(tmp_path, ZoneInfo("Asia/Kolkata"))
    for day in range(2):
        for i in range(4):
            entry = AttendanceEntry("S1", f"R{i}", f"Student {i}", "blink+smile", 0.4, "pass")
            ledger.append(entry, now=START + timedelta(days=day, minutes=i))
    assert ledger.verify().ok
    return ledger


def lines(ledger, name):
    return (ledger.directory / name).read_text().splitlines(keepends=True)


def write(ledger, name, new_lines):
    (ledger.directory / name).write_text("".join(new_lines))


def assert_broken(result, file, line, reason):
    assert not result.ok
    assert (result.file, result.line, result.reason) == (file, line, reason), str(result)
    assert str(result).startswith(f"BROKEN: {file} line {line}: {reason}")


def test_edited_cell(ledger):
    text = lines(ledger, DAY1)
    text[2] = text[2].replace("Student 1", "Student X")
    write(ledger, DAY1, text)

    result = ledger.verify()

    assert_broken(result, DAY1, 3, "edited")
    assert result.rows == 1  # one sound row before the edit


def test_edited_row_hash(ledger):
    text = lines(ledger, DAY1)
    cells = text[4].rstrip("\n").split(",")
    cells[-1] = "f" * 64
    text[4] = ",".join(cells) + "\n"
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 5, "edited")


def test_edited_last_row_of_the_ledger(ledger):
    text = lines(ledger, DAY2)
    text[4] = text[4].replace("0.4000", "0.1000")
    write(ledger, DAY2, text)

    assert_broken(ledger.verify(), DAY2, 5, "edited")


def test_deleted_row(ledger):
    text = lines(ledger, DAY1)
    del text[2]
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 3, "deleted")


def test_deleted_first_row_of_the_ledger(ledger):
    text = lines(ledger, DAY1)
    del text[1]
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 2, "deleted")


def test_inserted_forged_row(ledger):
    text = lines(ledger, DAY1)
    text.insert(3, text[2].replace("R1", "R7").replace("Student 1", "Forged"))
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 4, "inserted")


def test_inserted_row_with_made_up_hashes(ledger):
    text = lines(ledger, DAY1)
    forged = ["2024-05-01T09:31:30.000+05:30", "S1", "R7", "Forged", "blink", "0.1", "pass", "", ""]
    text.insert(3, ",".join([*forged, "a" * 64, "b" * 64]) + "\n")
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 4, "inserted")


def test_edited_prev_hash(ledger):
    text = lines(ledger, DAY1)
    cells = text[3].rstrip("\n").split(",")
    cells[-2] = "0" * 64
    text[3] = ",".join(cells) + "\n"
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 4, "edited")


def test_inserted_row_with_a_correctly_computed_hash(ledger):
    # The forger knows the algorithm: the forged row is sound and links to its predecessor,
    # but the genuine row after it still links to that predecessor, past the forgery.
    rows = ledger.rows()
    cells = (rows[1].timestamp, "S1", "R7", "Forged", "blink", "0.1000", "pass", "", "")
    forged = [*cells, rows[1].row_hash, chain_hash(rows[1].row_hash, cells)]
    text = lines(ledger, DAY1)
    text.insert(3, ",".join(forged) + "\n")
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 4, "inserted")


def test_duplicated_row(ledger):
    text = lines(ledger, DAY1)
    text.insert(3, text[2])
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 4, "inserted")


def test_swapped_rows(ledger):
    text = lines(ledger, DAY1)
    text[2], text[3] = text[3], text[2]
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 3, "reordered")


def test_swapped_last_two_rows(ledger):
    text = lines(ledger, DAY2)
    text[3], text[4] = text[4], text[3]
    write(ledger, DAY2, text)

    assert_broken(ledger.verify(), DAY2, 4, "reordered")


def test_row_moved_to_the_end(ledger):
    text = lines(ledger, DAY1)
    text.append(text.pop(2))
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 3, "reordered")


def test_edit_of_the_last_row_before_a_day_boundary(ledger):
    text = lines(ledger, DAY1)
    text[4] = text[4].replace("Student 3", "Student X")
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 5, "edited")
    # The next day still links to the stored hash, so a check of that day alone passes.
    assert ledger.verify(from_date=date(2024, 5, 2)).ok


def test_edit_of_the_first_row_after_a_day_boundary(ledger):
    text = lines(ledger, DAY2)
    text[1] = text[1].replace("Student 0", "Student X")
    write(ledger, DAY2, text)

    assert_broken(ledger.verify(), DAY2, 2, "edited")
    assert ledger.verify(to_date=date(2024, 5, 1)).ok


def test_deleted_last_row_of_a_day_is_seen_in_the_next_day(ledger):
    text = lines(ledger, DAY1)
    del text[4]
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY2, 2, "deleted")
    assert_broken(ledger.verify(from_date=date(2024, 5, 2)), DAY2, 2, "deleted")


def test_deleted_day_file(ledger):
    (ledger.directory / DAY1).unlink()

    assert_broken(ledger.verify(), DAY2, 2, "deleted")


def test_rows_swapped_across_a_day_boundary(ledger):
    day1, day2 = lines(ledger, DAY1), lines(ledger, DAY2)
    day1[4], day2[1] = day2[1], day1[4]
    write(ledger, DAY1, day1)
    write(ledger, DAY2, day2)

    assert_broken(ledger.verify(), DAY1, 5, "reordered")


def test_renamed_day_file(ledger):
    (ledger.directory / DAY2).rename(ledger.directory / "attendance_2024-05-03.csv")

    assert_broken(ledger.verify(), "attendance_2024-05-03.csv", 2, "edited")


def test_malformed_line(ledger):
    text = lines(ledger, DAY1)
    text[2] = "just,three,cells\n"
    write(ledger, DAY1, text)

    assert_broken(ledger.verify(), DAY1, 3, "malformed")


def test_altered_header(ledger):
    text = lines(ledger, DAY2)
    text[0] = text[0].replace("roll_no", "roll")
    write(ledger, DAY2, text)

    assert_broken(ledger.verify(), DAY2, 1, "malformed")


def test_torn_last_line_before_repair(ledger):
    with open(ledger.directory / DAY2, "a") as f:
        f.write("2024-05-02T09:40:00.000+05:30,S1,R9,Hal")

    assert_broken(ledger.verify(), DAY2, 6, "torn")
