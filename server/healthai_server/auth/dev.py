"""Local development credentials: a signing key pair, HMAC keys and a long-lived dev token,
all under the git-ignored state folder, created on first `serve` (or `token`)."""

from __future__ import annotations

import time
from pathlib import Path

import jwt

from healthai_server.auth.tokens import ensure_secret_file, generate_signing_key, mint_token
from healthai_server.config import Settings

DEV_TENANT = "dev"
DEV_ROLES = ["clinician", "deid", "billing", "admin"]
DEV_TOKEN_TTL_S = 30 * 24 * 3600


def private_key_path(settings: Settings) -> Path:
    return settings.dev_dir / "jwt-private.pem"


def token_path(settings: Settings) -> Path:
    return settings.dev_dir / "token"


def ensure_dev_credentials(settings: Settings) -> None:
    generate_signing_key(private_key_path(settings), settings.effective_jwt_public_key_file)
    ensure_secret_file(settings.effective_audit_hmac_key_file)
    ensure_secret_file(settings.effective_audit_chain_key_file)
    generate_signing_key(
        settings.effective_audit_checkpoint_key_file, settings.effective_audit_checkpoint_public_key_file
    )
    ensure_secret_file(settings.effective_deid_key_file)
    ensure_secret_file(settings.effective_cache_key_file)
    ensure_secret_file(settings.effective_experiment_key_file)
    path = token_path(settings)
    if not path.exists() or _expires_soon(path.read_text(encoding="utf-8").strip()):
        token = mint_dev_token(settings, subject="dev-user", tenant=DEV_TENANT, roles=DEV_ROLES, ttl_s=DEV_TOKEN_TTL_S)
        path.write_text(token + "\n", encoding="utf-8")
        path.chmod(0o600)


def mint_dev_token(settings: Settings, *, subject: str, tenant: str, roles: list[str], ttl_s: int) -> str:
    return mint_token(
        private_key_path(settings).read_bytes(),
        subject=subject,
        tenant=tenant,
        roles=roles,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_s=ttl_s,
    )


def _expires_soon(token: str) -> bool:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return True
    return float(claims.get("exp", 0)) < time.time() + 24 * 3600
