"""The SDK's TLS options: arguments win over the environment; a CA or a certificate turns TLS on."""

from __future__ import annotations

from pathlib import Path

import pytest
from healthai.tls import TlsOptions


def test_plaintext_unless_asked() -> None:
    assert TlsOptions.resolve(env={}) == TlsOptions()


def test_environment_turns_tls_on() -> None:
    options = TlsOptions.resolve(env={"HEALTHAI_TLS": "true", "HEALTHAI_TLS_SERVER_NAME": "healthai.internal"})
    assert options.enabled and options.ca_file is None
    assert options.channel_options() == [("grpc.ssl_target_name_override", "healthai.internal")]


def test_a_ca_bundle_alone_means_tls_and_arguments_win() -> None:
    options = TlsOptions.resolve(ca_file="/arg/ca.pem", env={"HEALTHAI_CA_FILE": "/env/ca.pem"})
    assert options.enabled and options.ca_file == Path("/arg/ca.pem")
    assert TlsOptions.resolve(tls=False, env={"HEALTHAI_TLS": "1"}).enabled is False


def test_a_client_certificate_needs_its_key() -> None:
    with pytest.raises(ValueError, match="needs its key"):
        TlsOptions.resolve(cert_file="/c.pem", env={})
    both = TlsOptions.resolve(env={"HEALTHAI_CERT_FILE": "/c.pem", "HEALTHAI_KEY_FILE": "/k.pem"})
    assert both.enabled and both.cert_file == Path("/c.pem") and both.key_file == Path("/k.pem")
