"""Where a result came from and what it cost."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DegradedReason(enum.Enum):
    BREAKER_OPEN = "breaker_open"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    INVALID_OUTPUT = "invalid_output"
    UPSTREAM_ERROR = "upstream_error"
    BUDGET_EXHAUSTED = "budget_exhausted"


@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


@dataclass(frozen=True, slots=True)
class PromptRef:
    id: str
    version: str
    hash: str


@dataclass(frozen=True, slots=True)
class Provenance:
    backend: str
    model: str
    prompt: PromptRef | None = None
    degraded_reason: DegradedReason | None = None
    latency_s: float = 0.0
    cache_hit: bool = False
    token_usage: TokenUsage | None = None
    cost_micros: int = 0
    experiment_arm: str = ""  # the experiment arm that answered, "" outside experiments

    @property
    def degraded(self) -> bool:
        return self.degraded_reason is not None
