"""One typed settings object, read from the environment and an optional TOML file.

Precedence: environment variable > file (HEALTHAI_CONFIG_FILE) > default. Every key
is validated once at start-up; a bad value raises ConfigError naming the key.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from healthai_server.auth.peer import parse_peer_principals

DEFAULT_STATE_DIR = Path(".healthai")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key."""


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _parse_csv(raw: str) -> frozenset[str]:
    return frozenset(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Service settings. Field name `x_y` is read from env HEALTHAI_X_Y or file key `x_y`."""

    listen_addr: str = "127.0.0.1:50051"
    state_dir: Path = DEFAULT_STATE_DIR
    database_url: str = ""  # empty: SQLite file under state_dir
    max_note_chars: int = 100_000
    max_message_bytes: int = 8 * 1024 * 1024
    max_metadata_bytes: int = 16 * 1024
    shutdown_grace_s: float = 20.0
    engine_workers: int = 0  # 0: one per CPU; -1: run the engine in the server process
    # In-flight calls before shedding. 0 = automatic: 8 per engine worker when only the local
    # engine serves (CPU bound: more in flight only lengthens every call), 1024 with an LLM
    # backend (calls mostly wait on the network).
    max_concurrent_rpcs: int = 0
    # In-flight calls per tenant. 0 = automatic: half of max_concurrent_rpcs, so one tenant can
    # never hold every slot and another always finds room.
    max_concurrent_rpcs_per_tenant: int = 0
    # Calls gRPC itself keeps open at once, counted from their headers (before their message has
    # arrived or their token was checked). Only a memory bound, far above the admitted calls: past
    # it gRPC refuses every call, health included, without RetryInfo, log or audit.
    max_open_calls: int = 4096
    # HTTP/2 streams (calls) one connection may have open at once.
    max_streams_per_connection: int = 128
    # A unary call's request message must arrive within this many seconds of its headers.
    request_message_timeout_s: float = 10.0
    # A stream ends with DEADLINE_EXCEEDED (audited) when its next message does not arrive in time.
    stream_idle_timeout_s: float = 30.0
    # Calls refused for a missing or bad token are audited as one row per source address per
    # window, with a count, instead of one row each (a flood cannot grow the audit trail freely).
    unauthenticated_audit_window_s: float = 60.0
    engine_queue_limit: int = 64  # hard cap on CPU work pending for the engine workers; 0 = unbounded
    # Shed engine work whose expected wait for a worker exceeds this (0 = never by wait). Once the
    # workers are busy a longer queue adds latency, not throughput; 50 ms keeps accepted calls
    # within the latency objective and tells the rest, with RetryInfo, when to come back.
    engine_max_queue_wait_ms: int = 50
    auth_enabled: bool = True
    jwt_public_key_file: Path | None = None  # default: state_dir/dev/jwt-public.pem
    jwt_issuer: str = "healthai-dev"
    jwt_audience: str = "healthai"
    jwt_leeway_s: float = 30.0
    audit_hmac_key_file: Path | None = None  # default: state_dir/dev/audit-hmac.key (note fingerprints)
    # The audit chain's HMAC key, outside the database (default: state_dir/dev/audit-chain.key).
    # Rotate by pointing this at a new file and listing the old one among the retired files:
    # new events use the new key, verify finds old rows' keys by the key id on each row.
    audit_chain_key_file: Path | None = None
    audit_chain_retired_key_files: frozenset[str] = field(default_factory=frozenset)  # comma-separated paths
    # Signed checkpoints of every tenant's chain head, written outside the database. Point the
    # directory at storage the database's administrators cannot rewrite (another volume, an
    # object-locked bucket mount); default: state_dir/audit-checkpoints.
    audit_checkpoint_dir: Path | None = None
    audit_checkpoint_key_file: Path | None = None  # Ed25519 private key; default: state_dir/dev/
    audit_checkpoint_public_key_file: Path | None = None  # what a verifier needs; default: state_dir/dev/
    audit_checkpoint_every_events: int = 1000  # also write one after this many events (0: only by time)
    audit_checkpoint_interval_s: float = 60.0  # and at least this often (0: only by count), and on shutdown
    # How long an audit write waits for a tenant's chain-head row locked by another session
    # (PostgreSQL); past it that tenant's batch fails with UNAVAILABLE instead of stalling.
    audit_lock_timeout_ms: int = 2000
    deid_key_file: Path | None = None  # default: state_dir/dev/deid.key (surrogates, date shifts)
    # Hospital, clinic, practice and university names are removed too (not one of the 18 Safe
    # Harbor identifiers, but they narrow a patient down; the issue saw them reach an LLM).
    phi_organizations: bool = True
    # A JSON file of extra pattern recognizers (see phi/registry.py), loaded by every worker.
    phi_recognizers_config: Path | None = None
    metrics_port: int = 0  # 0: no metrics HTTP server
    # A second gRPC port serving only grpc.health.v1 (for kubelet probes), outside the in-flight
    # cap: under overload the main port sheds calls, and a shed probe would pull a healthy pod
    # out of rotation. 0: none (health is still served on the main port).
    probe_port: int = 0
    # How often health re-probes the engine workers and the database (NOT_SERVING while one fails).
    health_check_interval_s: float = 2.0
    metrics_host: str = "127.0.0.1"
    metrics_tenants: frozenset[str] = field(default_factory=frozenset)
    log_level: str = "INFO"
    baa_tenants: frozenset[str] = field(default_factory=frozenset)
    anthropic_model: str = "claude-sonnet-4-6"
    anthropic_prompt_version: str = ""  # empty: the latest version of each prompt
    backend_timeout_s: float = 30.0
    llm_retry_max_attempts: int = 3
    llm_retry_base_delay_s: float = 0.25
    llm_retry_max_delay_s: float = 4.0
    llm_retry_after_cap_s: float = 10.0
    llm_breaker_fail_max: int = 5
    llm_breaker_reset_timeout_s: float = 30.0
    llm_fallback_reserve_s: float = 0.25
    llm_prices: dict[str, Any] = field(default_factory=dict)  # {"model": {"input": "3", "output": "15", ...}}
    budgets: dict[str, Any] = field(default_factory=dict)  # {"tenant" or "default": {"daily_limit_micros": ...}}
    result_cache_ttl_s: float = 24 * 3600.0
    # A/B arms and a shadow candidate (see experiments/arms.py for the shape); empty: none.
    experiments: dict[str, Any] = field(default_factory=dict)
    # HMAC key that assigns notes to arms (default: state_dir/dev/experiment.key). Changing it
    # reshuffles every note's arm, so keep it for the life of an experiment.
    experiment_key_file: Path | None = None
    # A shadow call's own time limit (it never holds up an answer; this bounds the work).
    shadow_timeout_s: float = 30.0
    purge_interval_s: float = 300.0  # how often expired rows (result cache, ...) are deleted
    cache_key_file: Path | None = None  # default: state_dir/dev/cache.key (AES-256-GCM)
    # Human review (ReviewService). Off: no answer is queued (request_review is ignored).
    review_routing: bool = False
    # Confidence under which an item goes to review, per item type, e.g.
    # {"default": 0.5, "medication": 0.8} (types: condition, medication, vital_sign, allergy).
    review_thresholds: dict[str, Any] = field(default_factory=dict)
    review_lease_s: float = 300.0  # how long a claim holds a task before it returns to the queue
    # After this, a task's note text is erased and undecided tasks deleted (scheduled purge).
    review_retention_days: float = 30.0
    review_backlog_interval_s: float = 30.0  # how often the backlog metrics are refreshed
    # Batch jobs (services/batch.py, batch/runner.py). Every server consumes the queue; 0 consumers
    # makes a replica accept and serve jobs without processing notes.
    batch_consumers: int = 1
    batch_max_notes: int = 100_000  # notes per job
    batch_max_attempts: int = 5  # a note that fails this many times becomes a dead letter
    batch_retry_base_delay_s: float = 1.0  # backoff before the 2nd attempt; doubles, full jitter
    batch_retry_max_delay_s: float = 60.0
    batch_lease_s: float = 60.0  # a claimed note is claimable again this long after its consumer died
    batch_claim_size: int = 32  # notes claimed per round trip
    batch_concurrency: int = 0  # engine calls in flight per server; 0: 2 per engine worker
    batch_notes_per_call: int = 4  # notes sent to an engine worker in one call (one round trip per group)
    # Idle consumers look for work this often (a new or replayed job wakes them at once; the
    # poll finds notes whose retry delay has passed, and each poll is a write transaction).
    batch_poll_interval_s: float = 1.0
    batch_retention_s: float = 30 * 86_400.0  # jobs, results and dead letters are kept this long
    idempotency_ttl_s: float = 30 * 86_400.0  # request ids (AIP-155) are remembered this long
    # Transport security of the main gRPC port: the server certificate (chain) and its private
    # key, PEM, both or neither. Re-read when either file changes (checked at each new
    # connection), so a rotated certificate is served without a restart.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # CA bundle (PEM) for client certificates. Set: every connection must present a certificate
    # that chains to it (mTLS). gRPC Python can require a client certificate or not ask for one;
    # it cannot ask for one optionally, so with mTLS on, JWT-only clients need a certificate too.
    tls_client_ca_file: Path | None = None
    # Verified peer identity (SPIFFE id, else the subject CN) -> {"tenant": "t", "roles": [...]}:
    # service-to-service principals next to JWTs. A bearer token, when sent, still decides.
    tls_peer_principals: dict[str, Any] = field(default_factory=dict)
    # Serve the main port without TLS. Never implicit: without a certificate the server refuses
    # to start unless this is true (`make run` sets it, on loopback).
    plaintext: bool = False

    @property
    def sqlite_path(self) -> Path:
        return self.state_dir / "healthai.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def dev_dir(self) -> Path:
        return self.state_dir / "dev"

    @property
    def effective_jwt_public_key_file(self) -> Path:
        return self.jwt_public_key_file or self.dev_dir / "jwt-public.pem"

    @property
    def effective_audit_hmac_key_file(self) -> Path:
        return self.audit_hmac_key_file or self.dev_dir / "audit-hmac.key"

    @property
    def effective_audit_chain_key_file(self) -> Path:
        return self.audit_chain_key_file or self.dev_dir / "audit-chain.key"

    @property
    def effective_audit_checkpoint_dir(self) -> Path:
        return self.audit_checkpoint_dir or self.state_dir / "audit-checkpoints"

    @property
    def effective_audit_checkpoint_key_file(self) -> Path:
        return self.audit_checkpoint_key_file or self.dev_dir / "audit-checkpoint-private.pem"

    @property
    def effective_audit_checkpoint_public_key_file(self) -> Path:
        return self.audit_checkpoint_public_key_file or self.dev_dir / "audit-checkpoint-public.pem"

    @property
    def effective_deid_key_file(self) -> Path:
        return self.deid_key_file or self.dev_dir / "deid.key"

    @property
    def effective_cache_key_file(self) -> Path:
        return self.cache_key_file or self.dev_dir / "cache.key"

    @property
    def effective_experiment_key_file(self) -> Path:
        return self.experiment_key_file or self.dev_dir / "experiment.key"

    @property
    def uses_dev_credentials(self) -> bool:
        return self.jwt_public_key_file is None

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert_file is not None

    @property
    def mtls_enabled(self) -> bool:
        return self.tls_client_ca_file is not None

    @property
    def listens_on_loopback_only(self) -> bool:
        return is_loopback_host(self.listen_addr.rpartition(":")[0])


def is_loopback_host(host: str) -> bool:
    """True for addresses only this machine can reach; 0.0.0.0, [::] and names are not."""
    host = host.strip("[]").lower()
    return host in {"localhost", "::1"} or host.startswith("127.")


_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": _parse_bool,
    "Path": Path,
    "Path | None": lambda raw: Path(raw) if raw else None,
    "frozenset[str]": _parse_csv,
    "dict[str, Any]": json.loads,
}


_THRESHOLD_KEYS = frozenset({"default", "condition", "medication", "vital_sign", "allergy"})
_THRESHOLDS_HELP = "must map default, condition, medication, vital_sign or allergy to a number from 0 to 1"


def _thresholds_ok(raw: dict[str, Any]) -> bool:
    return all(
        key in _THRESHOLD_KEYS and isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
        for key, value in raw.items()
    )


def _validate(settings: Settings) -> None:
    checks: list[tuple[str, bool, str]] = [
        ("max_note_chars", 1 <= settings.max_note_chars <= 1_000_000, "must be between 1 and 1000000"),
        ("max_message_bytes", settings.max_message_bytes >= 64 * 1024, "must be at least 65536"),
        ("max_metadata_bytes", settings.max_metadata_bytes >= 1024, "must be at least 1024"),
        ("shutdown_grace_s", 0 <= settings.shutdown_grace_s <= 600, "must be between 0 and 600"),
        ("engine_workers", settings.engine_workers >= -1, "must be -1, 0 or a positive count"),
        ("max_concurrent_rpcs", settings.max_concurrent_rpcs >= 0, "must be 0 (automatic) or positive"),
        ("max_concurrent_rpcs_per_tenant", settings.max_concurrent_rpcs_per_tenant >= 0, "must be 0 or positive"),
        ("max_open_calls", settings.max_open_calls >= 64, "must be at least 64"),
        (
            "max_open_calls",
            settings.max_open_calls >= 2 * settings.max_concurrent_rpcs,
            "must be at least twice HEALTHAI_MAX_CONCURRENT_RPCS (it is only a memory bound)",
        ),
        ("max_streams_per_connection", settings.max_streams_per_connection >= 1, "must be at least 1"),
        (
            "request_message_timeout_s",
            0 < settings.request_message_timeout_s <= 600,
            "must be more than 0 and at most 600",
        ),
        ("stream_idle_timeout_s", 0 < settings.stream_idle_timeout_s <= 3600, "must be more than 0 and at most 3600"),
        (
            "unauthenticated_audit_window_s",
            1 <= settings.unauthenticated_audit_window_s <= 3600,
            "must be between 1 and 3600",
        ),
        ("engine_queue_limit", settings.engine_queue_limit >= 0, "must be 0 or positive"),
        ("engine_max_queue_wait_ms", settings.engine_max_queue_wait_ms >= 0, "must be 0 or positive"),
        ("metrics_port", 0 <= settings.metrics_port <= 65535, "must be a TCP port or 0"),
        ("probe_port", 0 <= settings.probe_port <= 65535, "must be a TCP port or 0"),
        ("purge_interval_s", 1 <= settings.purge_interval_s <= 86_400, "must be between 1 and 86400"),
        ("review_lease_s", 1 <= settings.review_lease_s <= 86_400, "must be between 1 and 86400"),
        ("review_backlog_interval_s", 1 <= settings.review_backlog_interval_s <= 3600, "must be between 1 and 3600"),
        ("review_retention_days", 0 < settings.review_retention_days <= 3660, "must be more than 0 and at most 3660"),
        ("review_thresholds", _thresholds_ok(settings.review_thresholds), _THRESHOLDS_HELP),
        ("health_check_interval_s", 0.1 <= settings.health_check_interval_s <= 300, "must be between 0.1 and 300"),
        ("listen_addr", ":" in settings.listen_addr, "must be host:port"),
        ("log_level", settings.log_level.upper() in {"DEBUG", "INFO", "WARNING", "ERROR"}, "unknown level"),
        ("backend_timeout_s", settings.backend_timeout_s > 0, "must be positive"),
        ("llm_retry_max_attempts", 1 <= settings.llm_retry_max_attempts <= 10, "must be between 1 and 10"),
        ("llm_breaker_fail_max", settings.llm_breaker_fail_max >= 1, "must be at least 1"),
        ("llm_breaker_reset_timeout_s", settings.llm_breaker_reset_timeout_s > 0, "must be positive"),
        ("result_cache_ttl_s", settings.result_cache_ttl_s >= 0, "must be 0 (off) or positive"),
        ("shadow_timeout_s", 0 < settings.shadow_timeout_s <= 600, "must be more than 0 and at most 600"),
        ("batch_consumers", 0 <= settings.batch_consumers <= 64, "must be between 0 and 64"),
        ("batch_max_notes", 1 <= settings.batch_max_notes <= 100_000, "must be between 1 and 100000"),
        ("batch_max_attempts", 1 <= settings.batch_max_attempts <= 100, "must be between 1 and 100"),
        ("batch_retry_base_delay_s", settings.batch_retry_base_delay_s >= 0, "must be 0 or positive"),
        ("batch_lease_s", 1 <= settings.batch_lease_s <= 3600, "must be between 1 and 3600"),
        ("batch_claim_size", 1 <= settings.batch_claim_size <= 1000, "must be between 1 and 1000"),
        ("batch_concurrency", 0 <= settings.batch_concurrency <= 1024, "must be between 0 and 1024"),
        ("batch_notes_per_call", 1 <= settings.batch_notes_per_call <= 256, "must be between 1 and 256"),
        ("batch_poll_interval_s", 0.01 <= settings.batch_poll_interval_s <= 60, "must be between 0.01 and 60"),
        ("batch_retention_s", settings.batch_retention_s >= 60, "must be at least 60"),
        ("idempotency_ttl_s", settings.idempotency_ttl_s >= 60, "must be at least 60"),
        ("audit_checkpoint_every_events", settings.audit_checkpoint_every_events >= 0, "must be 0 or positive"),
        (
            "audit_checkpoint_interval_s",
            settings.audit_checkpoint_interval_s == 0 or 0.1 <= settings.audit_checkpoint_interval_s <= 86_400,
            "must be 0 (off) or between 0.1 and 86400",
        ),
        (
            "audit_checkpoint_every_events",
            settings.audit_checkpoint_every_events > 0 or settings.audit_checkpoint_interval_s > 0,
            "and HEALTHAI_AUDIT_CHECKPOINT_INTERVAL_S cannot both be 0 (no checkpoint but at shutdown)",
        ),
        ("audit_lock_timeout_ms", 10 <= settings.audit_lock_timeout_ms <= 60_000, "must be between 10 and 60000"),
        (
            "database_url",
            not settings.database_url or settings.database_url.split(":", 1)[0].startswith(("sqlite", "postgresql")),
            "must be a sqlite:// or postgresql+psycopg:// URL",
        ),
    ]
    checks += _transport_checks(settings)
    for key, ok, why in checks:
        if not ok:
            raise ConfigError(f"HEALTHAI_{key.upper()}: {why}")
    try:
        parse_peer_principals(settings.tls_peer_principals)
    except ValueError as exc:
        raise ConfigError(f"HEALTHAI_TLS_PEER_PRINCIPALS: {exc}") from exc

    from healthai_server.experiments.arms import ExperimentConfig, ExperimentConfigError

    try:
        ExperimentConfig.from_mapping(settings.experiments)
    except ExperimentConfigError as exc:
        raise ConfigError(f"HEALTHAI_EXPERIMENTS: {exc}") from exc

    if settings.phi_recognizers_config is not None:
        from healthai_server.phi.registry import RecognizerConfigError, load_pattern_recognizers

        try:
            load_pattern_recognizers(settings.phi_recognizers_config)
        except (OSError, ValueError, RecognizerConfigError) as exc:
            raise ConfigError(f"HEALTHAI_PHI_RECOGNIZERS_CONFIG: {exc}") from exc


def _transport_checks(settings: Settings) -> list[tuple[str, bool, str]]:
    """Combinations of the TLS keys that cannot work. Whether the files hold a usable
    certificate is checked when the server starts, before anything else (tls/listen.py)."""
    cert, key = settings.tls_cert_file is not None, settings.tls_key_file is not None
    return [
        ("tls_key_file", cert or not key, "set without HEALTHAI_TLS_CERT_FILE"),
        ("tls_key_file", key or not cert, "required with HEALTHAI_TLS_CERT_FILE"),
        ("tls_client_ca_file", cert or not settings.mtls_enabled, "needs HEALTHAI_TLS_CERT_FILE (mTLS runs over TLS)"),
        (
            "tls_peer_principals",
            settings.mtls_enabled or not settings.tls_peer_principals,
            "needs HEALTHAI_TLS_CLIENT_CA_FILE: a peer identity is trusted only from a verified client certificate",
        ),
        ("plaintext", not (settings.plaintext and cert), "cannot be true with HEALTHAI_TLS_CERT_FILE set"),
    ]


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from env (default os.environ), the optional file, and overrides."""
    env = os.environ if env is None else env
    file_values: dict[str, Any] = {}
    config_file = env.get("HEALTHAI_CONFIG_FILE")
    if config_file:
        try:
            file_values = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"HEALTHAI_CONFIG_FILE: cannot read {config_file}: {exc}") from exc
    values: dict[str, Any] = {}
    known = {f.name: f for f in fields(Settings)}
    for unknown in set(file_values) - set(known):
        raise ConfigError(f"{unknown}: unknown key in {config_file}")
    for name, fld in known.items():
        env_key = f"HEALTHAI_{name.upper()}"
        raw: Any = env.get(env_key, file_values.get(name))
        if raw is None:
            continue
        parser = _PARSERS[str(fld.type)]
        try:
            values[name] = parser(raw) if isinstance(raw, str) else _coerce(raw, str(fld.type))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{env_key}: invalid value ({exc})") from exc
    values.update(overrides)
    settings = Settings(**values)
    _validate(settings)
    return settings


def _coerce(raw: Any, type_name: str) -> Any:
    """Values from TOML arrive typed; accept them when they fit the field."""
    if type_name == "dict[str, Any]" and isinstance(raw, dict):
        return raw
    if type_name == "frozenset[str]" and isinstance(raw, list):
        return frozenset(str(item) for item in raw)
    if type_name in {"Path", "Path | None"}:
        return Path(str(raw))
    if type_name == "float" and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    expected = {"str": str, "int": int, "bool": bool}.get(type_name)
    if expected is not None and isinstance(raw, expected):
        return raw
    raise TypeError(f"expected {type_name}")
