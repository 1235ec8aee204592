"""Keyed note fingerprints: the audit trail and caches identify a note without its text."""

from __future__ import annotations

import hashlib
import hmac


class NoteHasher:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the note HMAC key must be at least 16 bytes")
        self._key = key

    def fingerprint(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
