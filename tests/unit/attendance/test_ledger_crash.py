"""A writer killed mid-append leaves at most a torn last line, which repair removes and keeps."""

import multiprocessing
import os
import signal
import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import attendance.ledger as ledger_module
from attendance.ledger import AttendanceEntry, Ledger

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
DAY = "attendance_2024-05-01.csv"
FORK = multiprocessing.get_context("fork")


def entry(roll_no: str) -> AttendanceEntry:
    return AttendanceEntry("S1", roll_no, "Asha", "blink+smile", 0.4, "pass")


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger(tmp_path, KOLKATA)
    for i in range(3):
        ledger.append(entry(f"R{i}"), now=NOW)
    return ledger


def half_writer(directory, written) -> None:
    """Child: write half of a row to disk, then hang inside append (holding the lock)."""

    def write_half_then_hang(path, line: bytes) -> None:
        with open(path, "ab") as f:
            f.write(line[: len(line) // 2])
            f.flush()
            os.fsync(f.fileno())
        written.set()
        time.sleep(60)

    ledger_module._append_line = write_half_then_hang
    Ledger(directory, KOLKATA).append(entry("R-crash"), now=NOW)


def kill(process) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=10)
    assert process.exitcode == -signal.SIGKILL


def test_sigkill_mid_append_then_repair(ledger, tmp_path):
    written = FORK.Event()
    child = FORK.Process(target=half_writer, args=(tmp_path, written), daemon=True)
    child.start()
    assert written.wait(timeout=10)
    kill(child)
    assert not (tmp_path / DAY).read_bytes().endswith(b"\n")
    torn = Ledger(tmp_path, KOLKATA).verify()
    assert (torn.reason, torn.line) == ("torn", 5)

    # Start-up after the crash.
    restarted = Ledger(tmp_path, KOLKATA)
    report = restarted.repair()

    assert [(r.file, r.line) for r in report.removed] == [(DAY, 5)]
    assert "R-crash" in report.removed[0].text
    assert "R-crash" in (tmp_path / "attendance_2024-05-01.torn").read_text()  # kept as evidence
    assert restarted.verify().ok
    assert [r.roll_no for r in restarted.rows()] == ["R0", "R1", "R2"]
    # The row the dead writer never finished can now be recorded, once.
    assert restarted.append(entry("R-crash"), now=NOW) is not None
    assert restarted.append(entry("R-crash"), now=NOW) is None
    assert restarted.verify().ok and restarted.verify().rows == 4
    assert restarted.repair().removed == []


def test_sigkill_frees_the_lock_for_a_waiting_appender(ledger, tmp_path):
    written = FORK.Event()
    child = FORK.Process(target=half_writer, args=(tmp_path, written), daemon=True)
    child.start()
    assert written.wait(timeout=10)
    killer = threading.Timer(0.3, os.kill, (child.pid, signal.SIGKILL))
    killer.start()
    started = time.monotonic()

    # Blocks on the dead-to-be writer's lock, then heals the torn line itself before appending.
    row = Ledger(tmp_path, KOLKATA).append(entry("R-next"), now=NOW)

    assert time.monotonic() - started >= 0.25
    killer.join()
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGKILL
    assert row is not None and row.prev_hash == ledger.rows()[2].row_hash
    assert Ledger(tmp_path, KOLKATA).verify().ok


def endless_writer(directory, first: int, started) -> None:
    """Child: append rows as fast as it can until it is killed."""
    ledger = Ledger(directory, KOLKATA)
    for i in range(first, first + 100_000):
        ledger.append(entry(f"L{i}"), now=NOW)
        started.set()


def test_sigkill_at_random_moments(ledger, tmp_path):
    for round_ in range(4):
        started = FORK.Event()
        child = FORK.Process(
            target=endless_writer, args=(tmp_path, round_ * 100_000, started), daemon=True
        )
        child.start()
        assert started.wait(timeout=10)
        time.sleep(0.02 + 0.03 * round_)
        kill(child)
        Ledger(tmp_path, KOLKATA).repair()

        result = Ledger(tmp_path, KOLKATA).verify()
        assert result.ok, str(result)
    rolls = [row.roll_no for row in Ledger(tmp_path, KOLKATA).rows()]
    assert len(rolls) == len(set(rolls)) > 3


def test_append_heals_a_torn_tail_without_repair(ledger, tmp_path):
    with open(tmp_path / DAY, "ab") as f:
        f.write(b"2024-05-01T11:31:00.000+05:30,S1,R9,As")

    row = ledger.append(entry("R9"), now=NOW)

    assert row is not None and row.prev_hash == ledger.rows()[2].row_hash
    assert ledger.verify().ok
    assert (tmp_path / "attendance_2024-05-01.torn").read_bytes().startswith(b"2024-05-01T11:31")


def test_torn_tail_of_the_previous_day_is_healed_before_a_new_day(ledger, tmp_path):
    with open(tmp_path / DAY, "ab") as f:
        f.write(b"2024-05-01T11:31:00.000+05:30,S1,R9")

    row = ledger.append(entry("R9"), now=NOW + timedelta(days=1))

    assert row.prev_hash == ledger.rows(to_date=date(2024, 5, 1))[-1].row_hash
    assert ledger.verify().ok


def test_repair_removes_a_last_line_with_the_wrong_column_count(ledger, tmp_path):
    with open(tmp_path / DAY, "ab") as f:
        f.write(b"\x00\x00\x00\x00\n")  # what a crash can leave on some file systems

    report = ledger.repair()

    assert [r.line for r in report.removed] == [5]
    assert ledger.verify().ok


def test_repair_leaves_sound_and_tampered_lines_to_verify(ledger, tmp_path):
    text = (tmp_path / DAY).read_text().splitlines(keepends=True)
    text[2] = text[2].replace("Asha", "Ravi")
    (tmp_path / DAY).write_text("".join(text))

    assert ledger.repair().removed == []
    assert ledger.verify().reason == "edited"
