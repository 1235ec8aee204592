"""Bind the main gRPC port with TLS, mTLS or (only when configured) plaintext."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio

from healthai_server.config import ConfigError, Settings
from healthai_server.tls.certificates import CertificateError
from healthai_server.tls.reload import ReloadingCertificates


@dataclass(frozen=True, slots=True)
class Binding:
    port: int
    transport: str  # "mtls", "tls" or "plaintext": the start-up log line says which


def require_transport_choice(settings: Settings) -> None:
    """Plaintext is never a default: without a certificate, HEALTHAI_PLAINTEXT must say so."""
    if not settings.tls_enabled and not settings.plaintext:
        raise ConfigError(
            "HEALTHAI_TLS_CERT_FILE: required (with HEALTHAI_TLS_KEY_FILE) unless HEALTHAI_PLAINTEXT=true "
            "explicitly allows an unencrypted port"
        )


def load_transport(settings: Settings) -> ReloadingCertificates | None:
    """The certificates to serve (None: plaintext), read and checked before anything starts;
    ConfigError names the setting whose file is wrong."""
    require_transport_choice(settings)
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    try:
        return ReloadingCertificates(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
    except CertificateError as exc:
        raise ConfigError(f"HEALTHAI_TLS_{exc.role.upper()}_FILE: {exc}") from exc


def bind_main_port(server: aio.Server, settings: Settings, certificates: ReloadingCertificates | None) -> Binding:
    if certificates is None:
        return Binding(server.add_insecure_port(settings.listen_addr), "plaintext")
    port = server.add_secure_port(settings.listen_addr, certificates.credentials())
    return Binding(port, "mtls" if settings.mtls_enabled else "tls")
