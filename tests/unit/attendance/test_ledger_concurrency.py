"""Many appenders, in threads and in processes: no row lost or doubled, and one linear chain."""

import multiprocessing
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from attendance.ledger import AttendanceEntry, Ledger

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)  # fixed: a run across midnight must not split the day
SHARED = [f"SHARED-{i}" for i in range(15)]  # every appender retries these: one row each


def entry(roll_no: str) -> AttendanceEntry:
    return AttendanceEntry("S1", roll_no, f"Student {roll_no}", "blink+smile", 0.4, "pass")


def run_appender(directory, tag: str, count: int) -> int:
    """Append `count` own students and every shared one; return how many shared rows it won."""
    ledger = Ledger(directory, KOLKATA)
    won = 0
    for i in range(count):
        assert ledger.append(entry(f"{tag}-{i}"), now=NOW) is not None
        shared = SHARED[i % len(SHARED)]
        won += ledger.append(entry(shared), now=NOW) is not None
    for shared in SHARED:
        won += ledger.append(entry(shared), now=NOW) is not None
    return won


def run_threads(directory, tag: str, threads: int, count: int) -> int:
    """Run appenders in threads; return the shared rows they won between them."""
    results: list[int] = []

    def work(name: str) -> None:
        results.append(run_appender(directory, name, count))

    workers = [threading.Thread(target=work, args=(f"{tag}{t}",)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == threads  # no thread died on an exception
    return sum(results)


def process_main(directory, tag: str, threads: int, count: int, queue) -> None:
    queue.put(run_threads(directory, tag, threads, count))


def assert_ledger_holds(ledger: Ledger, own: set[str]) -> None:
    rows = ledger.rows()
    counts = Counter((row.session, row.roll_no) for row in rows)
    assert max(counts.values()) == 1, "a row was doubled"
    assert {roll for _, roll in counts} == own | set(SHARED), "a row was lost"
    result = ledger.verify()
    assert result.ok, str(result)
    assert result.rows == len(own) + len(SHARED)
    assert ledger.chain_head() == rows[-1].row_hash


def test_concurrent_threads(tmp_path):
    won = run_threads(tmp_path, "T", threads=8, count=12)

    assert won == len(SHARED)
    own = {f"T{t}-{i}" for t in range(8) for i in range(12)}
    assert_ledger_holds(Ledger(tmp_path, KOLKATA), own)


def test_concurrent_processes_each_with_threads(tmp_path):
    # fork: children share nothing with the parent's ledger but the directory and its lock file.
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [
        context.Process(target=process_main, args=(tmp_path, f"P{p}", 2, 10, queue), daemon=True)
        for p in range(4)
    ]
    for process in processes:
        process.start()
    won = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    assert sum(won) == len(SHARED)
    own = {f"P{p}{t}-{i}" for p in range(4) for t in range(2) for i in range(10)}
    assert_ledger_holds(Ledger(tmp_path, KOLKATA), own)


def test_readers_never_see_a_half_written_row(tmp_path):
    ledger = Ledger(tmp_path, KOLKATA)
    ledger.append(entry("first"), now=NOW)
    done = threading.Event()
    seen: list[bool] = []

    def read_while_writing() -> None:
        while not done.is_set():
            seen.append(Ledger(tmp_path, KOLKATA).verify().ok)

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        run_threads(tmp_path, "W", threads=3, count=10)
    finally:
        done.set()
        reader.join()

    assert seen and all(seen)


def append_one(directory, roll_no: str) -> None:
    Ledger(directory, KOLKATA).append(entry(roll_no), now=NOW)


def test_fork_while_a_thread_holds_the_ledger_lock(tmp_path):
    ledger = Ledger(tmp_path, KOLKATA)
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with ledger._locked(exclusive=False):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    holding.wait(10)
    # The child inherits copies of the held thread lock and of the flocked descriptor; it must
    # wait only for the parent's lock, never on its own copies.
    child = multiprocessing.get_context("fork").Process(
        target=append_one, args=(tmp_path, "C"), daemon=True
    )
    try:
        child.start()
        time.sleep(0.2)
    finally:
        release.set()
        holder.join()
    child.join(timeout=10)
    if child.is_alive():
        child.kill()

    assert child.exitcode == 0
    assert [row.roll_no for row in ledger.rows()] == ["C"]
