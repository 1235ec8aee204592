"""Sealed-cookie sessions: the browser carries its own session, encrypted; no replica keeps it.

A session is sealed with AES-256-GCM by the key ring the result cache and review tasks use
(`storage.crypto.FieldEncryptor`: key ids, the first key seals, every key opens) and travels as
the session cookie. So a console restart signs nobody out, and any replica that holds the key
ring can serve any request without sticky routing. What the cookie holds: the reviewer's bearer
token, who the token names (subject, tenant), the CSRF token, the absolute expiry, when the
session was last used, a random session id and at most a few one-line flash messages. Never note
text, item values or a patient's anything (the tasks a reviewer opened stay in the process that
fetched them: console/recent.py).

Idle timeout without shared state: `last_seen` is inside the seal and every request re-seals
the session with the new time (views' session middleware), so a cookie not used for the idle
timeout no longer opens anywhere. A cookie that is tampered with, sealed by a key that is no
longer in the ring, expired, idle too long or malformed opens as None: signed out.

Sign-out clears the cookie in the browser. A copy taken before sign-out keeps opening until its
expiry (the token's own `exp`, capped at `max_lifetime_s`); the console holds no revocation list
because that needs state shared by every replica. The README says why that bound is accepted
and how to sign everyone out at once (drop the key from the ring).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from healthai_server.console.model import Reviewer
from healthai_server.storage.crypto import DecryptionError, FieldEncryptor, key_id

# Binds a ciphertext to this use: a value sealed under the same key for anything else (a
# cache row, a review task column) does not open as a session, nor a session as one of those.
SESSION_AAD = b"healthai-console/session/v1"
FORMAT_VERSION = 1
# Browsers keep at most 4096 bytes of name=value per cookie; the name and attributes need room.
MAX_COOKIE_CHARS = 3900
MAX_FLASHES = 3
MAX_FLASH_CHARS = 240
# Sealing runs the timestamps through JSON; a clock a little ahead on another replica must not
# make a fresh cookie look forged.
CLOCK_SKEW_S = 60.0

_TO_COOKIE = str.maketrans("+/", "-_")
_FROM_COOKIE = str.maketrans("-_", "+/")


class SessionTooLarge(ValueError):
    """The sealed session would not fit in a cookie (a very long token)."""


@dataclass
class Session:
    session_id: str  # random; names the session in this process's memory, never a person
    token: str
    reviewer: Reviewer
    csrf_token: str
    expires_at: float  # the token's own expiry, capped at the session's maximum lifetime
    last_seen: float
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (level, message), shown once

    def flash(self, level: str, message: str) -> None:
        self.flashes.append((level, message[:MAX_FLASH_CHARS]))
        del self.flashes[:-MAX_FLASHES]

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken


def load_key_ring(keys: list[bytes]) -> FieldEncryptor:
    """The first key seals; every key opens (rotation: see the README's console section)."""
    if not keys:
        raise ValueError("the console needs at least one session key")
    ring = {key_id(key): key for key in keys}
    return FieldEncryptor(ring, key_id(keys[0]))


class SessionStore:
    """Seals sessions into cookie values and opens them again; holds no session itself."""

    def __init__(
        self,
        keys: FieldEncryptor,
        *,
        idle_timeout_s: float = 30 * 60,
        max_lifetime_s: float = 12 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self.idle_timeout_s = idle_timeout_s
        self._max_lifetime_s = max_lifetime_s
        self._clock = clock

    def create(self, token: str, reviewer: Reviewer, token_expires_at: float | None) -> Session:
        """A new session; SessionTooLarge when it cannot travel as a cookie."""
        now = self._clock()
        expires_at = now + self._max_lifetime_s
        if token_expires_at is not None:
            expires_at = min(expires_at, token_expires_at)
        session = Session(
            session_id=secrets.token_urlsafe(16),
            token=token,
            reviewer=reviewer,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=expires_at,
            last_seen=now,
        )
        if len(self.seal(session)) > MAX_COOKIE_CHARS:
            raise SessionTooLarge(f"a session for this token needs more than {MAX_COOKIE_CHARS} cookie characters")
        return session

    def seal(self, session: Session) -> str:
        """The cookie value: the session encrypted under the active key. Flashes that would push it
        past the cookie limit are dropped (they are a courtesy; the session is not)."""
        flashes = list(session.flashes)
        while True:
            value = self._seal(session, flashes)
            if len(value) <= MAX_COOKIE_CHARS or not flashes:
                return value
            flashes.pop(0)

    def _seal(self, session: Session, flashes: list[tuple[str, str]]) -> str:
        payload = {
            "v": FORMAT_VERSION,
            "sid": session.session_id,
            "tok": session.token,
            "sub": session.reviewer.subject,
            "ten": session.reviewer.tenant,
            "csrf": session.csrf_token,
            "exp": round(session.expires_at, 3),
            "seen": round(session.last_seen, 3),
            "fl": [list(pair) for pair in flashes],
        }
        plain = json.dumps(payload, separators=(",", ":")).encode()
        # key_id:nonce:ciphertext in base64; made cookie-safe without quoting ('+/' -> '-_', no '=').
        return self._keys.encrypt(plain, SESSION_AAD).translate(_TO_COOKIE).replace("=", "")

    def open(self, value: str | None) -> Session | None:
        """The session in a cookie value, touched (last_seen = now); None for anything that is not a
        live session of ours: absent, malformed, tampered, another key, expired or idle."""
        if not value or len(value) > MAX_COOKIE_CHARS:
            return None
        session = self._unseal(value)
        if session is None:
            return None
        now = self._clock()
        if now >= session.expires_at or now - session.last_seen >= self.idle_timeout_s:
            return None
        if session.last_seen > now + CLOCK_SKEW_S:
            return None
        session.last_seen = max(now, session.last_seen)
        return session

    def _unseal(self, value: str) -> Session | None:
        parts = value.translate(_FROM_COOKIE).split(":")
        if len(parts) != 3:
            return None
        kid, nonce, sealed = parts
        stored = ":".join((kid, nonce + "=" * (-len(nonce) % 4), sealed + "=" * (-len(sealed) % 4)))
        try:
            payload = json.loads(self._keys.decrypt(stored, SESSION_AAD))
        except (DecryptionError, ValueError):
            return None
        return _session_from(payload)


def _session_from(payload: Any) -> Session | None:
    """The payload as a Session, or None when it is not the shape this version seals."""
    try:
        if payload["v"] != FORMAT_VERSION:
            return None
        texts = [payload[name] for name in ("sid", "tok", "sub", "ten", "csrf")]
        times = [payload["exp"], payload["seen"]]
        flashes = [(str(level), str(message)) for level, message in payload["fl"]]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(isinstance(text, str) for text in texts) or not all(
        isinstance(t, int | float) and not isinstance(t, bool) for t in times
    ):
        return None
    sid, token, subject, tenant, csrf = texts
    if not sid or not token or not csrf:
        return None
    return Session(
        session_id=sid,
        token=token,
        reviewer=Reviewer(subject=subject, tenant=tenant),
        csrf_token=csrf,
        expires_at=float(times[0]),
        last_seen=float(times[1]),
        flashes=flashes,
    )
