"""The server command's error paths: one clear line, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHAI_")}
    return subprocess.run(
        [sys.executable, "-m", "healthai_server.cli", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bad_config_is_one_line_naming_the_key(tmp_path: Path) -> None:
    result = _run("serve", HEALTHAI_MAX_NOTE_CHARS="lots", HEALTHAI_STATE_DIR=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: HEALTHAI_MAX_NOTE_CHARS: invalid value (invalid literal for int() with base 10: 'lots')"
    ]


def test_port_in_use_is_a_startup_error_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(
            "serve",
            HEALTHAI_LISTEN_ADDR=f"127.0.0.1:{port}",
            HEALTHAI_STATE_DIR=str(tmp_path),
            HEALTHAI_ENGINE_WORKERS="-1",
            HEALTHAI_PLAINTEXT="true",
        )
    assert result.returncode == 2
    assert "startup error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_command_mints_a_verifiable_dev_token(tmp_path: Path) -> None:
    result = _run("token", "--tenant", "hosp-a", "--roles", "coder,deid", HEALTHAI_STATE_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    import jwt

    claims = jwt.decode(result.stdout.strip(), options={"verify_signature": False})
    assert claims["tenant"] == "hosp-a" and claims["roles"] == ["coder", "deid"]


def test_serve_refuses_plaintext_unless_it_is_configured(tmp_path: Path) -> None:
    result = _run("serve", HEALTHAI_STATE_DIR=str(tmp_path), HEALTHAI_ENGINE_WORKERS="-1")
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: HEALTHAI_TLS_CERT_FILE: required")
    assert not (tmp_path / "healthai.db").exists(), "refused before anything was created"


def test_a_key_that_does_not_match_the_certificate_is_named(tmp_path: Path) -> None:
    from tests.pki import TestCA

    ca = TestCA()
    cert, key = ca.server().write(tmp_path / "tls", "server")
    key.write_bytes(ca.server().key_pem)
    result = _run(
        "serve",
        HEALTHAI_STATE_DIR=str(tmp_path),
        HEALTHAI_ENGINE_WORKERS="-1",
        HEALTHAI_LISTEN_ADDR="127.0.0.1:0",
        HEALTHAI_TLS_CERT_FILE=str(cert),
        HEALTHAI_TLS_KEY_FILE=str(key),
    )
    assert result.returncode == 2
    assert "configuration error: HEALTHAI_TLS_KEY_FILE: the private key file" in result.stderr
    assert "does not match the certificate" in result.stderr and "Traceback" not in result.stderr
