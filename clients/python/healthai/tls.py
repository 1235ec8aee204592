"""Channel security for the client: TLS with an optional CA bundle and client certificate.

Settings come from arguments or the environment (HEALTHAI_TLS, HEALTHAI_CA_FILE,
HEALTHAI_CERT_FILE, HEALTHAI_KEY_FILE). Giving a CA bundle or a client certificate turns TLS
on by itself; without any of them the channel is plaintext (a loopback dev server).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class TlsOptions:
    enabled: bool = False
    ca_file: Path | None = None  # None: the system's trust store (gRPC's bundled roots)
    cert_file: Path | None = None  # client certificate chain, for mTLS
    key_file: Path | None = None
    server_name: str | None = None  # check the certificate for this name instead of the address's host

    @classmethod
    def resolve(
        cls,
        *,
        tls: bool | None = None,
        ca_file: str | Path | None = None,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
        server_name: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> TlsOptions:
        """Arguments win over the environment; ValueError when a certificate comes without its key."""
        env = os.environ if env is None else env

        def path(value: str | Path | None, name: str) -> Path | None:
            raw = value if value is not None else env.get(name)
            return Path(raw) if raw else None

        ca, cert, key = (
            path(ca_file, "HEALTHAI_CA_FILE"),
            path(cert_file, "HEALTHAI_CERT_FILE"),
            path(key_file, "HEALTHAI_KEY_FILE"),
        )
        if (cert is None) != (key is None):
            raise ValueError("a client certificate needs its key: give both cert_file and key_file (or neither)")
        enabled = tls if tls is not None else env.get("HEALTHAI_TLS", "").strip().lower() in _TRUE
        server_name = server_name or env.get("HEALTHAI_TLS_SERVER_NAME") or None
        return cls(enabled or ca is not None or cert is not None, ca, cert, key, server_name)

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: Path | None) -> bytes | None:
            return path.read_bytes() if path is not None else None

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca_file),
            private_key=read(self.key_file),
            certificate_chain=read(self.cert_file),
        )

    def channel_options(self) -> list[tuple[str, object]]:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.enabled and self.server_name else []
