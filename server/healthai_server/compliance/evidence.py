"""The facts a compliance report is judged on: plain data, gathered once, never secrets
(keys appear as key ids and ages only)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class KeyFact:
    name: str  # what the key is for
    setting: str  # the variable that names its file
    path: str
    key_id: str | None = None  # None: the file could not be read
    age_days: float | None = None  # since the file was last written
    problem: str = ""


@dataclass(frozen=True, slots=True)
class CertificateFact:
    subject: str = ""
    serial: str = ""  # hex
    not_after: str = ""  # ISO 8601, UTC
    days_left: float = 0.0
    problem: str = ""  # set when the files are unreadable or do not form a pair


@dataclass(frozen=True, slots=True)
class AuditChainFact:
    ok: bool
    events_checked: int = 0
    tenants_checked: int = 0
    first_break: str | None = None
    error: str | None = None  # the trail could not be read at all
    checkpoints_checked: int = 0
    latest_checkpoint: str | None = None  # "#N at <time>" of the newest verified signed checkpoint


@dataclass(frozen=True, slots=True)
class TransportFact:
    mode: str  # "tls", "mtls", "plaintext" or "unconfigured" (the server would refuse to start)
    listen_addr: str
    loopback_only: bool
    certificate: CertificateFact | None = None
    client_ca: CertificateFact | None = None
    peer_identities: int = 0
    probe_port: int = 0
    metrics_port: int = 0
    metrics_host: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    generated_at: str
    auth_enabled: bool
    rbac_methods: int
    rbac_roles: tuple[str, ...]
    dev_credentials: bool
    jwt_issuer: str
    jwt_audience: str
    jwt_leeway_s: float
    transport: TransportFact
    audit: AuditChainFact
    external_llm: bool
    baa_tenants: tuple[str, ...]
    result_cache_ttl_s: float
    keys: tuple[KeyFact, ...] = field(default_factory=tuple)

    def key(self, name: str) -> KeyFact | None:
        return next((k for k in self.keys if k.name == name), None)
