"""Daily attendance ledger: one CSV per day, hash-chained across days, safe for many writers."""

from __future__ import annotations

import csv
import fcntl
import io
import logging
import math
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from attendance.csv_safety import neutralise
from attendance.hash_chain import GENESIS_HASH, ChainRecord, chain_hash, find_break
from server.analysis.errors import CodedError

log = logging.getLogger(__name__)

COLUMNS = (
    "timestamp",
    "session",
    "roll_no",
    "name",
    "method",
    "match_distance",
    "id_check",
    "recorded_by",
    "reason",
    "prev_hash",
    "row_hash",
)
MANUAL = "manual"
LOCK_FILE = ".attendance.lock"
_DAY_FILE = re.compile(r"^attendance_(\d{4}-\d{2}-\d{2})\.csv$")
_TEXT_FIELDS = ("session", "roll_no", "name", "method", "id_check", "recorded_by", "reason")


class LedgerError(CodedError):
    """A ledger failure with a stable code (INVALID_ENTRY, INVALID_TIME, CLOCK_BEHIND)."""


@dataclass(frozen=True)
class AttendanceEntry:
    """What a caller records: a verified student, or a manual entry by an invigilator."""

    session: str
    roll_no: str
    name: str
    method: str  # challenge steps passed, e.g. "blink+smile+turn_left", or "manual"
    match_distance: float | None = None
    id_check: str = ""  # outcome of the ID-photo check, e.g. "pass", "fail", "review"
    recorded_by: str = ""  # who recorded it: required for manual entries
    reason: str = ""  # why it was recorded by hand: required for manual entries

    @classmethod
    def manual(
        cls, session: str, roll_no: str, name: str, recorded_by: str, reason: str
    ) -> AttendanceEntry:
        """A hand-recorded entry for a student whose camera failed."""
        return cls(session, roll_no, name, MANUAL, recorded_by=recorded_by, reason=reason)


@dataclass(frozen=True)
class LedgerRow:
    """One ledger row exactly as stored: every cell is the (neutralised) text in the file."""

    timestamp: str
    session: str
    roll_no: str
    name: str
    method: str
    match_distance: str
    id_check: str
    recorded_by: str
    reason: str
    prev_hash: str
    row_hash: str

    def cells(self) -> tuple[str, ...]:
        """All cells in column order."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def data_cells(self) -> tuple[str, ...]:
        """The cells the row hash covers besides prev_hash."""
        return self.cells()[:-2]

    @property
    def moment(self) -> datetime:
        """The timestamp as an aware datetime."""
        return datetime.fromisoformat(self.timestamp)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain check: ok, or the first broken row and why."""

    ok: bool
    rows: int  # rows found sound (all of them when ok)
    files: int
    head: str  # row_hash of the last sound row: the chain head when ok
    file: str | None = None
    line: int | None = None
    reason: str | None = None  # edited | deleted | inserted | reordered | torn | malformed
    detail: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.rows} rows in {self.files} files, chain head {self.head}"
        return f"BROKEN: {self.file} line {self.line}: {self.reason} ({self.detail})"


@dataclass(frozen=True)
class RemovedLine:
    """A torn or malformed last line cut off by repair (its bytes are kept in a .torn file)."""

    file: str
    line: int
    text: str


@dataclass(frozen=True)
class RepairResult:
    """What repair removed; empty when the ledger was clean."""

    removed: list[RemovedLine] = field(default_factory=list)


# One thread lock per directory shared by every Ledger in the process: on file systems where
# flock is emulated with per-process fcntl locks (NFS), flock alone would not keep threads apart.
_THREAD_LOCKS: dict[Path, threading.Lock] = {}
# Lock-file descriptors that are open (and maybe flocked). A forked child inherits them, and a
# flock belongs to the open file, so the child's copies would hold the lock as long as it lives.
_LOCK_FDS: set[int] = set()
# Guards both sets, and is held across fork() so no descriptor is ever half-registered.
_GUARD = threading.Lock()


def _thread_lock(directory: Path) -> threading.Lock:
    """The process-wide lock for one ledger directory."""
    with _GUARD:
        return _THREAD_LOCKS.setdefault(directory, threading.Lock())


def _open_lock_file(path: Path) -> int:
    """Open the lock file, registered so that a forked child can let go of it."""
    with _GUARD:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        _LOCK_FDS.add(fd)
        return fd


def _close_lock_file(fd: int) -> None:
    """Close (and so unlock) a lock-file descriptor."""
    with _GUARD:
        _LOCK_FDS.discard(fd)
        os.close(fd)


def _forget_inherited_locks() -> None:
    """In a forked child, drop every ledger lock the parent's threads held at the fork."""
    _THREAD_LOCKS.clear()  # their holders are threads that do not exist in the child
    for fd in _LOCK_FDS:
        os.close(fd)  # only the child's copy: the parent's descriptor keeps its lock
    _LOCK_FDS.clear()
    _GUARD.release()


os.register_at_fork(
    before=_GUARD.acquire, after_in_parent=_GUARD.release, after_in_child=_forget_inherited_locks
)


class Ledger:
    """Append-only attendance ledger in `directory`; days follow the timezone `tz`."""

    def __init__(self, directory: Path, tz: ZoneInfo) -> None:
        self.directory = Path(directory)
        self.tz = tz
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_key = self.directory.resolve()

    # ---- public API -------------------------------------------------------------------

    def append(self, entry: AttendanceEntry, now: datetime | None = None) -> LedgerRow | None:
        """Append entry; None when the student already has a row for that session that day."""
        _validate(entry)
        if now is not None and now.tzinfo is None:
            raise LedgerError("INVALID_TIME", "now must be timezone-aware")
        with self._locked(exclusive=True):
            # Read the time under the lock so file order and timestamp order agree.
            local = (now or datetime.now(UTC)).astimezone(self.tz)
            day = local.date()
            days = self.days()
            if days and days[-1] > day:
                # Writing into an older day would fork the chain that later days continue.
                message = f"{day} is before the latest ledger day {days[-1]}"
                raise LedgerError("CLOCK_BEHIND", message)
            if days:
                self._repair_tail(days[-1])  # a writer that died mid-append left a torn line
            today = self._read_rows(day) if day in days else []
            key = (neutralise(entry.session), neutralise(entry.roll_no))
            if any((row.session, row.roll_no) == key for row in today):
                return None
            prev = today[-1].row_hash if today else self._head(d for d in days if d < day)
            if day not in days:
                self._create_day_file(day)
            cells = _data_cells(entry, local)
            row = LedgerRow(*cells, prev_hash=prev, row_hash=chain_hash(prev, cells))
            _append_line(self.day_file(day), _csv_line(row.cells()))
            return row

    def rows(self, from_date: date | None = None, to_date: date | None = None) -> list[LedgerRow]:
        """Readable rows of the days in [from_date, to_date], in chain order."""
        with self._locked(exclusive=False):
            days = self._days_in(from_date, to_date)
            return [row for day in days for row in self._read_rows(day)]

    def find(self, session: str, roll_no: str, on: date | None = None) -> LedgerRow | None:
        """The row of (session, roll_no) on a day (today in the ledger's timezone by default)."""
        day = on or datetime.now(self.tz).date()
        key = (neutralise(session), neutralise(roll_no))
        return next((r for r in self.rows(day, day) if (r.session, r.roll_no) == key), None)

    def days(self) -> list[date]:
        """Days that have a ledger file, oldest first."""
        found = []
        for path in self.directory.iterdir():
            match = _DAY_FILE.match(path.name)
            if match:
                try:
                    found.append(date.fromisoformat(match.group(1)))
                except ValueError:  # a name shaped like a day that is not a calendar day
                    continue
        return sorted(found)

    def day_file(self, day: date) -> Path:
        """Path of the ledger file for day."""
        return self.directory / f"attendance_{day.isoformat()}.csv"

    def chain_head(self) -> str:
        """row_hash of the last stored row (64 zeros for an empty ledger)."""
        with self._locked(exclusive=False):
            return self._head(self.days())

    def verify(self, from_date: date | None = None, to_date: date | None = None) -> VerifyResult:
        """Check the chain over [from_date, to_date]; report the first broken row and why."""
        with self._locked(exclusive=False):
            days = self._days_in(from_date, to_date)
            start = self._head(d for d in self.days() if from_date and d < from_date)
            records = [rec for day in days for rec in self._chain_records(day)]
        broken = find_break(records, start)
        if broken is None:
            head = records[-1].row_hash if records else start
            return VerifyResult(True, len(records), len(days), head)
        head = records[broken.index - 1].row_hash if broken.index else start
        return VerifyResult(
            ok=False,
            rows=broken.index,
            files=len(days),
            head=head,
            file=broken.file,
            line=broken.line,
            reason=broken.reason,
            detail=broken.detail,
        )

    def repair(self) -> RepairResult:
        """Start-up repair: cut torn last lines (kept aside in .torn files) and report them."""
        with self._locked(exclusive=True):
            for stale in self.directory.glob(".attendance_*.csv.tmp"):
                stale.unlink()  # a day file whose creation died before its rename
            removed = [line for day in self.days() if (line := self._repair_tail(day))]
        return RepairResult(removed)

    def export_csv(self, from_date: date | None = None, to_date: date | None = None) -> bytes:
        """One CSV (header and the rows of every day in range) as stored, hashes included."""
        rows = self.rows(from_date, to_date)
        return _csv_line(COLUMNS) + b"".join(_csv_line(row.cells()) for row in rows)

    # ---- internals ----------------------------------------------------------------------

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        """Hold the thread lock and the directory's flock (shared for readers)."""
        # Looked up each time, not kept: after a fork the child gets fresh, unheld locks.
        with _thread_lock(self._lock_key):
            # A fresh descriptor each time, so the lock is never shared by accident.
            fd = _open_lock_file(self.directory / LOCK_FILE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield
            finally:
                _close_lock_file(fd)

    def _days_in(self, from_date: date | None, to_date: date | None) -> list[date]:
        """Ledger days within the inclusive range (open ends when None)."""
        return [
            d
            for d in self.days()
            if (from_date is None or d >= from_date) and (to_date is None or d <= to_date)
        ]

    def _head(self, days: Iterable[date]) -> str:
        """row_hash of the last row among days (the genesis hash when they hold none)."""
        for day in sorted(days, reverse=True):
            rows = self._read_rows(day)
            if rows:
                return rows[-1].row_hash
        return GENESIS_HASH

    def _read_rows(self, day: date) -> list[LedgerRow]:
        """The well-formed rows of a day file; verify is what reports the others."""
        lines, _ = _split_lines(self.day_file(day).read_bytes())
        parsed = (_parse_line(raw) for raw in lines[1:])
        return [LedgerRow(*cells) for cells in parsed if cells is not None]

    def _chain_records(self, day: date) -> list[ChainRecord]:
        """Every line of a day file as a chain record, defects included."""
        path = self.day_file(day)
        lines, tail = _split_lines(path.read_bytes())
        if not lines or lines[0] != _csv_line(COLUMNS)[:-1]:
            detail = "header missing or altered"
            return [ChainRecord(path.name, 1, defect="malformed", detail=detail)]
        records = []
        for number, raw in enumerate(lines[1:], start=2):
            cells = _parse_line(raw)
            if cells is None:
                detail = f"not {len(COLUMNS)} CSV cells of UTF-8 text"
                records.append(ChainRecord(path.name, number, defect="malformed", detail=detail))
                continue
            records.append(_chain_record(path.name, number, LedgerRow(*cells), day))
        if tail:
            detail = "the last line has no newline: a write was cut short (run repair)"
            records.append(ChainRecord(path.name, len(lines) + 1, defect="torn", detail=detail))
        return records

    def _create_day_file(self, day: date) -> None:
        """Create a day file holding just the header, atomically (write, fsync, rename)."""
        path = self.day_file(day)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            f.write(_csv_line(COLUMNS))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_directory(self.directory)

    def _repair_tail(self, day: date) -> RemovedLine | None:
        """Cut a torn or malformed last line off a day file, keeping its bytes as evidence."""
        path = self.day_file(day)
        data = path.read_bytes()
        body = data[:-1] if data.endswith(b"\n") else data
        start = body.rfind(b"\n") + 1
        if start == 0:  # header only: files are created whole, so a bad header is tampering
            return None
        last = data[start:]
        if last.endswith(b"\n") and _parse_line(last[:-1]) is not None:
            return None
        number = data.count(b"\n", 0, start) + 1
        # Keep the fragment: a torn line is usually a crash, but it could be someone's edit.
        quarantine = path.with_suffix(".torn")
        _append_line(quarantine, last if last.endswith(b"\n") else last + b"\n")
        with open(path, "r+b") as f:
            f.truncate(start)
            f.flush()
            os.fsync(f.fileno())
        log.warning(
            "event=ledger_torn_line_removed file=%s line=%d bytes=%d kept_in=%s",
            path.name,
            number,
            len(last),
            quarantine.name,
        )
        return RemovedLine(path.name, number, last.decode("utf-8", "replace").rstrip("\n"))


def _validate(entry: AttendanceEntry) -> None:
    """Raise INVALID_ENTRY unless entry can be stored as one sound row."""
    problems = []
    for name in _TEXT_FIELDS:
        value = getattr(entry, name)
        if not isinstance(value, str):
            problems.append(f"{name} must be text")
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{name} is not valid Unicode text")
    if problems:
        raise LedgerError("INVALID_ENTRY", "; ".join(problems))
    required = ("session", "roll_no", "method")
    problems = [f"{name} is empty" for name in required if not getattr(entry, name).strip()]
    if entry.method == MANUAL and not (entry.recorded_by.strip() and entry.reason.strip()):
        problems.append("a manual entry needs recorded_by and reason")
    distance = entry.match_distance
    if distance is not None and not (math.isfinite(distance) and distance >= 0):
        problems.append("match_distance must be a finite number >= 0")
    if problems:
        raise LedgerError("INVALID_ENTRY", "; ".join(problems))


def _data_cells(entry: AttendanceEntry, local: datetime) -> tuple[str, ...]:
    """The stored data cells of an entry: every one goes through the single neutraliser."""
    distance = "" if entry.match_distance is None else f"{entry.match_distance:.4f}"
    raw = (
        local.isoformat(timespec="milliseconds"),
        entry.session,
        entry.roll_no,
        entry.name,
        entry.method,
        distance,
        entry.id_check,
        entry.recorded_by,
        entry.reason,
    )
    return tuple(neutralise(cell) for cell in raw)


def _chain_record(file: str, line: int, row: LedgerRow, day: date) -> ChainRecord:
    """A well-formed row as a chain record, noting when it sits in another day's file."""
    stamped = row.timestamp[:10]  # the local date as written, whatever the tz setting is now
    misplaced = "" if stamped == day.isoformat() else f"a row of {stamped} in {file}"
    return ChainRecord(
        file, line, row.data_cells(), row.prev_hash, row.row_hash, misplaced=misplaced
    )


def _csv_line(cells: Sequence[str]) -> bytes:
    """One CSV record as UTF-8 bytes ending in a single newline."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().encode("utf-8")


def _parse_line(raw: bytes) -> list[str] | None:
    """The cells of one stored line, or None when it is not a full row."""
    try:
        cells = next(csv.reader([raw.decode("utf-8")]), [])
    except (UnicodeDecodeError, csv.Error):
        return None
    return cells if len(cells) == len(COLUMNS) else None


def _split_lines(data: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines (without newlines) and the bytes after the last newline."""
    lines = data.split(b"\n")
    tail = lines.pop()
    return lines, tail


def _append_line(path: Path, line: bytes) -> None:
    """Append a whole line in one write, then force it to disk before returning."""
    with open(path, "ab") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in directory durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
