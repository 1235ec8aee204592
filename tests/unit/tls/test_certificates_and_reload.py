"""Certificate files: cross-checked at load, reloaded when they change, a bad rotation kept out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from healthai_server.tls.certificates import CertificateError, load_key_pair
from healthai_server.tls.reload import ReloadingCertificates

from tests.pki import TestCA


def _bump_mtime(*paths: Path) -> None:
    # Some filesystems keep mtime at coarse resolution: make the change visible regardless.
    for path in paths:
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_a_matching_pair_loads_with_its_facts(tmp_path: Path) -> None:
    ca = TestCA()
    issued = ca.server("svc.example")
    cert, key = issued.write(tmp_path, "server")
    pair = load_key_pair(cert, key, ca.write(tmp_path))
    assert pair.leaf.serial == issued.serial
    assert pair.leaf.subject == "CN=svc.example"
    assert pair.client_ca == ca.cert_pem


@pytest.mark.parametrize("broken", ["missing_cert", "garbage_cert", "wrong_key", "garbage_key", "garbage_ca"])
def test_bad_files_name_the_file_at_fault(tmp_path: Path, broken: str) -> None:
    ca = TestCA()
    cert, key = ca.server().write(tmp_path, "server")
    ca_file = ca.write(tmp_path)
    expected = {"missing_cert": "cert", "garbage_cert": "cert", "wrong_key": "key", "garbage_key": "key"}.get(
        broken, "client_ca"
    )
    if broken == "missing_cert":
        cert.unlink()
    elif broken == "garbage_cert":
        cert.write_text("not a certificate")
    elif broken == "wrong_key":
        key.write_bytes(ca.server().key_pem)
    elif broken == "garbage_key":
        key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    else:
        ca_file.write_text("nothing here")
    with pytest.raises(CertificateError) as caught:
        load_key_pair(cert, key, ca_file)
    assert caught.value.role == expected


def test_fetch_returns_nothing_until_the_files_change_then_the_new_pair(tmp_path: Path) -> None:
    ca = TestCA()
    cert, key = ca.server().write(tmp_path, "server")
    reloading = ReloadingCertificates(cert, key)
    assert reloading.fetch() is None
    rotated = ca.server()
    rotated.write(tmp_path, "server")
    _bump_mtime(cert, key)
    assert reloading.fetch() is not None
    assert reloading.current.leaf.serial == rotated.serial and reloading.reloads == 1
    assert reloading.fetch() is None, "unchanged files are not re-read at every handshake"


def test_a_half_written_rotation_keeps_the_previous_pair(tmp_path: Path) -> None:
    ca = TestCA()
    first = ca.server()
    cert, key = first.write(tmp_path, "server")
    reloading = ReloadingCertificates(cert, key)
    cert.write_bytes(ca.server().cert_pem)  # new certificate, old key: not a pair
    _bump_mtime(cert)
    assert reloading.fetch() is None
    assert reloading.current.leaf.serial == first.serial
    second = ca.server()
    key.write_bytes(second.key_pem)
    cert.write_bytes(second.cert_pem)
    _bump_mtime(cert, key)
    assert reloading.fetch() is not None
    assert reloading.current.leaf.serial == second.serial


def test_a_missing_file_during_rotation_keeps_serving(tmp_path: Path) -> None:
    ca = TestCA()
    cert, key = ca.server().write(tmp_path, "server")
    reloading = ReloadingCertificates(cert, key)
    key.unlink()
    assert reloading.fetch() is None
