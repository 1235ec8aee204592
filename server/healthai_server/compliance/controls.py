"""HIPAA §164.312 technical safeguards, each judged on the evidence: pass, warn or fail.

A fail means a required control is off (auth disabled, plaintext reachable from the network,
the audit chain broken or unreadable, an unusable certificate); the report then exits
non-zero so a deployment pipeline can gate on it. A warn needs a person's attention but is
not by itself a missing control (dev credentials, an ageing key, plaintext on loopback).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from healthai_server.compliance.evidence import CertificateFact, Evidence, KeyFact

KEY_MAX_AGE_DAYS = 365.0  # past this a key is reported for rotation
CERT_WARN_DAYS = 14.0  # cert-manager renews at 2/3 of the lifetime; this is a late warning


class Status(IntEnum):
    """Ordered so that the worst of several is max()."""

    PASS = 0
    WARN = 1
    FAIL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    status: Status
    evidence: str


@dataclass(frozen=True, slots=True)
class ControlResult:
    section: str  # e.g. "164.312(a)(1)"
    title: str
    findings: tuple[Finding, ...]

    @property
    def status(self) -> Status:
        return max((f.status for f in self.findings), default=Status.PASS)


def _key(evidence: Evidence, name: str, *, required: bool = True) -> Finding:
    key: KeyFact | None = evidence.key(name)
    if key is None:
        return Finding(name, Status.FAIL, "not configured")
    where = f"{key.setting}={key.path}"
    if key.key_id is None:
        status = Status.WARN if evidence.dev_credentials or not required else Status.FAIL
        return Finding(name, status, f"{key.problem} ({where})")
    age = key.age_days or 0.0
    status = Status.WARN if age > KEY_MAX_AGE_DAYS else Status.PASS
    return Finding(name, status, f"key id {key.key_id}, {age:g} days old ({where})")


def _auth_off() -> Finding:
    return Finding(
        "authentication and RBAC enforced",
        Status.FAIL,
        "HEALTHAI_AUTH_ENABLED=false: every caller is treated as a local admin",
    )


def access_control(e: Evidence) -> ControlResult:
    findings = [
        Finding(
            "authentication and RBAC enforced",
            Status.PASS,
            f"bearer token or mapped client certificate on every RPC but health and reflection; RBAC policy "
            f"covers {e.rbac_methods} methods (roles: {', '.join(e.rbac_roles)}); unlisted methods are denied",
        )
        if e.auth_enabled
        else _auth_off(),
        Finding(
            "unique user identification (required)",
            Status.PASS if e.auth_enabled else Status.FAIL,
            f"each call's principal is the token's sub and tenant, or a mapped peer identity "
            f"({e.transport.peer_identities} mapped); recorded in every audit event"
            if e.auth_enabled
            else "no caller is identified",
        ),
        Finding(
            "automatic logoff (addressable)",
            Status.PASS if e.auth_enabled else Status.FAIL,
            f"tokens must carry exp; checked on every call ({e.jwt_leeway_s:g} s leeway)",
        ),
        Finding(
            "PHI guard (minimum necessary to an external model)",
            Status.PASS,
            (
                f"external LLM on; notes leave un-redacted only for BAA tenants "
                f"[{', '.join(e.baa_tenants) or 'none'}], all others are sent with surrogates"
            )
            if e.external_llm
            else "no external model configured: notes are processed in-process only",
        ),
    ]
    if e.result_cache_ttl_s > 0:
        cache = _key(e, "result cache key", required=e.external_llm)
        findings.append(
            Finding(
                "encryption and decryption at rest (addressable)",
                cache.status,
                f"cached results are AES-256-GCM; {cache.evidence}",
            )
        )
    return ControlResult("164.312(a)(1)", "Access control", tuple(findings))


def _chain(e: Evidence, check: str) -> Finding:
    a = e.audit
    if a.error is not None:
        return Finding(check, Status.FAIL, a.error)
    if not a.ok:
        return Finding(check, Status.FAIL, f"BROKEN at {a.first_break}")
    return Finding(
        check,
        Status.PASS,
        f"{a.events_checked} events in {a.tenants_checked} tenant(s) verified just now "
        "(per-tenant hash chain, checked against its head row)",
    )


def _checkpoint(e: Evidence) -> Finding:
    a = e.audit
    if a.latest_checkpoint is None:
        return Finding(
            "signed checkpoint",
            Status.WARN,
            "none verified: a rewrite of a chain together with its head row is only detectable against "
            "an Ed25519-signed checkpoint kept outside the database (HEALTHAI_AUDIT_CHECKPOINT_DIR)",
        )
    return Finding(
        "signed checkpoint",
        Status.PASS,
        f"{a.checkpoints_checked} signed checkpoint(s) verified, latest {a.latest_checkpoint}; "
        "ship the directory off the host so a database administrator cannot rewrite both",
    )


def audit_controls(e: Evidence) -> ControlResult:
    return ControlResult(
        "164.312(b)",
        "Audit controls",
        (
            _chain(e, "every RPC recorded in a verifiable audit trail"),
            _checkpoint(e),
            _key(e, "audit HMAC key"),
            Finding(
                "retention",
                Status.PASS,
                f"audit events are never deleted by the service; encrypted result cache TTL "
                f"{e.result_cache_ttl_s / 3600:g} h",
            ),
        ),
    )


def integrity(e: Evidence) -> ControlResult:
    return ControlResult(
        "164.312(c)(1)",
        "Integrity",
        (
            _chain(e, "audit records unaltered"),
            Finding(
                "mechanism to authenticate ePHI (addressable)",
                Status.PASS,
                "cached results use authenticated encryption bound to tenant and key (AES-GCM); "
                "notes are identified by keyed HMAC-SHA256 fingerprints, never stored as text",
            ),
            _key(e, "de-identification key"),
        ),
    )


def authentication(e: Evidence) -> ControlResult:
    if not e.auth_enabled:
        return ControlResult("164.312(d)", "Person or entity authentication", (_auth_off(),))
    signing = _key(e, "token-signing public key")
    findings = [
        Finding(
            "token verification",
            signing.status,
            f"EdDSA JWTs from issuer {e.jwt_issuer!r} for audience {e.jwt_audience!r}; {signing.evidence}",
        )
    ]
    if e.dev_credentials:
        findings.append(
            Finding(
                "identity provider",
                Status.WARN,
                "dev credentials: the server signs its own tokens (HEALTHAI_JWT_PUBLIC_KEY_FILE unset)",
            )
        )
    t = e.transport
    findings.append(
        Finding(
            "service identities (mTLS)",
            Status.PASS,
            f"client certificates verified against {_cert_text(t.client_ca)}; {t.peer_identities} peer "
            "identities mapped to principals"
            if t.mode == "mtls"
            else "off: services authenticate with bearer tokens",
        )
    )
    return ControlResult("164.312(d)", "Person or entity authentication", tuple(findings))


def _cert_text(cert: CertificateFact | None) -> str:
    if cert is None:
        return "(none)"
    if cert.problem:
        return cert.problem
    return f"{cert.subject} (serial {cert.serial}, valid until {cert.not_after}, {cert.days_left:g} days left)"


def _certificate(cert: CertificateFact | None, check: str) -> Finding:
    if cert is None or cert.problem:
        return Finding(check, Status.FAIL, _cert_text(cert))
    if cert.days_left <= 0:
        return Finding(check, Status.FAIL, f"EXPIRED: {_cert_text(cert)}")
    return Finding(check, Status.WARN if cert.days_left < CERT_WARN_DAYS else Status.PASS, _cert_text(cert))


def transmission_security(e: Evidence) -> ControlResult:
    t = e.transport
    check = "encryption in transit on the gRPC port (addressable, treated as required)"
    findings: list[Finding] = []
    if t.mode in {"tls", "mtls"}:
        findings.append(Finding(check, Status.PASS, f"{t.mode.upper()} on {t.listen_addr}"))
        findings.append(_certificate(t.certificate, "server certificate"))
        findings.append(
            Finding("certificate rotation", Status.PASS, "files re-read at the next connection after they change")
        )
        if t.mode == "mtls":
            findings.append(_certificate(t.client_ca, "client CA"))
    elif t.mode == "plaintext" and t.loopback_only:
        findings.append(
            Finding(check, Status.WARN, f"plaintext on {t.listen_addr}, loopback only (HEALTHAI_PLAINTEXT=true)")
        )
    elif t.mode == "plaintext":
        findings.append(Finding(check, Status.FAIL, f"PLAINTEXT reachable from the network on {t.listen_addr}"))
    else:
        findings.append(
            Finding(check, Status.FAIL, "no certificate and no HEALTHAI_PLAINTEXT: the server would not start")
        )
    if t.probe_port:
        findings.append(
            Finding(
                "probe port",
                Status.PASS,
                f"plaintext on :{t.probe_port} by design (kubelet's gRPC probe has no TLS); serves "
                "grpc.health.v1 only, no notes or tokens",
            )
        )
    if t.metrics_port:
        findings.append(
            Finding(
                "metrics port",
                Status.PASS,
                f"plaintext HTTP on {t.metrics_host}:{t.metrics_port}; counters and latencies only, "
                "tenants outside HEALTHAI_METRICS_TENANTS reported as 'other'",
            )
        )
    return ControlResult("164.312(e)(1)", "Transmission security", tuple(findings))


SAFEGUARDS: tuple[Callable[[Evidence], ControlResult], ...] = (
    access_control,
    audit_controls,
    integrity,
    authentication,
    transmission_security,
)


def evaluate(evidence: Evidence) -> list[ControlResult]:
    return [safeguard(evidence) for safeguard in SAFEGUARDS]


def exit_code(results: list[ControlResult]) -> int:
    """1 when any required control is off, else 0 (warnings do not fail a pipeline)."""
    return 1 if any(result.status is Status.FAIL for result in results) else 0
