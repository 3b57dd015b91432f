"""Spreadsheet-safe CSV cells: the one place ledger text is neutralised before it is stored."""

import re

# A spreadsheet treats a cell starting with one of these as a formula (tab and carriage return
# can hide one); a leading single quote makes it plain text in Excel, LibreOffice and Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Line breaks and other control characters would split a record over several lines; the ledger
# keeps exactly one record per line so that a torn write can only ever be the last line.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def neutralise(value: str) -> str:
    """Return value as the ledger stores it: formula triggers quoted, control characters spaced."""
    if value.startswith((*FORMULA_TRIGGERS, "\n")):
        value = "'" + value
    return _CONTROL_CHARS.sub(" ", value)
