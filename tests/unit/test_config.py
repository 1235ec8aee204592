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
