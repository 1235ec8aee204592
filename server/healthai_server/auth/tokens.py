"""JWT verification and dev-key / dev-token minting (EdDSA over Ed25519).

Production deployments mount the issuer's public key; `make run` creates a local key
pair and token under the git-ignored state folder so everything works offline.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections import OrderedDict
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from healthai_server.auth.principal import Principal, is_valid_tenant_id
from healthai_server.domain.errors import AuthenticationFailed

ALGORITHM = "EdDSA"
_CLAIM_VALUE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


class TokenVerifier:
    """Verifies EdDSA bearer tokens. A service sends the same token on every call until it
    rotates it, so the outcome of verifying an exact token string is remembered (bounded LRU)
    until the token expires: the signature over the same bytes cannot become valid or invalid
    later, and expiry is checked again on every hit. Only successes are remembered."""

    def __init__(
        self,
        public_key_pem: bytes,
        issuer: str,
        audience: str,
        leeway_s: float = 30.0,
        *,
        cache_size: int = 1024,
    ) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem)
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_s
        self._cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires_at = remembered
            if time.time() <= expires_at + self._leeway:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires_at = self._verify_signed(token)
        if self._cache_size:
            self._verified[token] = (principal, expires_at)
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return principal

    def _verify_signed(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationFailed("TOKEN_EXPIRED", "the bearer token has expired") from exc
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as exc:
            raise AuthenticationFailed(
                "TOKEN_WRONG_AUDIENCE", "the bearer token was issued for another audience or issuer"
            ) from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(
                "TOKEN_INVALID", "the bearer token is malformed or its signature is invalid"
            ) from exc
        tenant, roles, subject = claims.get("tenant"), claims.get("roles"), claims.get("sub")
        if not isinstance(tenant, str) or not is_valid_tenant_id(tenant):
            raise AuthenticationFailed(
                "TOKEN_INVALID",
                "the bearer token's tenant claim is not a valid tenant id (letters, digits, '.', '_', '-';"
                " beginning and ending with a letter or digit)",
            )
        if not isinstance(subject, str) or not _CLAIM_VALUE.match(subject):
            raise AuthenticationFailed("TOKEN_INVALID", "the bearer token has no valid sub claim")
        if not isinstance(roles, list) or not all(isinstance(r, str) and _CLAIM_VALUE.match(r) for r in roles):
            raise AuthenticationFailed("TOKEN_INVALID", "the bearer token's roles claim must be a list of names")
        return Principal(subject=subject, tenant=tenant, roles=frozenset(roles)), float(claims["exp"])


def generate_signing_key(private_path: Path, public_path: Path) -> None:
    """Create an Ed25519 key pair if none exists (private key readable by the owner only)."""
    if private_path.exists() and public_path.exists():
        return
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_private(private_path, private_pem)
    public_path.write_bytes(public_pem)


def ensure_secret_file(path: Path, size: int = 32) -> bytes:
    """Return the random secret in `path`, creating it (owner-only) when absent."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_bytes(size))
    return path.read_bytes()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def mint_token(
    private_key_pem: bytes,
    *,
    subject: str,
    tenant: str,
    roles: list[str],
    issuer: str,
    audience: str,
    ttl_s: int = 3600,
    now: float | None = None,
) -> str:
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": subject,
        "tenant": tenant,
        "roles": roles,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, serialization.load_pem_private_key(private_key_pem, None), algorithm=ALGORITHM)  # type: ignore[arg-type]
