"""How serious a student's flags are: one rule for the dashboard and the audit report."""

from __future__ import annotations

from collections.abc import Iterable

from server.store.sessions import EventRecord

# Alerts that point at another person or a forged document come first.
HIGH = {"different_person", "multiple_faces", "verification_failed"}
MEDIUM = {"face_absent", "tab_switch"}


def is_flag(event: EventRecord) -> bool:
    return event.severity in ("warning", "alert")


def review_priority(events: Iterable[EventRecord]) -> str:
    """high, medium, low (flags but none serious) or "" (nothing to review)."""
    flags = [e for e in events if is_flag(e)]
    if not flags:
        return ""
    kinds = {e.kind for e in flags}
    verdicts = {str(e.detail.get("verdict")) for e in flags if e.kind == "id_check"}
    if kinds & HIGH or "forged" in verdicts:
        return "high"
    if kinds & MEDIUM or "suspicious" in verdicts:
        return "medium"
    return "low"


def settled_status(verified: bool, events: list[EventRecord]) -> str:
    """Where a student ended up: verified, flagged (verified, with flags), failed or absent."""
    if verified:
        return "flagged" if any(is_flag(e) for e in events) else "verified"
    if any(e.kind == "verification_failed" for e in events):
        return "failed"
    return "absent"
