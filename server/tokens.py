"""Signed, expiring join tokens: a student's only credential, bound to session and roll number."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from server.api.errors import ApiError


@dataclass(frozen=True)
class JoinClaims:
    """Who a join token admits, to which session, until when."""

    session_id: str
    roll_no: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """HMAC-SHA256 over a compact JSON payload; the key never leaves the server."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, claims: JoinClaims) -> str:
        payload = json.dumps(
            {"s": claims.session_id, "r": claims.roll_no, "e": int(claims.expires_at.timestamp())},
            separators=(",", ":"),
        ).encode()
        body = _b64(payload)
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str, now: datetime | None = None) -> JoinClaims:
        """The claims of a genuine, unexpired token; 403 otherwise."""
        body, _, mac = token.partition(".")
        if not body or not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise ApiError("INVALID_TOKEN", "this join link is not valid")
        try:
            payload = json.loads(_unb64(body))
            claims = JoinClaims(
                session_id=str(payload["s"]),
                roll_no=str(payload["r"]),
                expires_at=datetime.fromtimestamp(int(payload["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError("INVALID_TOKEN", "this join link is not valid") from exc
        if (now or datetime.now(UTC)) >= claims.expires_at:
            raise ApiError("TOKEN_EXPIRED", "this join link has expired")
        return claims

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:24])


def load_or_create_key(path: Path) -> bytes:
    """The signing key kept in the data directory (created once, readable by the owner only)."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
