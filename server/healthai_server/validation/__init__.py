"""Validation of every backend answer before it reaches a caller.

Stage 1 (schema) lives with the backend that parses raw model output (validation.schema is
the validator); stages 2 (grounding) and 3 (clinical rules) are here and work for any
backend: the pipeline's validation stage (pipeline/validation.py) runs them on every answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from healthai_server.domain.clinical import ClinicalData
from healthai_server.validation.grounding import GroundingReport, QuoteLocator, ground_spans, value_in_text
from healthai_server.validation.rules import ClinicalRules, IcdCodeSet, RuleReport

__all__ = [
    "ClinicalRules",
    "GroundingReport",
    "IcdCodeSet",
    "OutputValidator",
    "QuoteLocator",
    "RuleReport",
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
