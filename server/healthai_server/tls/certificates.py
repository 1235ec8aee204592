"""Read and check the PEM files behind the server's TLS: a certificate chain whose first
certificate matches the private key, and optionally a CA bundle for client certificates.

Checked here, in Python, because gRPC's C core only says "handshake failed" much later,
per connection, for a key that does not match its certificate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization


class CertificateError(ValueError):
    """A TLS file is missing, unreadable or does not hold what it should; `role` says which
    file: "cert", "key" or "client_ca"."""

    def __init__(self, role: str, message: str) -> None:
        super().__init__(message)
        self.role = role


_ROLES = {"certificate file": "cert", "private key file": "key", "client CA file": "client_ca"}


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What an operator (and the compliance report) needs to know about a certificate."""

    subject: str
    serial: int
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str


@dataclass(frozen=True, slots=True)
class KeyPair:
    """The bytes gRPC is given, plus the facts of the leaf certificate."""

    certificate_chain: bytes
    private_key: bytes
    client_ca: bytes | None
    leaf: CertificateFacts


def facts(certificate: x509.Certificate) -> CertificateFacts:
    return CertificateFacts(
        subject=certificate.subject.rfc4514_string(),
        serial=certificate.serial_number,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        fingerprint_sha256=hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest(),
    )


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertificateError(_ROLES[what], f"cannot read the {what} {path}: {exc.strerror or exc}") from exc


def load_certificates(path: Path, what: str = "certificate file") -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(_read(path, what))
    except ValueError as exc:
        raise CertificateError(_ROLES[what], f"the {what} {path} holds no PEM certificate") from exc
    return certificates


def load_key_pair(cert_file: Path, key_file: Path, client_ca_file: Path | None = None) -> KeyPair:
    """Read and cross-check the files; CertificateError names the file that is wrong."""
    chain_pem = _read(cert_file, "certificate file")
    leaf = load_certificates(cert_file)[0]
    key_pem = _read(key_file, "private key file")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError("key", f"the private key file {key_file} holds no unencrypted PEM private key") from exc
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != leaf.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ):
        raise CertificateError("key", f"the private key file {key_file} does not match the certificate in {cert_file}")
    client_ca = None
    if client_ca_file is not None:
        load_certificates(client_ca_file, "client CA file")
        client_ca = _read(client_ca_file, "client CA file")
    return KeyPair(chain_pem, key_pem, client_ca, facts(leaf))
