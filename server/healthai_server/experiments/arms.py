"""Experiment arms as data: what each arm runs (backend, model, prompt version), its weight
and tenant scope, and the shadow candidate with its own cost cap and concurrency cap.

Configured as the `experiments` setting (TOML table in HEALTHAI_CONFIG_FILE, or JSON in
HEALTHAI_EXPERIMENTS):

    [experiments]
    [[experiments.arms]]
    name = "control"            # recorded in provenance, audit and the usage ledger
    backend = "anthropic"       # or "local"
    model = "claude-sonnet-4-6"
    prompt_version = "1.0.0"    # clinical_extraction prompt version; "" = latest
    weight = 90
    tenants = []                # empty: every tenant
    [[experiments.arms]]
    name = "prompt-1.1"
    ...
    [experiments.shadow]
    name = "haiku-shadow"
    backend = "anthropic"
    model = "claude-haiku-4-5"
    prompt_version = "1.1.0"
    daily_budget_micros = 5000000   # shadow spend per UTC day (all tenants); 0 = no shadow calls
    max_concurrent = 4              # shadow calls in flight; more are dropped and counted
    tenants = []
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BACKENDS = ("local", "anthropic")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class ExperimentConfigError(ValueError):
    """The experiments setting is malformed; the message names the bad entry."""


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    backend: str
    model: str = ""
    prompt_version: str = ""
    weight: float = 1.0
    tenants: frozenset[str] = frozenset()  # empty: every tenant

    def applies_to(self, tenant: str) -> bool:
        return not self.tenants or tenant in self.tenants


@dataclass(frozen=True, slots=True)
class ShadowConfig:
    arm: Arm
    daily_budget_micros: int = 0
    max_concurrent: int = 4


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    arms: tuple[Arm, ...] = ()
    shadow: ShadowConfig | None = None
    names: frozenset[str] = field(default_factory=frozenset)

    @property
    def enabled(self) -> bool:
        return bool(self.arms) or self.shadow is not None

    @property
    def needs_llm(self) -> bool:
        used = [*self.arms, *([self.shadow.arm] if self.shadow else [])]
        return any(arm.backend == "anthropic" for arm in used)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ExperimentConfig:
        unknown = set(raw) - {"arms", "shadow"}
        if unknown:
            raise ExperimentConfigError(f"unknown key(s) {sorted(unknown)}")
        arms_raw = raw.get("arms", [])
        if not isinstance(arms_raw, Sequence) or isinstance(arms_raw, str):
            raise ExperimentConfigError("arms must be a list of tables")
        arms = tuple(_arm(item, f"arms[{i}]", weighted=True) for i, item in enumerate(arms_raw))
        names = [arm.name for arm in arms]
        if len(set(names)) != len(names):
            raise ExperimentConfigError("arms: names must be unique")
        if arms and sum(arm.weight for arm in arms) <= 0:
            raise ExperimentConfigError("arms: at least one weight must be positive")
        shadow = _shadow(raw["shadow"]) if raw.get("shadow") else None
        if shadow is not None and shadow.arm.name in names:
            raise ExperimentConfigError("shadow.name: must differ from every live arm's name")
        all_names = frozenset(names) | ({shadow.arm.name} if shadow else frozenset())
        return cls(arms, shadow, all_names)


def _arm(raw: object, where: str, *, weighted: bool) -> Arm:
    if not isinstance(raw, Mapping):
        raise ExperimentConfigError(f"{where}: must be a table")
    allowed = {"name", "backend", "model", "prompt_version", "tenants"} | ({"weight"} if weighted else set())
    extra = set(raw) - allowed - ({"daily_budget_micros", "max_concurrent"} if not weighted else set())
    if extra:
        raise ExperimentConfigError(f"{where}: unknown key(s) {sorted(extra)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ExperimentConfigError(f"{where}.name: must match {_NAME.pattern}")
    backend = raw.get("backend", "anthropic")
    if backend not in BACKENDS:
        raise ExperimentConfigError(f"{where}.backend: must be one of {', '.join(BACKENDS)}")
    model, version = raw.get("model", ""), raw.get("prompt_version", "")
    if not isinstance(model, str) or not isinstance(version, str):
        raise ExperimentConfigError(f"{where}: model and prompt_version must be strings")
    if backend == "local" and (model or version):
        raise ExperimentConfigError(f"{where}: the local backend takes no model or prompt_version")
    weight = raw.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise ExperimentConfigError(f"{where}.weight: must be a number >= 0")
    tenants = raw.get("tenants", [])
    if not isinstance(tenants, list) or not all(isinstance(t, str) and t for t in tenants):
        raise ExperimentConfigError(f"{where}.tenants: must be a list of tenant names")
    return Arm(name, str(backend), model, version, float(weight), frozenset(tenants))


def _shadow(raw: object) -> ShadowConfig:
    arm = _arm(raw, "shadow", weighted=False)
    assert isinstance(raw, Mapping)
    budget, concurrent = raw.get("daily_budget_micros", 0), raw.get("max_concurrent", 4)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise ExperimentConfigError("shadow.daily_budget_micros: must be an integer >= 0")
    if isinstance(concurrent, bool) or not isinstance(concurrent, int) or not 1 <= concurrent <= 256:
        raise ExperimentConfigError("shadow.max_concurrent: must be an integer between 1 and 256")
    return ShadowConfig(arm, budget, concurrent)
