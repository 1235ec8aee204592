"""Server credentials that pick up rotated certificate files without a restart.

gRPC calls the fetcher before each new TLS handshake, on one of its own threads. The
fetcher compares the files' (inode, size, mtime) with what it last loaded and returns a new
certificate configuration only when they changed and the new files form a valid pair, so a
half-written rotation (new certificate, old key) keeps the previous pair in service instead
of failing every handshake. Kubernetes Secret volumes swap a symlink atomically, which
changes the inode of the resolved file. Established connections keep the certificate they
were made with; the server recycles connections (grpc.max_connection_age_ms).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import grpc

from healthai_server.tls.certificates import CertificateError, KeyPair, load_key_pair

log = logging.getLogger("healthai.tls")

Signature = tuple[tuple[int, int, int], ...]


def _signature(paths: tuple[Path, ...]) -> Signature | None:
    try:
        stats = [os.stat(path) for path in paths]
    except OSError:
        return None
    return tuple((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)


class ReloadingCertificates:
    """Holds the pair in service and reloads it when its files change."""

    def __init__(
        self,
        cert_file: Path,
        key_file: Path,
        client_ca_file: Path | None = None,
        on_reload: Callable[[KeyPair], None] = lambda _pair: None,
    ) -> None:
        self._files = (cert_file, key_file)
        self._client_ca_file = client_ca_file
        self._paths = (cert_file, key_file) + ((client_ca_file,) if client_ca_file else ())
        self._on_reload = on_reload
        self._lock = threading.Lock()
        self._signature = _signature(self._paths)
        self.current = load_key_pair(cert_file, key_file, client_ca_file)  # CertificateError at start-up
        self.reloads = 0

    def configuration(self, pair: KeyPair | None = None) -> grpc.ServerCertificateConfiguration:
        pair = pair or self.current
        return grpc.ssl_server_certificate_configuration([(pair.private_key, pair.certificate_chain)], pair.client_ca)

    def credentials(self) -> grpc.ServerCredentials:
        # types-grpcio says the fetcher returns a configuration; gRPC documents None as "unchanged".
        return grpc.dynamic_ssl_server_credentials(
            self.configuration(),
            self.fetch,  # type: ignore[arg-type]
            require_client_authentication=self._client_ca_file is not None,
        )

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC's fetcher: a new configuration when the files changed and are valid, else None."""
        signature = _signature(self._paths)
        with self._lock:
            if signature is None or signature == self._signature:
                return None
            self._signature = signature  # a bad pair is reported once, not at every handshake
            try:
                pair = load_key_pair(self._files[0], self._files[1], self._client_ca_file)
            except CertificateError as exc:
                log.warning("certificate rotation rejected; keeping the previous pair", extra={"problem": str(exc)})
                return None
            self.current = pair
            self.reloads += 1
        leaf = pair.leaf
        log.info(
            "certificate reloaded",
            extra={"subject": leaf.subject, "serial": f"{leaf.serial:x}", "not_after": str(leaf.not_after)},
        )
        self._on_reload(pair)
        return self.configuration(pair)
