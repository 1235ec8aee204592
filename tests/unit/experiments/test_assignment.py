"""Arm assignment: deterministic per tenant and note, keyed, and faithful to the weights."""

from __future__ import annotations

import math

import pytest
from healthai_server.experiments.arms import Arm, ExperimentConfig, ExperimentConfigError
from healthai_server.experiments.assignment import ArmAssigner

KEY = b"k" * 32
A = Arm("control", "anthropic", "claude-sonnet-4-6", "1.0.0", weight=70)
B = Arm("prompt-1-1", "anthropic", "claude-sonnet-4-6", "1.1.0", weight=30)


def test_the_same_tenant_and_note_always_get_the_same_arm() -> None:
    first = ArmAssigner(KEY, [A, B])
    again = ArmAssigner(KEY, [A, B])  # a restart, or another replica
    for i in range(200):
        fingerprint = f"{i:064x}"
        arm = first.assign("t1", fingerprint)
        assert arm is not None
        assert first.assign("t1", fingerprint) == arm == again.assign("t1", fingerprint)


def test_the_key_and_the_tenant_both_change_the_bucket() -> None:
    assigner, other_key = ArmAssigner(KEY, [A, B]), ArmAssigner(b"x" * 32, [A, B])
    buckets = [assigner.bucket("t1", f"{i:064x}") for i in range(50)]
    assert buckets != [other_key.bucket("t1", f"{i:064x}") for i in range(50)]
    assert buckets != [assigner.bucket("t2", f"{i:064x}") for i in range(50)]
    assert all(0 <= b < 1 for b in buckets)


@pytest.mark.parametrize("weights", [(70, 30), (50, 50), (1, 9), (1, 1)])
def test_assignment_follows_the_weights(weights: tuple[int, int]) -> None:
    arms = [Arm("a", "local", weight=weights[0]), Arm("b", "local", weight=weights[1])]
    assigner = ArmAssigner(KEY, arms)
    n = 20_000
    share_a = sum(assigner.assign("t", f"{i:064x}") == arms[0] for i in range(n)) / n
    expected = weights[0] / sum(weights)
    # 4.5 standard errors: a false alarm about once in 150 000 runs.
    assert abs(share_a - expected) < 4.5 * math.sqrt(expected * (1 - expected) / n)


def test_tenant_scope_and_zero_weight() -> None:
    scoped = Arm("pilot", "local", weight=1, tenants=frozenset({"clinic-a"}))
    paused = Arm("paused", "local", weight=0)
    assigner = ArmAssigner(KEY, [scoped, paused])
    assert assigner.assign("clinic-a", "ab" * 32) == scoped
    assert assigner.assign("clinic-b", "ab" * 32) is None  # no arm applies: the default backend answers
    assert ArmAssigner(KEY, []).assign("t", "ab" * 32) is None


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        ArmAssigner(b"short", [A])


def test_config_parses_arms_and_shadow() -> None:
    config = ExperimentConfig.from_mapping(
        {
            "arms": [
                {"name": "control", "backend": "anthropic", "prompt_version": "1.0.0", "weight": 1},
                {"name": "local", "backend": "local", "weight": 1, "tenants": ["t"]},
            ],
            "shadow": {
                "name": "cand",
                "backend": "anthropic",
                "model": "claude-haiku-4-5",
                "daily_budget_micros": 1000,
                "max_concurrent": 2,
            },
        }
    )
    assert [a.name for a in config.arms] == ["control", "local"] and config.arms[1].tenants == {"t"}
    assert config.shadow is not None and config.shadow.max_concurrent == 2 and config.shadow.arm.model
    assert config.enabled and config.needs_llm and config.names == {"control", "local", "cand"}
    assert not ExperimentConfig.from_mapping({}).enabled


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"arm": []}, "unknown key"),
        ({"arms": "x"}, "list of tables"),
        ({"arms": [1]}, r"arms\[0\]: must be a table"),
        ({"arms": [{"name": "Bad Name"}]}, r"arms\[0\].name"),
        ({"arms": [{"name": "a", "backend": "gpt"}]}, r"arms\[0\].backend"),
        ({"arms": [{"name": "a", "backend": "local", "model": "m"}]}, "local backend takes no model"),
        ({"arms": [{"name": "a", "weight": -1}]}, "weight"),
        ({"arms": [{"name": "a", "weight": 0}]}, "at least one weight"),
        ({"arms": [{"name": "a"}, {"name": "a"}]}, "unique"),
        ({"arms": [{"name": "a", "tenants": "t"}]}, "tenants"),
        ({"arms": [{"name": "a", "colour": "red"}]}, "unknown key"),
        ({"arms": [{"name": "a", "model": 3}]}, "must be strings"),
        ({"shadow": {"name": "s", "max_concurrent": 0}}, "max_concurrent"),
        ({"shadow": {"name": "s", "daily_budget_micros": -5}}, "daily_budget_micros"),
        ({"arms": [{"name": "a"}], "shadow": {"name": "a"}}, "must differ"),
    ],
)
def test_config_errors_name_the_entry(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ExperimentConfigError, match=message):
        ExperimentConfig.from_mapping(raw)


def test_settings_take_arms_from_json_env_or_a_toml_table(tmp_path: object) -> None:
    from pathlib import Path

    from healthai_server.config import ConfigError, load_settings

    raw = '{"arms": [{"name": "a", "backend": "local"}], "shadow": {"name": "s", "backend": "local"}}'
    assert load_settings({"HEALTHAI_EXPERIMENTS": raw}).experiments["arms"][0]["name"] == "a"
    config = Path(str(tmp_path)) / "healthai.toml"
    config.write_text(
        '[experiments]\n[[experiments.arms]]\nname = "control"\nbackend = "anthropic"\nprompt_version = "1.0.0"\n'
        '[experiments.shadow]\nname = "cand"\nmax_concurrent = 2\ndaily_budget_micros = 100\n',
        encoding="utf-8",
    )
    settings = load_settings({"HEALTHAI_CONFIG_FILE": str(config)})
    parsed = ExperimentConfig.from_mapping(settings.experiments)
    assert parsed.arms[0].prompt_version == "1.0.0" and parsed.shadow is not None
    with pytest.raises(ConfigError, match=r"HEALTHAI_EXPERIMENTS: arms\[0\].weight"):
        load_settings({"HEALTHAI_EXPERIMENTS": '{"arms": [{"name": "a", "weight": "x"}]}'})
    with pytest.raises(ConfigError, match="HEALTHAI_SHADOW_TIMEOUT_S"):
        load_settings({"HEALTHAI_SHADOW_TIMEOUT_S": "0"})
