"""`healthai-server compliance report` against a real server's configuration, keys and database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from healthai import HealthAIClient

from tests.e2e.server import ServerProcess, running_server, server_env
from tests.pki import TestCA


def test_report_in_both_formats_then_gates_on_a_broken_chain_and_on_disabled_auth(tmp_path: Path) -> None:
    ca = TestCA()
    issued = ca.issue("localhost", dns=("localhost",), ips=("127.0.0.1",), days=90)  # no expiry warning
    cert, key = issued.write(tmp_path / "tls", "server")
    with running_server(
        tmp_path / "state", engine_workers="1", tls_cert_file=str(cert), tls_key_file=str(key)
    ) as server:
        with HealthAIClient(server.addr, token=server.dev_token, ca_file=ca.write(tmp_path / "tls")) as client:
            client.extract("BP 120/80.")
            client.extract("HR 72.")

        as_json = server.healthai_server("compliance", "report", "--format", "json")
        assert as_json.returncode == 0, as_json.stdout + as_json.stderr
        report = json.loads(as_json.stdout)
        assert report["ok"] is True
        controls = {c["section"]: c for c in report["controls"]}
        assert list(controls) == ["164.312(a)(1)", "164.312(b)", "164.312(c)(1)", "164.312(d)", "164.312(e)(1)"]
        assert all(c["status"] in {"pass", "warn"} for c in controls.values())
        evidence = report["evidence"]
        assert evidence["audit"]["ok"] and evidence["audit"]["events_checked"] >= 2
        assert evidence["transport"]["mode"] == "tls"
        assert evidence["transport"]["certificate"]["serial"] == f"{issued.serial:x}"
        assert {k["name"] for k in evidence["keys"] if k["key_id"]} >= {"audit HMAC key", "TLS private key"}
        assert evidence["dev_credentials"] is True

        as_md = server.healthai_server("compliance", "report")
        assert as_md.returncode == 0, as_md.stderr
        assert as_md.stdout.startswith("# HIPAA §164.312 technical safeguards")
        assert "| §164.312(e)(1) | Transmission security | PASS |" in as_md.stdout

        server.env["HEALTHAI_AUTH_ENABLED"] = "false"
        auth_off = server.healthai_server("compliance", "report", "--format", "json")
        server.env.pop("HEALTHAI_AUTH_ENABLED")
        assert auth_off.returncode == 1
        assert json.loads(auth_off.stdout)["ok"] is False

        with sqlite3.connect(server.state_dir / "healthai.db") as conn:
            conn.execute("UPDATE audit_events SET status_code = 'PERMISSION_DENIED' WHERE seq = 1")
        tampered = server.healthai_server("compliance", "report")
        assert tampered.returncode == 1
        assert "| §164.312(b) | Audit controls | FAIL |" in tampered.stdout
        assert "BROKEN at tenant dev event #1" in tampered.stdout


def test_plaintext_on_a_network_address_fails_the_gate(tmp_path: Path) -> None:
    env = server_env(tmp_path, listen_addr="0.0.0.0:50051")
    result = ServerProcess(tmp_path, env).healthai_server("compliance", "report", "--format", "json")
    assert result.returncode == 1
    (transmission,) = [c for c in json.loads(result.stdout)["controls"] if c["section"] == "164.312(e)(1)"]
    assert transmission["status"] == "fail"
    assert "PLAINTEXT reachable from the network on 0.0.0.0:50051" in transmission["findings"][0]["evidence"]
