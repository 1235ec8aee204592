"""Validation of every backend answer before it reaches a caller.

Stage 1 (schema) lives with the backend that parses raw model output (validation.schema is
the validator); stages 2 (grounding) and 3 (clinical rules) are here and work for any
backend. `ValidatingBackend` wraps any ExtractionBackend with stages 2 and 3.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from healthai_server.backends.base import BackendRequest, BackendResult, ExtractionBackend
from healthai_server.domain.clinical import ClinicalData, as_domain
from healthai_server.validation.grounding import GroundingReport, QuoteLocator, ground_spans, value_in_text
from healthai_server.validation.rules import ClinicalRules, IcdCodeSet, RuleReport

__all__ = [
    "ClinicalRules",
    "GroundingReport",
    "IcdCodeSet",
    "OutputValidator",
    "QuoteLocator",
    "RuleReport",
    "ValidatingBackend",
    "ValidationOutcome",
    "ground_spans",
    "value_in_text",
]


@dataclass(frozen=True, slots=True)
class ValidationOutcome:
    data: ClinicalData
    grounding: GroundingReport
    rules: RuleReport


class OutputValidator:
    """Stages 2 and 3 for results that carry offsets (any backend)."""

    def __init__(self, rules: ClinicalRules | None = None) -> None:
        self._rules = rules or ClinicalRules.load()

    @property
    def rules(self) -> ClinicalRules:
        return self._rules

    async def warm(self) -> None:
        """Load the ICD-10-CM code set off the event loop (call once at start-up)."""
        if not self._rules.codes.warmed:
            await asyncio.to_thread(self._rules.warm)

    def check(self, note: str, data: ClinicalData) -> ValidationOutcome:
        grounded, grounding = ground_spans(note, data)
        checked, rules = self._rules.apply(grounded, note)
        return ValidationOutcome(checked, grounding, rules)


class ValidatingBackend:
    """Any backend, with its answers grounded and rule-checked; drops go to ungrounded_dropped."""

    def __init__(self, inner: ExtractionBackend, validator: OutputValidator) -> None:
        self._inner = inner
        self._validator = validator

    @property
    def name(self) -> str:
        return self._inner.name

    async def extract(self, request: BackendRequest) -> BackendResult:
        result = await self._inner.extract(request)
        await self._validator.warm()
        outcome = self._validator.check(request.text, as_domain(result.data))
        return replace(
            result,
            data=outcome.data,
            ungrounded_dropped=result.ungrounded_dropped + outcome.grounding.dropped,
        )

    async def close(self) -> None:
        await self._inner.close()
