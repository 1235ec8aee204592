"""Collect the evidence from the configuration, the key and certificate files and the database.

Reads only: no key is created, no migration is run, nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from healthai_server.auth.peer import parse_peer_principals
from healthai_server.auth.rbac import RbacPolicy
from healthai_server.compliance.audit_check import verify_audit_chain
from healthai_server.compliance.evidence import (
    AuditChainFact,
    CertificateFact,
    Evidence,
    KeyFact,
    TransportFact,
)
from healthai_server.config import Settings
from healthai_server.storage.crypto import key_id
from healthai_server.tls.certificates import (
    CertificateError,
    CertificateFacts,
    facts,
    load_certificates,
    load_key_pair,
)

DAY_S = 86_400.0


def key_fact(name: str, setting: str, path: Path, now: float) -> KeyFact:
    try:
        data = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError as exc:
        return KeyFact(name, setting, str(path), problem=f"unreadable: {exc.strerror or type(exc).__name__}")
    return KeyFact(name, setting, str(path), key_id(data), round((now - mtime) / DAY_S, 1))


def _certificate_fact(facts: CertificateFacts, now: datetime) -> CertificateFact:
    return CertificateFact(
        subject=facts.subject,
        serial=f"{facts.serial:x}",
        not_after=facts.not_after.isoformat(),
        days_left=round((facts.not_after - now).total_seconds() / DAY_S, 1),
    )


def transport_fact(settings: Settings, now: datetime) -> TransportFact:
    mode = "mtls" if settings.mtls_enabled else "tls" if settings.tls_enabled else "plaintext"
    if mode == "plaintext" and not settings.plaintext:
        mode = "unconfigured"
    certificate = client_ca = None
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        try:
            pair = load_key_pair(settings.tls_cert_file, settings.tls_key_file)
            certificate = _certificate_fact(pair.leaf, now)
        except CertificateError as exc:
            certificate = CertificateFact(problem=str(exc))
    if settings.tls_client_ca_file is not None:
        try:
            client_ca = _certificate_fact(
                facts(load_certificates(settings.tls_client_ca_file, "client CA file")[0]), now
            )
        except CertificateError as exc:
            client_ca = CertificateFact(problem=str(exc))
    return TransportFact(
        mode=mode,
        listen_addr=settings.listen_addr,
        loopback_only=settings.listens_on_loopback_only,
        certificate=certificate,
        client_ca=client_ca,
        peer_identities=len(parse_peer_principals(settings.tls_peer_principals)),
        probe_port=settings.probe_port,
        metrics_port=settings.metrics_port,
        metrics_host=settings.metrics_host,
    )


def key_facts(settings: Settings, now: float) -> tuple[KeyFact, ...]:
    keys = [
        ("token-signing public key", "HEALTHAI_JWT_PUBLIC_KEY_FILE", settings.effective_jwt_public_key_file),
        ("audit HMAC key", "HEALTHAI_AUDIT_HMAC_KEY_FILE", settings.effective_audit_hmac_key_file),
        ("de-identification key", "HEALTHAI_DEID_KEY_FILE", settings.effective_deid_key_file),
        ("result cache key", "HEALTHAI_CACHE_KEY_FILE", settings.effective_cache_key_file),
    ]
    if settings.tls_key_file is not None:
        keys.append(("TLS private key", "HEALTHAI_TLS_KEY_FILE", settings.tls_key_file))
    return tuple(key_fact(name, setting, path, now) for name, setting, path in keys)


def gather(
    settings: Settings,
    env: Mapping[str, str],
    *,
    now: datetime | None = None,
    audit: Callable[[Settings], AuditChainFact] = verify_audit_chain,
) -> Evidence:
    now = now or datetime.now(UTC)
    policy = RbacPolicy.from_file()
    return Evidence(
        generated_at=now.isoformat(timespec="seconds"),
        auth_enabled=settings.auth_enabled,
        rbac_methods=len(policy.methods()),
        rbac_roles=tuple(sorted(policy.roles())),
        dev_credentials=settings.uses_dev_credentials,
        jwt_issuer=settings.jwt_issuer,
        jwt_audience=settings.jwt_audience,
        jwt_leeway_s=settings.jwt_leeway_s,
        transport=transport_fact(settings, now),
        audit=audit(settings),
        external_llm=bool(env.get("ANTHROPIC_API_KEY")),
        baa_tenants=tuple(sorted(settings.baa_tenants)),
        result_cache_ttl_s=settings.result_cache_ttl_s,
        keys=key_facts(settings, now.timestamp()),
    )
