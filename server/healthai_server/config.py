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
    max_concurrent_rpcs_per_tenant: int = 0  # 0: no per-tenant cap below max_concurrent_rpcs
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
    audit_hmac_key_file: Path | None = None  # default: state_dir/dev/audit-hmac.key
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
    cache_key_file: Path | None = None  # default: state_dir/dev/cache.key (AES-256-GCM)

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
    def effective_deid_key_file(self) -> Path:
        return self.deid_key_file or self.dev_dir / "deid.key"

    @property
    def effective_cache_key_file(self) -> Path:
        return self.cache_key_file or self.dev_dir / "cache.key"

    @property
    def uses_dev_credentials(self) -> bool:
        return self.jwt_public_key_file is None


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


def _validate(settings: Settings) -> None:
    checks: list[tuple[str, bool, str]] = [
        ("max_note_chars", 1 <= settings.max_note_chars <= 1_000_000, "must be between 1 and 1000000"),
        ("max_message_bytes", settings.max_message_bytes >= 64 * 1024, "must be at least 65536"),
        ("max_metadata_bytes", settings.max_metadata_bytes >= 1024, "must be at least 1024"),
        ("shutdown_grace_s", 0 <= settings.shutdown_grace_s <= 600, "must be between 0 and 600"),
        ("engine_workers", settings.engine_workers >= -1, "must be -1, 0 or a positive count"),
        ("max_concurrent_rpcs", settings.max_concurrent_rpcs >= 0, "must be 0 (automatic) or positive"),
        ("max_concurrent_rpcs_per_tenant", settings.max_concurrent_rpcs_per_tenant >= 0, "must be 0 or positive"),
        ("engine_queue_limit", settings.engine_queue_limit >= 0, "must be 0 or positive"),
        ("engine_max_queue_wait_ms", settings.engine_max_queue_wait_ms >= 0, "must be 0 or positive"),
        ("metrics_port", 0 <= settings.metrics_port <= 65535, "must be a TCP port or 0"),
        ("probe_port", 0 <= settings.probe_port <= 65535, "must be a TCP port or 0"),
        ("listen_addr", ":" in settings.listen_addr, "must be host:port"),
        ("log_level", settings.log_level.upper() in {"DEBUG", "INFO", "WARNING", "ERROR"}, "unknown level"),
        ("backend_timeout_s", settings.backend_timeout_s > 0, "must be positive"),
        ("llm_retry_max_attempts", 1 <= settings.llm_retry_max_attempts <= 10, "must be between 1 and 10"),
        ("llm_breaker_fail_max", settings.llm_breaker_fail_max >= 1, "must be at least 1"),
        ("llm_breaker_reset_timeout_s", settings.llm_breaker_reset_timeout_s > 0, "must be positive"),
        ("result_cache_ttl_s", settings.result_cache_ttl_s >= 0, "must be 0 (off) or positive"),
        (
            "database_url",
            not settings.database_url or settings.database_url.split(":", 1)[0].startswith(("sqlite", "postgresql")),
            "must be a sqlite:// or postgresql+psycopg:// URL",
        ),
    ]
    for key, ok, why in checks:
        if not ok:
            raise ConfigError(f"HEALTHAI_{key.upper()}: {why}")
    if settings.phi_recognizers_config is not None:
        from healthai_server.phi.registry import RecognizerConfigError, load_pattern_recognizers

        try:
            load_pattern_recognizers(settings.phi_recognizers_config)
        except (OSError, ValueError, RecognizerConfigError) as exc:
            raise ConfigError(f"HEALTHAI_PHI_RECOGNIZERS_CONFIG: {exc}") from exc


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
