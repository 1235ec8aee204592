"""The tool the model must call, and its JSON schema, generated from the domain enums.

Every enum in the schema is built from the domain enum it maps to, so a value added to the
domain appears in the schema and a schema value always maps back (tests check both ways).
The model gives `evidence` quotes, never offsets: spans are recomputed from the quotes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from healthai_server.domain.clinical import (
    AllergyCategory,
    AllergySeverity,
    Association,
    Certainty,
    Conditionality,
    MedicationStatus,
    NoteSection,
    Route,
    Temporality,
    VitalKind,
)

TOOL_NAME = "record_clinical_data"
CLINICAL_DATA_V1 = "clinical_data.v1"
MAX_ITEMS = 200


def _enum(values: type[enum.Enum], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": [member.value for member in values], "description": description}


def _string(description: str, max_length: int = 500) -> dict[str, Any]:
    return {"type": "string", "description": description, "maxLength": max_length}


def _number(description: str) -> dict[str, Any]:
    return {"type": ["number", "null"], "description": description}


_EVIDENCE = _string("An exact, verbatim quote from the note that shows this item (copied character for character).")
_CONFIDENCE = {"type": "number", "minimum": 0, "maximum": 1, "description": "Confidence from 0 to 1."}
_SECTION = _enum(NoteSection, "The section of the note the mention is in.")
_ASSERTION: dict[str, Any] = {
    "certainty": _enum(Certainty, "Affirmed (positive), denied (negative) or uncertain."),
    "conditionality": _enum(Conditionality, "Hypothetical, conditional or none."),
    "association": _enum(Association, "Whether it concerns the patient (subject) or someone else (other)."),
    "relation": _string("The relative as written when association is other, else empty.", 100),
    "temporality": _enum(Temporality, "Current, past or future relative to the encounter."),
}
_ICD = _string("ICD-10-CM code, or empty when not confident.", 10)


def _items(properties: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "array",
        "maxItems": MAX_ITEMS,
        "items": {"type": "object", "properties": dict(properties), "required": required},
    }


def clinical_data_schema() -> dict[str, Any]:
    """The input schema of the extraction tool (schema name clinical_data.v1)."""
    return {
        "type": "object",
        "properties": {
            "conditions": _items(
                {
                    "evidence": _EVIDENCE,
                    "name": _string("Preferred name of the condition."),
                    "icd10cm": _ICD,
                    **_ASSERTION,
                    "confidence": _CONFIDENCE,
                    "section": _SECTION,
                },
                ["evidence", "name", "certainty", "confidence"],
            ),
            "medications": _items(
                {
                    "evidence": _string("Exact quote of the drug name as written in the note."),
                    "instruction_evidence": _string("Exact quote of the whole instruction (name through frequency)."),
                    "name": _string("Generic drug name in lower case."),
                    "dose_value": _number("Dose per administration."),
                    "dose_unit": _string("UCUM unit of the dose (mg, ug, mL, [iU], {puff}, {tbl}).", 30),
                    "strength_value": _number("Product strength when written apart from the dose."),
                    "strength_unit": _string("UCUM unit of the strength.", 30),
                    "form": _string("Dose form (tablet, capsule, inhaler, solution) or empty.", 50),
                    "route": _enum(Route, "Route of administration."),
                    "frequency_text": _string("Frequency as written.", 100),
                    "frequency_code": _string("QD, BID, TID, QID, QHS, QOD, QW, Q<N>H, ONCE, or empty.", 10),
                    "times_per_day": _number("Administrations per day, 0 when not derivable."),
                    "as_needed": {"type": "boolean", "description": "True when PRN."},
                    "duration": _string("Duration as written, or empty.", 100),
                    "status": _enum(MedicationStatus, "What the note says is happening with the drug."),
                    **_ASSERTION,
                    "confidence": _CONFIDENCE,
                    "section": _SECTION,
                },
                ["evidence", "name", "confidence"],
            ),
            "vital_signs": _items(
                {
                    "evidence": _string(
                        "Exact quote of the measurement as written (for blood pressure, all of 142/91)."
                    ),
                    "kind": _enum(VitalKind, "Kind of vital sign."),
                    "value": {"type": "number", "description": "The value as written."},
                    "unit": _string(
                        "UCUM unit of the value (mm[Hg], /min, Cel, [degF], %, kg, cm, kg/m2, {score}).", 20
                    ),
                    "context": _string("Context written with the value (room air, on 2L NC) or empty.", 100),
                    "confidence": _CONFIDENCE,
                    "section": _SECTION,
                },
                ["evidence", "kind", "value", "confidence"],
            ),
            "allergies": _items(
                {
                    "evidence": _string("Exact quote of the substance as written."),
                    "substance": _string("Substance name in lower case."),
                    "reaction": _string("Reaction as written, or empty.", 200),
                    "severity": _enum(AllergySeverity, "Severity of the reaction."),
                    "category": _enum(AllergyCategory, "Category of the allergen."),
                    **_ASSERTION,
                    "confidence": _CONFIDENCE,
                },
                ["evidence", "substance", "confidence"],
            ),
            "problem_list": _items(
                {
                    "name": _string("Preferred name of the active problem."),
                    "icd10cm": _ICD,
                    "evidence": {
                        "type": "array",
                        "maxItems": 20,
                        "items": _EVIDENCE,
                        "description": "Exact quotes of the mentions that support the problem.",
                    },
                    "rank": {"type": "integer", "minimum": 1, "description": "1 first; assessment and plan first."},
                    "confidence": _CONFIDENCE,
                },
                ["name", "evidence", "rank", "confidence"],
            ),
            "no_known_allergies_evidence": _string("Exact quote of an NKDA/NKA statement, or empty.", 200),
        },
        "required": ["conditions", "medications", "vital_signs", "allergies", "problem_list"],
    }


SCHEMAS: Mapping[str, dict[str, Any]] = {CLINICAL_DATA_V1: clinical_data_schema()}


def tool_definition(schema_name: str = CLINICAL_DATA_V1) -> dict[str, Any]:
    return {
        "name": TOOL_NAME,
        "description": "Record the clinical data stated in the note. Call exactly once.",
        "input_schema": SCHEMAS[schema_name],
    }
