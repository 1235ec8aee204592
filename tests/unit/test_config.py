from __future__ import annotations

from pathlib import Path

import pytest
from healthai_server.config import ConfigError, load_settings


def test_defaults_are_the_embedded_setup() -> None:
    settings = load_settings({})
    assert settings.listen_addr == "127.0.0.1:50051"
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.auth_enabled and settings.max_note_chars == 100_000


def test_environment_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "healthai.toml"
    config.write_text('max_note_chars = 5000\nbaa_tenants = ["a", "b"]\nlisten_addr = "0.0.0.0:9000"\n')
    settings = load_settings({"HEALTHAI_CONFIG_FILE": str(config), "HEALTHAI_LISTEN_ADDR": "127.0.0.1:1"})
    assert settings.max_note_chars == 5000
    assert settings.baa_tenants == frozenset({"a", "b"})
    assert settings.listen_addr == "127.0.0.1:1"


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"HEALTHAI_MAX_NOTE_CHARS": "lots"}, "HEALTHAI_MAX_NOTE_CHARS"),
        ({"HEALTHAI_MAX_NOTE_CHARS": "0"}, "HEALTHAI_MAX_NOTE_CHARS"),
        ({"HEALTHAI_AUTH_ENABLED": "maybe"}, "HEALTHAI_AUTH_ENABLED"),
        ({"HEALTHAI_DATABASE_URL": "mysql://x"}, "HEALTHAI_DATABASE_URL"),
        ({"HEALTHAI_LISTEN_ADDR": "nowhere"}, "HEALTHAI_LISTEN_ADDR"),
        ({"HEALTHAI_AUDIT_LOCK_TIMEOUT_MS": "0"}, "HEALTHAI_AUDIT_LOCK_TIMEOUT_MS"),
        ({"HEALTHAI_AUDIT_CHECKPOINT_INTERVAL_S": "0.01"}, "HEALTHAI_AUDIT_CHECKPOINT_INTERVAL_S"),
        ({"HEALTHAI_AUDIT_CHECKPOINT_EVERY_EVENTS": "-1"}, "HEALTHAI_AUDIT_CHECKPOINT_EVERY_EVENTS"),
        (
            {"HEALTHAI_AUDIT_CHECKPOINT_EVERY_EVENTS": "0", "HEALTHAI_AUDIT_CHECKPOINT_INTERVAL_S": "0"},
            "HEALTHAI_AUDIT_CHECKPOINT_EVERY_EVENTS",
        ),
        ({"HEALTHAI_MAX_OPEN_CALLS": "10"}, "HEALTHAI_MAX_OPEN_CALLS"),
        ({"HEALTHAI_MAX_CONCURRENT_RPCS": "4000"}, "HEALTHAI_MAX_OPEN_CALLS"),  # a bound, not a limit
        ({"HEALTHAI_MAX_STREAMS_PER_CONNECTION": "0"}, "HEALTHAI_MAX_STREAMS_PER_CONNECTION"),
        ({"HEALTHAI_REQUEST_MESSAGE_TIMEOUT_S": "0"}, "HEALTHAI_REQUEST_MESSAGE_TIMEOUT_S"),
        ({"HEALTHAI_STREAM_IDLE_TIMEOUT_S": "-1"}, "HEALTHAI_STREAM_IDLE_TIMEOUT_S"),
        ({"HEALTHAI_UNAUTHENTICATED_AUDIT_WINDOW_S": "0.1"}, "HEALTHAI_UNAUTHENTICATED_AUDIT_WINDOW_S"),
    ],
)
def test_bad_values_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings(env)


def test_unknown_file_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("max_note_charz = 1\n")
    with pytest.raises(ConfigError, match="max_note_charz"):
        load_settings({"HEALTHAI_CONFIG_FILE": str(config)})


def test_audit_keys_and_checkpoints_default_under_the_state_dir(tmp_path: Path) -> None:
    settings = load_settings({"HEALTHAI_STATE_DIR": str(tmp_path)})
    assert settings.effective_audit_chain_key_file == tmp_path / "dev" / "audit-chain.key"
    assert settings.effective_audit_checkpoint_dir == tmp_path / "audit-checkpoints"
    assert settings.effective_audit_checkpoint_public_key_file == tmp_path / "dev" / "audit-checkpoint-public.pem"
    retired = load_settings({"HEALTHAI_AUDIT_CHAIN_RETIRED_KEY_FILES": "/k/old1.key, /k/old2.key"})
    assert retired.audit_chain_retired_key_files == frozenset({"/k/old1.key", "/k/old2.key"})


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"HEALTHAI_TLS_CERT_FILE": "/c.pem"}, "HEALTHAI_TLS_KEY_FILE"),
        ({"HEALTHAI_TLS_KEY_FILE": "/k.pem"}, "HEALTHAI_TLS_KEY_FILE"),
        ({"HEALTHAI_TLS_CLIENT_CA_FILE": "/ca.pem"}, "HEALTHAI_TLS_CLIENT_CA_FILE"),
        (
            {"HEALTHAI_TLS_CERT_FILE": "/c", "HEALTHAI_TLS_KEY_FILE": "/k", "HEALTHAI_PLAINTEXT": "true"},
            "HEALTHAI_PLAINTEXT",
        ),
        (
            {
                "HEALTHAI_TLS_CERT_FILE": "/c",
                "HEALTHAI_TLS_KEY_FILE": "/k",
                "HEALTHAI_TLS_PEER_PRINCIPALS": '{"spiffe://x/y": {"tenant": "a", "roles": ["service"]}}',
            },
            "HEALTHAI_TLS_PEER_PRINCIPALS",
        ),
        (
            {
                "HEALTHAI_TLS_CERT_FILE": "/c",
                "HEALTHAI_TLS_KEY_FILE": "/k",
                "HEALTHAI_TLS_CLIENT_CA_FILE": "/ca",
                "HEALTHAI_TLS_PEER_PRINCIPALS": '{"spiffe://x/y": {"tenant": "-", "roles": ["service"]}}',
            },
            "HEALTHAI_TLS_PEER_PRINCIPALS",
        ),
    ],
)
def test_tls_combinations_that_cannot_work_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings(env)


def test_plaintext_must_be_chosen_explicitly() -> None:
    from healthai_server.tls.listen import require_transport_choice

    with pytest.raises(ConfigError, match=r"HEALTHAI_TLS_CERT_FILE.*HEALTHAI_PLAINTEXT=true"):
        require_transport_choice(load_settings({}))
    require_transport_choice(load_settings({"HEALTHAI_PLAINTEXT": "true"}))
    require_transport_choice(load_settings({"HEALTHAI_TLS_CERT_FILE": "/c", "HEALTHAI_TLS_KEY_FILE": "/k"}))


@pytest.mark.parametrize(
    ("addr", "loopback"),
    [("127.0.0.1:1", True), ("localhost:1", True), ("[::1]:1", True), ("0.0.0.0:1", False), ("[::]:1", False)],
)
def test_loopback_addresses(addr: str, loopback: bool) -> None:
    assert load_settings({"HEALTHAI_LISTEN_ADDR": addr}).listens_on_loopback_only is loopback


def test_phi_recognizers_config_is_settable_and_checked_at_start_up(tmp_path: Path) -> None:
    good = tmp_path / "recognizers.json"
    good.write_text(
        '{"recognizers": [{"name": "badge", "type": "other_identifier",'
        ' "patterns": [{"name": "badge", "regex": "\\\\bEMP-\\\\d{6}\\\\b", "score": 0.9}]}]}'
    )
    settings = load_settings({"HEALTHAI_PHI_RECOGNIZERS_CONFIG": str(good), "HEALTHAI_PHI_ORGANIZATIONS": "false"})
    assert settings.phi_recognizers_config == good and settings.phi_organizations is False
    bad = tmp_path / "bad.json"
    bad.write_text('{"recognizers": [{"name": "x", "type": "no_such_type", "patterns": []}]}')
    with pytest.raises(ConfigError, match="HEALTHAI_PHI_RECOGNIZERS_CONFIG"):
        load_settings({"HEALTHAI_PHI_RECOGNIZERS_CONFIG": str(bad)})
    with pytest.raises(ConfigError, match="HEALTHAI_PHI_RECOGNIZERS_CONFIG"):
        load_settings({"HEALTHAI_PHI_RECOGNIZERS_CONFIG": str(tmp_path / "missing.json")})
