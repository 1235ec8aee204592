"""TLS and mTLS against the real server: certificates made by a throwaway CA per test module."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from healthai import HealthAIClient, HealthAIError

from tests.e2e.server import ServerProcess, running_server, wait_until
from tests.pki import TestCA

SPIFFE = "spiffe://healthai.test/ns/billing/sa/reporter"
NOTE = "BP 150/95, HR 88. Taking lisinopril 10 mg daily."


@dataclass
class Pki:
    dir: Path
    ca: TestCA
    ca_file: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = TestCA()
    cert, key = ca.server().write(directory, "server")
    return Pki(directory, ca, ca.write(directory), cert, key)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("tls-state"),
        engine_workers="1",
        tls_cert_file=str(pki.cert),
        tls_key_file=str(pki.key),
    ) as process:
        yield process


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[ServerProcess]:
    mapping = {SPIFFE: {"tenant": "hosp-billing", "roles": ["service"]}}
    with running_server(
        tmp_path_factory.mktemp("mtls-state"),
        engine_workers="1",
        tls_cert_file=str(pki.cert),
        tls_key_file=str(pki.key),
        tls_client_ca_file=str(pki.ca_file),
        tls_peer_principals=json.dumps(mapping),
    ) as process:
        yield process


def _audit_row(server: ServerProcess, audit_id: str) -> sqlite3.Row:
    with sqlite3.connect(server.state_dir / "healthai.db") as conn:
        conn.row_factory = sqlite3.Row
        rows: list[sqlite3.Row] = conn.execute("SELECT * FROM audit_events WHERE audit_id = ?", (audit_id,)).fetchall()
    assert len(rows) == 1
    return rows[0]


def _served_serial(port: int, ca_file: Path) -> int:
    """The serial of the certificate a brand-new connection is given (stdlib TLS, no gRPC cache)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_the_log_line_says_which_transport(tls_server: ServerProcess, mtls_server: ServerProcess) -> None:
    def serving(server: ServerProcess) -> dict[str, object]:
        return next(e for e in map(json.loads, server.log_lines) if e.get("msg") == "serving")

    assert serving(tls_server)["transport"] == "tls"
    assert serving(mtls_server)["transport"] == "mtls"
    assert not any("serving without TLS" in line for line in tls_server.log_lines)


def test_a_tls_call_works_with_the_ca_bundle(tls_server: ServerProcess, pki: Pki) -> None:
    with HealthAIClient(tls_server.addr, token=tls_server.dev_token, ca_file=pki.ca_file, timeout_s=30) as client:
        response = client.extract(NOTE)
    assert {m.name for m in response.data.medications} == {"lisinopril"}
    assert _audit_row(tls_server, response.audit_id)["status_code"] == "OK"


def test_a_plaintext_client_cannot_talk_to_a_tls_port(tls_server: ServerProcess) -> None:
    with (
        HealthAIClient(tls_server.addr, token=tls_server.dev_token, tls=False, timeout_s=5) as client,
        pytest.raises(HealthAIError) as caught,
    ):
        client.health()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


def test_a_server_certificate_from_another_ca_is_refused_by_the_client(tls_server: ServerProcess, pki: Pki) -> None:
    other = TestCA("Somebody Else").write(pki.dir / "other")
    with (
        HealthAIClient(tls_server.addr, token=tls_server.dev_token, ca_file=other, timeout_s=5) as client,
        pytest.raises(HealthAIError) as caught,
    ):
        client.health()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


def test_the_cli_speaks_tls_from_flags_and_environment(tls_server: ServerProcess, pki: Pki) -> None:
    by_flag = tls_server.healthai("--ca-file", str(pki.ca_file), "health")
    assert (by_flag.returncode, by_flag.stdout.strip()) == (0, "SERVING"), by_flag.stderr
    env_before = dict(tls_server.env)
    tls_server.env["HEALTHAI_CA_FILE"] = str(pki.ca_file)
    try:
        by_env = tls_server.healthai("health")
    finally:
        tls_server.env.clear()
        tls_server.env.update(env_before)
    assert (by_env.returncode, by_env.stdout.strip()) == (0, "SERVING"), by_env.stderr
    plaintext = tls_server.healthai("--timeout", "5", "health")
    assert plaintext.returncode == 1 and "UNAVAILABLE" in plaintext.stderr


def test_mtls_refuses_a_client_certificate_from_an_unknown_ca(mtls_server: ServerProcess, pki: Pki) -> None:
    stranger = TestCA("Intruder CA").issue("reporter", uris=(SPIFFE,), client=True)
    cert, key = stranger.write(pki.dir / "stranger", "client")
    with (
        HealthAIClient(
            mtls_server.addr, token="", ca_file=pki.ca_file, cert_file=cert, key_file=key, timeout_s=5
        ) as client,
        pytest.raises(HealthAIError) as caught,
    ):
        client.health()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


def test_mtls_refuses_a_client_without_a_certificate(mtls_server: ServerProcess, pki: Pki) -> None:
    with (
        HealthAIClient(mtls_server.addr, token=mtls_server.dev_token, ca_file=pki.ca_file, timeout_s=5) as client,
        pytest.raises(HealthAIError) as caught,
    ):
        client.health()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


def test_a_mapped_spiffe_id_is_the_principal(mtls_server: ServerProcess, pki: Pki) -> None:
    cert, key = pki.ca.issue("reporter", uris=(SPIFFE,), client=True).write(pki.dir / "reporter", "client")
    with HealthAIClient(
        mtls_server.addr, token="", ca_file=pki.ca_file, cert_file=cert, key_file=key, timeout_s=30
    ) as client:
        response = client.extract(NOTE)
        with pytest.raises(HealthAIError) as denied:  # RBAC applies: role "service" may not read usage
            client.usage(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
    row = _audit_row(mtls_server, response.audit_id)
    assert (row["tenant"], row["principal"], row["status_code"]) == ("hosp-billing", SPIFFE, "OK")
    assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_a_verified_but_unmapped_peer_without_a_token_is_unauthenticated(mtls_server: ServerProcess, pki: Pki) -> None:
    cert, key = pki.ca.issue("stray-job", uris=("spiffe://healthai.test/ns/x/sa/stray",), client=True).write(
        pki.dir / "stray", "client"
    )
    with (
        HealthAIClient(
            mtls_server.addr, token="", ca_file=pki.ca_file, cert_file=cert, key_file=key, timeout_s=30
        ) as client,
        pytest.raises(HealthAIError) as caught,
    ):
        client.extract(NOTE)
    assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert "spiffe://healthai.test/ns/x/sa/stray" in str(caught.value)


def test_a_jwt_still_decides_over_a_mapped_certificate(mtls_server: ServerProcess, pki: Pki) -> None:
    cert, key = pki.ca.issue("reporter", uris=(SPIFFE,), client=True).write(pki.dir / "with-jwt", "client")
    with HealthAIClient(
        mtls_server.addr, token=mtls_server.dev_token, ca_file=pki.ca_file, cert_file=cert, key_file=key, timeout_s=30
    ) as client:
        response = client.extract(NOTE)
    row = _audit_row(mtls_server, response.audit_id)
    assert (row["tenant"], row["principal"]) == ("dev", "dev-user")


def test_rotated_certificate_files_are_served_without_a_restart(tls_server: ServerProcess, pki: Pki) -> None:
    assert tls_server.process is not None
    pid = tls_server.process.pid
    before = _served_serial(tls_server.port, pki.ca_file)
    rotated = pki.ca.server()
    assert rotated.serial != before
    # Write the key first, then the certificate, as a careless rotation might: the half-done
    # state (new key, old certificate) is rejected and the old pair keeps serving meanwhile.
    pki.key.write_bytes(rotated.key_pem)
    os.utime(pki.key)
    assert _served_serial(tls_server.port, pki.ca_file) == before
    pki.cert.write_bytes(rotated.cert_pem)
    stat = pki.cert.stat()
    os.utime(pki.cert, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert wait_until(lambda: _served_serial(tls_server.port, pki.ca_file) == rotated.serial, timeout_s=10)
    with HealthAIClient(tls_server.addr, token=tls_server.dev_token, ca_file=pki.ca_file, timeout_s=30) as client:
        assert client.health() == "SERVING"
    assert tls_server.process.pid == pid and tls_server.process.poll() is None
    assert any("certificate reloaded" in line and f"{rotated.serial:x}" in line for line in tls_server.log_lines)
    assert any("certificate rotation rejected" in line for line in tls_server.log_lines)
