"""Fixtures: the fake Messages API (always stopped), a real AnthropicBackend pointed at it, a tiny
local fallback, a recording sleep, and a note with an answer that grounds in it."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from healthai_server.backends.anthropic import AnthropicBackend
from healthai_server.backends.base import BackendRequest, BackendResult
from healthai_server.domain.clinical import ClinicalData, Condition, Span
from healthai_server.domain.provenance import Provenance, TokenUsage
from healthai_server.prompts import PromptRegistry
from healthai_server.validation.rules import ClinicalRules

from tests.fakes.anthropic_api import FakeAnthropicAPI

NOTE = (
    "CHIEF COMPLAINT: shortness of breath.\n"
    "HPI: John Carter is a 67 year old man with HTN and type 2 diabetes who denies chest pain.\n"
    "MEDICATIONS: metformin 500 mg PO BID; lisinopril 10 mg daily.\n"
    "ALLERGIES: penicillin (hives).\n"
    "VITALS: BP 142/91, HR 88, SpO2 94% on room air, Temp 38.2 C.\n"
    "ASSESSMENT AND PLAN: 1. Hypertension, uncontrolled. 2. Type 2 diabetes mellitus.\n"
)
COVERED = "covered-tenant"
NOT_COVERED = "uncovered-tenant"


def good_answer() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "conditions": [
                {
                    "evidence": "HTN",
                    "name": "hypertension",
                    "icd10cm": "I10",
                    "certainty": "positive",
                    "confidence": 0.9,
                },
                {
                    "evidence": "type 2 diabetes",
                    "name": "type 2 diabetes mellitus",
                    "icd10cm": "E119",
                    "certainty": "positive",
                    "confidence": 0.9,
                },
                {"evidence": "chest pain", "name": "chest pain", "certainty": "negative", "confidence": 0.8},
            ],
            "medications": [
                {
                    "evidence": "metformin",
                    "instruction_evidence": "metformin 500 mg PO BID",
                    "name": "Metformin",
                    "dose_value": 500,
                    "dose_unit": "mg",
                    "route": "oral",
                    "frequency_text": "BID",
                    "frequency_code": "BID",
                    "times_per_day": 2,
                    "status": "active",
                    "confidence": 0.95,
                    "section": "medications",
                },
                {
                    "evidence": "lisinopril",
                    "name": "lisinopril",
                    "dose_value": 10,
                    "dose_unit": "mg",
                    "confidence": 0.9,
                },
            ],
            "vital_signs": [
                {
                    "evidence": "142/91",
                    "kind": "systolic_blood_pressure",
                    "value": 142,
                    "unit": "mmHg",
                    "confidence": 0.9,
                },
                {
                    "evidence": "142/91",
                    "kind": "diastolic_blood_pressure",
                    "value": 91,
                    "unit": "mm[Hg]",
                    "confidence": 0.9,
                },
                {"evidence": "HR 88", "kind": "heart_rate", "value": 88, "unit": "/min", "confidence": 0.9},
                {"evidence": "38.2 C", "kind": "body_temperature", "value": 38.2, "unit": "Cel", "confidence": 0.9},
            ],
            "allergies": [
                {
                    "evidence": "penicillin",
                    "substance": "penicillin",
                    "reaction": "hives",
                    "category": "medication",
                    "confidence": 0.9,
                }
            ],
            "problem_list": [
                {
                    "name": "Hypertension",
                    "icd10cm": "I10",
                    "evidence": ["Hypertension, uncontrolled"],
                    "rank": 1,
                    "confidence": 0.9,
                }
            ],
            "no_known_allergies_evidence": "",
        }
    )


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropicAPI]:
    """A fresh fake per test; stopped in `finally` even when the test fails or times out."""
    api = FakeAnthropicAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()


_RULES: ClinicalRules | None = None


@pytest.fixture(scope="session")
def rules() -> ClinicalRules:
    """One warmed rule set for the session (the ICD-10-CM import costs about 3 s)."""
    global _RULES
    if _RULES is None:
        _RULES = ClinicalRules.load()
        _RULES.warm()
    return _RULES


@pytest.fixture(scope="session")
def prompts() -> PromptRegistry:
    return PromptRegistry()


BackendFactory = Callable[..., AnthropicBackend]


@pytest.fixture
async def make_backend(
    fake_api: FakeAnthropicAPI, rules: ClinicalRules, prompts: PromptRegistry
) -> AsyncIterator[BackendFactory]:
    created: list[AnthropicBackend] = []

    def build(**overrides: Any) -> AnthropicBackend:
        kwargs: dict[str, Any] = {
            "model": "claude-sonnet-4-5",
            "base_url": fake_api.url,
            "api_key": "test-key",
            "baa_tenants": frozenset({COVERED}),
            "rules": rules,
            "prompts": prompts,
            "timeout_s": 10.0,
        }
        kwargs.update(overrides)
        backend = AnthropicBackend(**kwargs)
        created.append(backend)
        return backend

    yield build
    for backend in created:
        await backend.close()


class FakeLocalBackend:
    """A stand-in for the local engine: always answers, counts its calls."""

    def __init__(self, name: str = "local", delay_s: float = 0.0) -> None:
        self._name = name
        self.calls = 0
        self.delay_s = delay_s

    @property
    def name(self) -> str:
        return self._name

    async def extract(self, request: BackendRequest) -> BackendResult:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        start = request.text.find("HTN")
        conditions = () if start < 0 else (Condition(Span(start, start + 3, "HTN"), "hypertension"),)
        return BackendResult(ClinicalData(conditions=conditions), Provenance(backend=self._name, model="local-test-1"))

    async def close(self) -> None:
        return None


class RecordingSleep:
    """Records requested delays; sleeps for real only `scale` of them (0: just yields)."""

    def __init__(self, scale: float = 0.0) -> None:
        self.delays: list[float] = []
        self.scale = scale

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(delay * self.scale)


class RecordingObserver:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_retry(self, backend: str, reason: str) -> None:
        self.events.append(("retry", backend, reason))

    def on_breaker_state(self, backend: str, state: str) -> None:
        self.events.append(("breaker", backend, state))

    def on_fallback(self, reason: str) -> None:
        self.events.append(("fallback", reason))

    def on_grounding_dropped(self, backend: str, n: int) -> None:
        self.events.append(("dropped", backend, n))

    def on_tokens(self, model: str, usage: TokenUsage, cost_micros: int, *, tenant: str) -> None:
        self.events.append(("tokens", model, cost_micros, tenant))

    def on_backend_call(self, backend: str, outcome: str, seconds: float) -> None:
        self.events.append(("call", backend, outcome))

    def on_cache(self, hit: bool) -> None:
        self.events.append(("cache", hit))

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] == kind]


def elapsed(since: float) -> float:
    return time.monotonic() - since
