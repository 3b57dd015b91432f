"""Accounts' credentials: argon2 password hashes, signed session cookies, a login rate limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

COOKIE = "invigilator_session"
SESSION_SECONDS = 12 * 3600
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing the same.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginSession:
    """Who is logged in, until when, and the token their state-changing requests must echo."""

    username: str
    role: str
    expires: int
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCookies:
    """HMAC-signed cookie values; a different key purpose from join tokens."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"login-session:" + key).digest()

    def issue(self, username: str, role: str) -> LoginSession:
        return LoginSession(
            username, role, int(time.time()) + SESSION_SECONDS, secrets.token_urlsafe(24)
        )

    def encode(self, session: LoginSession) -> str:
        body = _b64(
            json.dumps(
                {"u": session.username, "r": session.role, "e": session.expires, "c": session.csrf},
                separators=(",", ":"),
            ).encode()
        )
        return f"{body}.{self._mac(body)}"

    def decode(self, value: str | None) -> LoginSession | None:
        if not value:
            return None
        body, _, mac = value.partition(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            data = json.loads(_unb64(body))
            session = LoginSession(str(data["u"]), str(data["r"]), int(data["e"]), str(data["c"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


class LoginThrottle:
    """At most `attempts` failed logins per key (address, username) within `window` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        for key in keys:
            recent = self._failures.get(key)
            while recent and now - recent[0] > self.window:
                recent.popleft()
            if recent and len(recent) >= self.attempts:
                return True
        return False

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._failures.setdefault(key, deque()).append(time.monotonic())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
