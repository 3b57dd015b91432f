"""Creating exam sessions and their join links: shared by the HTTP API and the CLI."""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.config import Settings
from server.store import sessions
from server.store.database import Database
from server.store.errors import StoreError
from server.tokens import JoinClaims, TokenSigner, load_or_create_key


@dataclass(frozen=True)
class CreatedSession:
    session: sessions.SessionRecord
    links: dict[str, str]

    def to_dict(self) -> dict[str, object]:
        return {
            "session_id": self.session.id,
            "links": self.links,
            "session": self.session.to_dict(),
        }


@functools.cache
def signer_for(settings: Settings) -> TokenSigner:
    """The join-token signer of a data directory (its key is read once per process)."""
    return TokenSigner(load_or_create_key(settings.key_file))


def parse_roster(text: str) -> list[str]:
    """Roll numbers from one-per-line text or from a CSV with a roll_no column."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = [c.strip().lower() for c in next(csv.reader([lines[0]]))]
    if "roll_no" in header:
        rows = csv.DictReader(io.StringIO("\n".join(lines)), fieldnames=header)
        next(rows)
        return [(row.get("roll_no") or "").strip() for row in rows if row.get("roll_no")]
    return [line.split(",")[0].strip() for line in lines]


def link_expiry(settings: Settings, record: sessions.SessionRecord) -> datetime:
    if record.ends_at is not None:
        return record.ends_at
    return record.created_at + timedelta(hours=settings.join_link_hours)


def join_links(settings: Settings, record: sessions.SessionRecord, base_url: str) -> dict[str, str]:
    """One signed link per student on the roster."""
    signer = signer_for(settings)
    expires = link_expiry(settings, record)
    base = (settings.public_url or base_url).rstrip("/")
    return {
        roll_no: f"{base}/join/{signer.sign(JoinClaims(record.id, roll_no, expires))}"
        for roll_no in record.roster
    }


def create_session(
    settings: Settings,
    db: Database,
    name: str,
    roll_nos: list[str],
    base_url: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> CreatedSession:
    name = name.strip()
    if not name:
        raise StoreError("VALIDATION_ERROR", "a session needs a name")
    if not roll_nos:
        raise StoreError("VALIDATION_ERROR", "the roster is empty")
    if ends_at is not None and ends_at <= (starts_at or datetime.now(UTC)):
        raise StoreError("VALIDATION_ERROR", "the session must end after it starts")
    record = sessions.create_session(db, name, roll_nos, starts_at, ends_at)
    return CreatedSession(record, join_links(settings, record, base_url))
