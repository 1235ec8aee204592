"""A schema-valid tool answer -> domain ClinicalData, with spans recomputed from the quotes.

Stage 2 (grounding) happens here for the LLM: each item's `evidence` quote is searched for in
the text that was sent; an item whose quote is not there is dropped and counted. A span
found in PHI-guarded text is mapped back to the original note through the guard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from healthai_server.domain.clinical import (
    ICD10CM_SYSTEM,
    Allergy,
    AllergyCategory,
    AllergySeverity,
    Assertion,
    Association,
    Certainty,
    ClinicalData,
    Coding,
    Condition,
    Conditionality,
    EntityType,
    ExtractionOptions,
    Frequency,
    Medication,
    MedicationStatus,
    NoteSection,
    ProblemListEntry,
    Quantity,
    Route,
    Span,
    Temporality,
    VitalKind,
    VitalSign,
)
from healthai_server.validation.grounding import QuoteLocator, value_in_text
from healthai_server.validation.rules import ClinicalRules

# (start, end) in the sent text -> span of the original note, or None when it cannot be mapped.
SpanMapper = Callable[[int, int], Span | None]


@dataclass(frozen=True, slots=True)
class MappedAnswer:
    data: ClinicalData
    ungrounded_dropped: int


def _str(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return value.strip() if isinstance(value, str) else ""


def _float(item: Mapping[str, Any], key: str) -> float | None:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _assertion(item: Mapping[str, Any]) -> Assertion:
    return Assertion(
        certainty=Certainty(item.get("certainty", Certainty.POSITIVE.value)),
        conditionality=Conditionality(item.get("conditionality", Conditionality.NONE.value)),
        association=Association(item.get("association", Association.SUBJECT.value)),
        relation=_str(item, "relation"),
        temporality=Temporality(item.get("temporality", Temporality.CURRENT.value)),
    )


def _icd(item: Mapping[str, Any]) -> tuple[Coding, ...]:
    code = _str(item, "icd10cm")
    return (Coding(ICD10CM_SYSTEM, code),) if code else ()


class AnswerMapper:
    def __init__(self, sent_text: str, to_original: SpanMapper, rules: ClinicalRules) -> None:
        self._locator = QuoteLocator(sent_text)
        self._to_original = to_original
        self._rules = rules
        self.dropped = 0

    def _span(self, quote: str, kind: str) -> Span | None:
        found = self._locator.locate(quote, kind=kind)
        if found is None:
            return None
        return self._to_original(found.start, found.end)

    def _grounded(self, item: Mapping[str, Any], kind: str, key: str = "evidence") -> Span | None:
        span = self._span(_str(item, key), kind)
        if span is None:
            self.dropped += 1
        return span

    def map(self, answer: Mapping[str, Any], options: ExtractionOptions) -> MappedAnswer:
        conditions: list[Condition] = []
        medications: list[Medication] = []
        vitals: list[VitalSign] = []
        allergies: list[Allergy] = []
        problems: list[ProblemListEntry] = []
        if options.wants(EntityType.CONDITION):
            for item in answer.get("conditions", []):
                if (span := self._grounded(item, "condition")) is not None:
                    conditions.append(self._condition(item, span))
        if options.wants(EntityType.MEDICATION):
            for item in answer.get("medications", []):
                if (span := self._grounded(item, "medication")) is not None:
                    medications.append(self._medication(item, span))
        if options.wants(EntityType.VITAL_SIGN):
            for item in answer.get("vital_signs", []):
                kind = VitalKind(item["kind"])
                span = self._grounded(item, f"vital:{kind.value}")
                if span is None:
                    continue
                value = float(item["value"])
                if not value_in_text(value, span.text):
                    self.dropped += 1  # the value is not what the quoted text says
                    continue
                vitals.append(
                    VitalSign(
                        kind=kind,
                        quantity=Quantity(value, _str(item, "unit")),
                        loinc=self._rules.loinc(kind),
                        span=span,
                        context=_str(item, "context"),
                        confidence=float(item["confidence"]),
                        section=NoteSection(item.get("section", NoteSection.UNSPECIFIED.value)),
                    )
                )
        no_known_allergies, nka_span = False, None
        if options.wants(EntityType.ALLERGY):
            for item in answer.get("allergies", []):
                if (span := self._grounded(item, "allergy")) is not None:
                    allergies.append(self._allergy(item, span))
            if _str(answer, "no_known_allergies_evidence"):
                nka_span = self._grounded(answer, "nka", "no_known_allergies_evidence")
                no_known_allergies = nka_span is not None
        if options.wants(EntityType.PROBLEM_LIST):
            for item in answer.get("problem_list", []):
                quotes = [q for q in item.get("evidence", []) if isinstance(q, str)]
                evidence = tuple(s for s in (self._span(q, "problem") for q in quotes) if s is not None)
                if not evidence:
                    self.dropped += 1
                    continue
                problems.append(
                    ProblemListEntry(
                        name=_str(item, "name"),
                        codings=_icd(item),
                        evidence=evidence,
                        rank=int(item["rank"]),
                        confidence=float(item["confidence"]),
                    )
                )
        data = ClinicalData(
            conditions=tuple(sorted(conditions, key=lambda c: c.span.start)),
            medications=tuple(sorted(medications, key=lambda m: m.span.start)),
            vital_signs=tuple(sorted(vitals, key=lambda v: v.span.start)),
            allergies=tuple(sorted(allergies, key=lambda a: a.span.start)),
            problem_list=tuple(sorted(problems, key=lambda p: p.rank)),
            no_known_allergies=no_known_allergies,
            no_known_allergies_span=nka_span,
        )
        return MappedAnswer(data, self.dropped)

    def _condition(self, item: Mapping[str, Any], span: Span) -> Condition:
        return Condition(
            span=span,
            name=_str(item, "name"),
            codings=_icd(item),
            assertion=_assertion(item),
            confidence=float(item["confidence"]),
            section=NoteSection(item.get("section", NoteSection.UNSPECIFIED.value)),
        )

    def _medication(self, item: Mapping[str, Any], span: Span) -> Medication:
        dose_value, strength_value = _float(item, "dose_value"), _float(item, "strength_value")
        frequency_text = _str(item, "frequency_text")
        instruction = self._span(_str(item, "instruction_evidence"), "instruction")
        return Medication(
            span=span,
            name=_str(item, "name").lower(),
            dose=None if dose_value is None else Quantity(dose_value, _str(item, "dose_unit")),
            strength=None if strength_value is None else Quantity(strength_value, _str(item, "strength_unit")),
            form=_str(item, "form"),
            route=Route(item.get("route", Route.UNSPECIFIED.value)),
            frequency=Frequency(
                text=frequency_text,
                code=_str(item, "frequency_code").upper(),
                times_per_day=_float(item, "times_per_day") or 0.0,
                as_needed=bool(item.get("as_needed", False)),
            )
            if frequency_text
            else None,
            duration=_str(item, "duration"),
            status=MedicationStatus(item.get("status", MedicationStatus.UNSPECIFIED.value)),
            assertion=_assertion(item),
            confidence=float(item["confidence"]),
            section=NoteSection(item.get("section", NoteSection.UNSPECIFIED.value)),
            instruction_span=instruction,
        )

    def _allergy(self, item: Mapping[str, Any], span: Span) -> Allergy:
        return Allergy(
            span=span,
            substance=_str(item, "substance").lower(),
            reaction=_str(item, "reaction"),
            severity=AllergySeverity(item.get("severity", AllergySeverity.UNSPECIFIED.value)),
            category=AllergyCategory(item.get("category", AllergyCategory.UNSPECIFIED.value)),
            assertion=_assertion(item),
            confidence=float(item["confidence"]),
        )
