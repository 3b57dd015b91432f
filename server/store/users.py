"""Queries on accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.store.database import Database
from server.store.errors import StoreError
from server.store.tables import User

ROLES = ("admin", "invigilator")


@dataclass(frozen=True)
class UserRecord:
    username: str
    role: str
    password_hash: str


def add_user(db: Database, username: str, role: str, password_hash: str) -> UserRecord:
    if role not in ROLES:
        raise StoreError("VALIDATION_ERROR", f"role must be one of {', '.join(ROLES)}")
    try:
        with db.session() as session:
            session.add(User(username=username, role=role, password_hash=password_hash))
    except IntegrityError as exc:
        raise StoreError("DUPLICATE_USER", f"user {username!r} exists") from exc
    return UserRecord(username, role, password_hash)


def find_user(db: Database, username: str) -> UserRecord | None:
    with db.session() as session:
        row = session.scalar(select(User).where(User.username == username))
        return UserRecord(row.username, row.role, row.password_hash) if row else None


def set_password_hash(db: Database, username: str, password_hash: str) -> None:
    with db.session() as session:
        row = session.scalar(select(User).where(User.username == username))
        if row is not None:
            row.password_hash = password_hash


def count_users(db: Database) -> int:
    from sqlalchemy import func

    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)
