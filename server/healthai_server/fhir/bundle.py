"""ClinicalData -> FHIR R4 Bundle (type collection).

Resources are built as fhir.resources R4B models, so structure and cardinality are
validated by pydantic; coded values are checked here against the value sets we use,
because fhir.resources does not check them. Family-history and hypothetical mentions are
not asserted as the patient's Conditions and are left out of the bundle.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition as FhirCondition
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.provenance import Provenance

from healthai_server.domain.clinical import (
    LOINC_SYSTEM,
    UCUM_SYSTEM,
    Allergy,
    AllergyCategory,
    AllergySeverity,
    Association,
    Certainty,
    ClinicalData,
    Condition,
    Conditionality,
    Medication,
    MedicationStatus,
    Route,
    Temporality,
    VitalInterpretation,
    VitalKind,
    VitalSign,
)
from healthai_server.engine.units import load_units

SNOMED = "http://snomed.info/sct"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_NAMESPACE = uuid.UUID("6f1c6d1e-58a4-4a53-9f0c-2f4b3f5d8a10")

# Value sets (R4) of the codes this module writes.
_VS: dict[str, frozenset[str]] = {
    "condition-clinical": frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"}),
    "condition-ver-status": frozenset(
        {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
    ),
    "medication-statement-status": frozenset(
        {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}
    ),
    "observation-status": frozenset({"registered", "preliminary", "final", "amended"}),
    "observation-interpretation": frozenset({"N", "L", "H", "LL", "HH"}),
    "allergy-category": frozenset({"food", "medication", "environment", "biologic"}),
    "allergy-verification": frozenset({"unconfirmed", "confirmed", "refuted", "entered-in-error"}),
    "allergy-criticality": frozenset({"low", "high", "unable-to-assess"}),
    "reaction-severity": frozenset({"mild", "moderate", "severe"}),
    "ucum": load_units().codes,  # the one unit table (engine/data/units.json)
}  # fmt: skip

_ROUTE_SNOMED: dict[Route, tuple[str, str]] = {
    Route.ORAL: ("26643006", "Oral route"),
    Route.INTRAVENOUS: ("47625008", "Intravenous route"),
    Route.INTRAMUSCULAR: ("78421000", "Intramuscular route"),
    Route.SUBCUTANEOUS: ("34206005", "Subcutaneous route"),
    Route.INHALED: ("447694001", "Respiratory tract route"),
    Route.TOPICAL: ("6064005", "Topical route"),
    Route.SUBLINGUAL: ("37839007", "Sublingual route"),
    Route.RECTAL: ("37161004", "Rectal route"),
    Route.TRANSDERMAL: ("45890007", "Transdermal route"),
    Route.NASAL: ("46713006", "Nasal route"),
    Route.OPHTHALMIC: ("54485002", "Ophthalmic route"),
    Route.OTIC: ("10547007", "Otic route"),
    Route.VAGINAL: ("16857009", "Vaginal route"),
}
_MED_STATUS = {
    MedicationStatus.ACTIVE: "active",
    MedicationStatus.NEW: "active",
    MedicationStatus.DISCONTINUED: "stopped",
    MedicationStatus.HELD: "on-hold",
    MedicationStatus.ADMINISTERED: "completed",
    MedicationStatus.UNSPECIFIED: "unknown",
}
_VERIFICATION = {
    Certainty.POSITIVE: "confirmed",
    Certainty.NEGATIVE: "refuted",
    Certainty.POSSIBLE_POSITIVE: "provisional",
    Certainty.NEUTRAL_POSSIBLE: "differential",
    Certainty.POSSIBLE_NEGATIVE: "unconfirmed",
}
_INTERPRETATION_CODE = {
    VitalInterpretation.NORMAL: ("N", "Normal"),
    VitalInterpretation.LOW: ("L", "Low"),
    VitalInterpretation.HIGH: ("H", "High"),
    VitalInterpretation.CRITICAL_LOW: ("LL", "Critical low"),
    VitalInterpretation.CRITICAL_HIGH: ("HH", "Critical high"),
}
_BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
_VITAL_SIGNS_PANEL_DISPLAY = "Vital Signs"


class FhirValueSetError(ValueError):
    """A coded value is outside the value set it is bound to (a bug in the mapping, not in input)."""


def _check(value: str, value_set: str) -> str:
    if value not in _VS[value_set]:
        raise FhirValueSetError(f"code not in value set {value_set}")
    return value


def _coding(system: str, code: str, display: str = "") -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM_SYSTEM, "code": _check(unit, "ucum")}


def _span_extension(start: int, end: int) -> dict[str, Any]:
    return {
        "url": "https://healthai.example/fhir/StructureDefinition/note-span",
        "extension": [
            {"url": "start", "valueInteger": start},
            {"url": "end", "valueInteger": end},
        ],
    }


class _Builder:
    def __init__(self, note_id: str, engine_version: str) -> None:
        self.note_id = note_id
        self.engine_version = engine_version
        self.entries: list[dict[str, Any]] = []
        self.subject = {"display": "Patient described in the source note"}

    def full_url(self, kind: str, index: int) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{self.note_id}/{kind}/{index}')}"

    def add(self, url: str, resource: Any) -> None:
        self.entries.append({"fullUrl": url, "resource": resource})

    # --- resources ---------------------------------------------------------------------------

    def condition(self, index: int, item: Condition) -> None:
        a = item.assertion
        if a.association is Association.OTHER or a.conditionality is not Conditionality.NONE:
            return
        if a.temporality is Temporality.FUTURE:
            return
        verification = _check(_VERIFICATION[a.certainty], "condition-ver-status")
        data: dict[str, Any] = {
            "id": f"condition-{index}",
            "extension": [_span_extension(item.span.start, item.span.end)],
            "verificationStatus": {"coding": [_coding(_CONDITION_VERIFICATION, verification)]},
            "category": [{"coding": [_coding(_CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]}],
            "code": {
                "coding": [_coding(c.system, c.code, c.display) for c in item.codings],
                "text": item.span.text,
            },
            "subject": self.subject,
        }
        if a.certainty is not Certainty.NEGATIVE and a.temporality is Temporality.CURRENT:
            data["clinicalStatus"] = {"coding": [_coding(_CONDITION_CLINICAL, _check("active", "condition-clinical"))]}
        elif a.certainty is not Certainty.NEGATIVE and item.resolved:
            resolved = _check("resolved", "condition-clinical")
            data["clinicalStatus"] = {"coding": [_coding(_CONDITION_CLINICAL, resolved)]}
        if not item.codings:
            data["code"].pop("coding")
        self.add(self.full_url("condition", index), FhirCondition.model_validate(data))

    def medication(self, index: int, item: Medication) -> None:
        status = _MED_STATUS[item.status]
        if item.assertion.certainty is Certainty.NEGATIVE:
            status = "not-taken"
        elif item.assertion.temporality is Temporality.FUTURE:
            status = "intended"
        dosage: dict[str, Any] = {"text": (item.instruction_span or item.span).text}
        if item.frequency is not None:
            dosage["asNeededBoolean"] = item.frequency.as_needed
            if item.frequency.times_per_day > 0:
                if (
                    item.frequency.code.startswith("Q")
                    and item.frequency.code.endswith("H")
                    and len(item.frequency.code) > 2
                    and item.frequency.code[1:-1].isdigit()
                ):
                    repeat = {"frequency": 1, "period": int(item.frequency.code[1:-1]), "periodUnit": "h"}
                elif item.frequency.times_per_day >= 1:
                    repeat = {"frequency": round(item.frequency.times_per_day), "period": 1, "periodUnit": "d"}
                else:
                    repeat = {"frequency": 1, "period": round(1 / item.frequency.times_per_day), "periodUnit": "d"}
                dosage["timing"] = {"repeat": repeat, "code": {"text": item.frequency.text}}
            elif item.frequency.code == "ONCE":
                dosage["timing"] = {"repeat": {"count": 1}, "code": {"text": item.frequency.text}}
        if item.route in _ROUTE_SNOMED:
            code, display = _ROUTE_SNOMED[item.route]
            dosage["route"] = {"coding": [_coding(SNOMED, code, display)]}
        if item.dose is not None:
            dosage["doseAndRate"] = [{"doseQuantity": _quantity(item.dose.value, item.dose.unit)}]
        data: dict[str, Any] = {
            "id": f"medication-{index}",
            "extension": [_span_extension(item.span.start, item.span.end)],
            "status": _check(status, "medication-statement-status"),
            "medicationCodeableConcept": {
                "coding": [_coding(c.system, c.code, c.display) for c in item.codings] or None,
                "text": item.name,
            },
            "subject": self.subject,
            "dosage": [dosage],
        }
        if not item.codings:
            data["medicationCodeableConcept"].pop("coding")
        self.add(self.full_url("medication", index), MedicationStatement.model_validate(data))

    def vitals(self, items: tuple[VitalSign, ...]) -> None:
        index = 0
        i = 0
        while i < len(items):
            item = items[i]
            nxt = items[i + 1] if i + 1 < len(items) else None
            if (
                item.kind is VitalKind.SYSTOLIC_BLOOD_PRESSURE
                and nxt is not None
                and nxt.kind is VitalKind.DIASTOLIC_BLOOD_PRESSURE
                and nxt.span == item.span
            ):
                self.add(self.full_url("observation", index), self._bp_panel(index, item, nxt))
                i += 2
            else:
                self.add(self.full_url("observation", index), self._observation(index, item))
                i += 1
            index += 1

    def _base_observation(self, index: int, item: VitalSign) -> dict[str, Any]:
        return {
            "id": f"observation-{index}",
            "extension": [_span_extension(item.span.start, item.span.end)],
            "status": _check("final", "observation-status"),
            "category": [{"coding": [_coding(_OBSERVATION_CATEGORY, "vital-signs", _VITAL_SIGNS_PANEL_DISPLAY)]}],
            "subject": self.subject,
        }

    @staticmethod
    def _interpretation(item: VitalSign) -> list[dict[str, Any]] | None:
        if item.interpretation in _INTERPRETATION_CODE:
            code, display = _INTERPRETATION_CODE[item.interpretation]
            return [{"coding": [_coding(_INTERPRETATION, _check(code, "observation-interpretation"), display)]}]
        if item.interpretation is VitalInterpretation.IMPLAUSIBLE:
            return [{"text": "implausible value (outside physiological range)"}]
        return None

    def _observation(self, index: int, item: VitalSign) -> Observation:
        data = self._base_observation(index, item)
        data["code"] = {"coding": [_coding(LOINC_SYSTEM, item.loinc.code, item.loinc.display)], "text": item.span.text}
        data["valueQuantity"] = _quantity(item.quantity.value, item.quantity.unit)
        interpretation = self._interpretation(item)
        if interpretation:
            data["interpretation"] = interpretation
        if item.context:
            data["note"] = [{"text": item.context}]
        return Observation.model_validate(data)

    def _bp_panel(self, index: int, systolic: VitalSign, diastolic: VitalSign) -> Observation:
        data = self._base_observation(index, systolic)
        data["code"] = {"coding": [_coding(LOINC_SYSTEM, *_BP_PANEL)], "text": systolic.span.text}
        components = []
        for item in (systolic, diastolic):
            component: dict[str, Any] = {
                "code": {"coding": [_coding(LOINC_SYSTEM, item.loinc.code, item.loinc.display)]},
                "valueQuantity": _quantity(item.quantity.value, item.quantity.unit),
            }
            interpretation = self._interpretation(item)
            if interpretation:
                component["interpretation"] = interpretation
            components.append(component)
        data["component"] = components
        return Observation.model_validate(data)

    def allergy(self, index: int, item: Allergy) -> None:
        verification = "refuted" if item.assertion.certainty is Certainty.NEGATIVE else "confirmed"
        if item.assertion.certainty in (Certainty.NEUTRAL_POSSIBLE, Certainty.POSSIBLE_POSITIVE):
            verification = "unconfirmed"
        data: dict[str, Any] = {
            "id": f"allergy-{index}",
            "extension": [_span_extension(item.span.start, item.span.end)],
            "verificationStatus": {
                "coding": [_coding(_ALLERGY_VERIFICATION, _check(verification, "allergy-verification"))]
            },
            "code": {"text": item.substance},
            "patient": self.subject,
        }
        if item.codings:
            data["code"]["coding"] = [_coding(c.system, c.code, c.display) for c in item.codings]
        if verification != "refuted":
            data["clinicalStatus"] = {"coding": [_coding(_ALLERGY_CLINICAL, "active")]}
        if item.category is not AllergyCategory.UNSPECIFIED:
            data["category"] = [_check(item.category.value, "allergy-category")]
        if item.severity is AllergySeverity.SEVERE:
            data["criticality"] = _check("high", "allergy-criticality")
        if item.reaction:
            reaction: dict[str, Any] = {"manifestation": [{"text": item.reaction}]}
            if item.severity is not AllergySeverity.UNSPECIFIED:
                reaction["severity"] = _check(item.severity.value, "reaction-severity")
            data["reaction"] = [reaction]
        self.add(self.full_url("allergy", index), AllergyIntolerance.model_validate(data))

    def provenance(self) -> None:
        targets = [{"reference": entry["fullUrl"]} for entry in self.entries]
        if not targets:
            return
        data = {
            "id": "provenance",
            "target": targets,
            "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
            "agent": [
                {
                    "type": {"coding": [_coding(_PROVENANCE_AGENT, "assembler", "Assembler")]},
                    "who": {"display": f"healthai local clinical engine {self.engine_version}"},
                }
            ],
        }
        if self.note_id.strip():
            # An identifier needs a non-empty value: without a note id the source entity is omitted.
            data["entity"] = [
                {
                    "role": "source",
                    "what": {"identifier": {"system": "urn:healthai:note-id", "value": self.note_id}},
                }
            ]
        self.add(self.full_url("provenance", 0), Provenance.model_validate(data))


def build_bundle_resource(data: ClinicalData, *, note_id: str, engine_version: str) -> Bundle:
    builder = _Builder(note_id, engine_version)
    for index, condition in enumerate(data.conditions):
        builder.condition(index, condition)
    for index, medication in enumerate(data.medications):
        builder.medication(index, medication)
    builder.vitals(data.vital_signs)
    for index, allergy in enumerate(data.allergies):
        builder.allergy(index, allergy)
    builder.provenance()
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid5(_NAMESPACE, f"{note_id}/bundle")),
            "type": "collection",
            "entry": builder.entries,
        }
    )


def build_bundle(data: ClinicalData, *, note_id: str, engine_version: str) -> str:
    """The FHIR R4 Bundle (type collection) as JSON."""
    bundle = build_bundle_resource(data, note_id=note_id, engine_version=engine_version)
    return str(bundle.model_dump_json(exclude_none=True))
