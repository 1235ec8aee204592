"""Keys of the audit trail, all kept outside the database.

- The chain key (HMAC-SHA256) keys every event hash, so someone who can write the audit
  tables but not read this file cannot recompute a chain after editing it. Each row names
  the key id that hashed it, so the key can rotate: new rows use the current key, and
  verify looks older ids up among the retired key files.
- The checkpoint signing key (Ed25519) signs the checkpoints written outside the database;
  a verifier needs only its public key.

Key ids are derived from the key itself (a fingerprint), so a file cannot claim another id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MIN_CHAIN_KEY_BYTES = 32


@dataclass(frozen=True, slots=True, repr=False)
class ChainKey:
    key_id: str
    secret: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> ChainKey:
        if len(secret) < MIN_CHAIN_KEY_BYTES:
            raise ValueError(f"an audit chain key needs at least {MIN_CHAIN_KEY_BYTES} bytes")
        fingerprint = hashlib.sha256(b"healthai audit chain key\n" + secret).hexdigest()
        return cls(key_id=f"hk-{fingerprint[:16]}", secret=secret)

    @classmethod
    def from_file(cls, path: Path) -> ChainKey:
        return cls.from_secret(path.read_bytes())

    def __repr__(self) -> str:  # never the secret, not even in a traceback
        return f"ChainKey({self.key_id})"


class ChainKeyring:
    """The key new events are hashed with, and every key verify may meet, by id."""

    def __init__(self, current: ChainKey, retired: Iterable[ChainKey] = ()) -> None:
        self.current = current
        self._by_id = {key.key_id: key for key in (*retired, current)}

    def get(self, key_id: str) -> ChainKey | None:
        return self._by_id.get(key_id)

    @classmethod
    def from_files(cls, current: Path, retired: Iterable[Path] = ()) -> ChainKeyring:
        return cls(ChainKey.from_file(current), [ChainKey.from_file(path) for path in retired])


def signing_key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"ed-{hashlib.sha256(raw).hexdigest()[:16]}"


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key
