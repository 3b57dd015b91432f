"""SHA-256 hash chain over ledger rows, and the diagnosis of where and how a chain was broken."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

GENESIS_HASH = "0" * 64

# Domain separation: a ledger row hash can never collide with some other SHA-256 use of the
# same cells, and a future format can change the tag instead of silently changing meaning.
_DOMAIN = "invigilator-ledger/v1"


def chain_hash(prev_hash: str, cells: Sequence[str]) -> str:
    """SHA-256 (hex) over the previous row's hash and this row's stored data cells."""
    # JSON is an unambiguous, easily re-implemented encoding of a list of strings: an auditor
    # can recompute a hash with any language's JSON library.
    payload = json.dumps([_DOMAIN, prev_hash, *cells], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainRecord:
    """One line of the chain as read from disk, with where it was found."""

    file: str
    line: int
    cells: tuple[str, ...] = ()
    prev_hash: str = ""
    row_hash: str = ""
    defect: str = ""  # "torn" or "malformed" when the line cannot be read as a row
    detail: str = ""  # what is wrong with a defective line
    misplaced: str = ""  # why a well-formed row sits in the wrong day's file, if it does


@dataclass(frozen=True)
class ChainBreak:
    """The first broken record: where, what kind of break (reason), and why (detail)."""

    index: int  # position in the checked sequence: also the number of good rows before it
    file: str
    line: int
    reason: str  # edited | deleted | inserted | reordered | torn | malformed
    detail: str


def find_break(records: Sequence[ChainRecord], start_prev: str = GENESIS_HASH) -> ChainBreak | None:
    """Return the first record that breaks the chain, or None when the chain is intact."""
    expected = start_prev
    for i, rec in enumerate(records):
        if rec.defect:
            return _break(records, i, rec.defect, rec.detail)
        intact = chain_hash(rec.prev_hash, rec.cells) == rec.row_hash
        if intact and rec.prev_hash == expected:
            if rec.misplaced:  # a sound row in the wrong day's file: the file was renamed
                return _break(records, i, "edited", rec.misplaced)
            expected = rec.row_hash
            continue
        return _diagnose(records, i, expected, intact)
    return None


def _diagnose(records: Sequence[ChainRecord], i: int, expected: str, intact: bool) -> ChainBreak:
    """Tell an edit, a deletion, an insertion and a reordering apart at the first bad record."""
    rec = records[i]
    following = records[i + 1] if i + 1 < len(records) else None
    next_prev = following.prev_hash if following is not None and not following.defect else None
    if not intact:
        # A row edited in place keeps its own hash; a forged row either copies another row's
        # hash or is skipped by the chain: the next row still links to the one before it.
        if any(other.row_hash == rec.row_hash for other in records if other is not rec):
            return _break(records, i, "inserted", "it repeats the row_hash of another row")
        if next_prev == expected:
            return _break(records, i, "inserted", "not in the chain: the next row links past it")
        return _break(records, i, "edited", "its cells no longer match its row_hash")
    # From here the row is genuine (its hash matches its cells) but it is out of place.
    if rec.prev_hash in {later.row_hash for later in records[i + 1 :]}:
        return _break(records, i, "reordered", "it links to a row that comes after it")
    if next_prev == expected:
        return _break(records, i, "inserted", "not in the chain: the next row links past it")
    linked_to = [j for j in range(i) if records[j].row_hash == rec.prev_hash]
    if linked_to:
        # Rows after linked_to[-1] passed the checks, but the real chain skips them.
        first = linked_to[-1] + 1
        detail = f"not in the chain: {rec.file} line {rec.line} links back past it"
        return _break(records, first, "inserted", detail)
    detail = "the row before it is missing: its prev_hash links to no row"
    return _break(records, i, "deleted", detail)


def _break(records: Sequence[ChainRecord], index: int, reason: str, detail: str) -> ChainBreak:
    """Build the break report for records[index]."""
    rec = records[index]
    return ChainBreak(index, rec.file, rec.line, reason, detail)
