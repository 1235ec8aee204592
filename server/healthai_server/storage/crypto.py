"""AES-256-GCM for PHI-bearing columns, with key ids so keys can rotate.

Ciphertexts are stored as `key_id:nonce:ciphertext` (base64 parts). New data uses the
active key; old data stays readable while its key remains in the key ring. The
associated data binds a ciphertext to its row (tenant and key), so a value copied
into another tenant's row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def key_id(key: bytes) -> str:
    """A key's public name: the first 8 hex digits of its SHA-256. It appears in every ciphertext
    and in the compliance report, so an operator can tell which key is which without the key."""
    return hashlib.sha256(key).hexdigest()[:8]


class DecryptionError(Exception):
    """A value could not be decrypted (unknown key id, or tampered or misplaced data)."""


class FieldEncryptor:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active key id {active_key_id!r} is not in the key ring")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} must be 32 bytes for AES-256-GCM")
            if ":" in key_id:
                raise ValueError("key ids must not contain ':'")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active_key_id

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._ciphers[self._active].encrypt(nonce, plaintext, associated_data)
        return ":".join([self._active, base64.b64encode(nonce).decode(), base64.b64encode(sealed).decode()])

    def decrypt(self, stored: str, associated_data: bytes) -> bytes:
        try:
            key_id, nonce, sealed = stored.split(":")
            cipher = self._ciphers[key_id]
            return cipher.decrypt(base64.b64decode(nonce), base64.b64decode(sealed), associated_data)
        except (ValueError, KeyError, InvalidTag) as exc:
            raise DecryptionError("stored value cannot be decrypted with the configured keys") from exc
