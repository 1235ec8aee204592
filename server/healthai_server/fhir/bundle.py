"""ClinicalData -> FHIR R4 Bundle (type collection) that a receiving EHR can file.

Resources are built as fhir.resources R4B models, so structure and cardinality are
validated by pydantic; coded values are checked here against the value sets we use,
because fhir.resources does not check them. CI checks every golden-set bundle against the
official R4 JSON schema, the core invariants and the vital-signs profiles
(tests/contract/test_fhir_conformance.py).

- One Condition per concept, every mention as evidence (with its span); problem-list-item
  for mentions in the past medical history, encounter-diagnosis otherwise; refuted findings
  only when asked for. Family history becomes FamilyMemberHistory, one per relative.
- One MedicationStatement per regimen: a dose changed in the note stops the old one.
- Observations carry effective[x] (the caller's note date, else a date stated in the note,
  else the request time; the extension effective-source says which) and meta.profile for
  the core vital-signs profile that applies; SpO2 carries LOINC 2708-6 and 59408-5.
- Hypothetical and future conditions are not asserted and are left out.
"""

from __future__ import annotations

import uuid
from typing import Any

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition as FhirCondition
from fhir.resources.R4B.familymemberhistory import FamilyMemberHistory
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
    FhirRequest,
    Medication,
    MedicationStatus,
    NoteSection,
    Route,
    Temporality,
    VitalInterpretation,
    VitalKind,
    VitalSign,
)
from healthai_server.engine.units import load_units
from healthai_server.fhir.resolve import (
    ConditionGroup,
    Regimen,
    group_conditions,
    resolve_medications,
    stated_note_date,
)

SNOMED = "http://snomed.info/sct"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
# Our extensions; their StructureDefinitions are in fhir/definitions/ (same canonical URLs).
EXTENSION_BASE = "https://healthai.example/fhir/StructureDefinition/"
SPAN_EXTENSION = EXTENSION_BASE + "note-span"
EFFECTIVE_SOURCE_EXTENSION = EXTENSION_BASE + "effective-source"
_CORE_PROFILE = "http://hl7.org/fhir/StructureDefinition/"
_NAMESPACE = uuid.UUID("6f1c6d1e-58a4-4a53-9f0c-2f4b3f5d8a10")

# Value sets (R4) of the codes this module writes.
_VS: dict[str, frozenset[str]] = {
    "condition-clinical": frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"}),
    "condition-category": frozenset({"problem-list-item", "encounter-diagnosis"}),
    "fhs-status": frozenset({"partial", "completed", "entered-in-error", "health-unknown"}),
    "effective-source": frozenset({"request", "note", "request-time"}),
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
# The core profile each kind conforms to (R4 vital signs; all derive from "vitalsigns").
# A lone systolic or diastolic value is a vital sign without a specific profile; a pain
# score is not a vital sign in R4 (its units are not in the vital-signs units) and claims none.
_VITAL_PROFILE: dict[VitalKind, str] = {
    VitalKind.HEART_RATE: "heartrate",
    VitalKind.RESPIRATORY_RATE: "resprate",
    VitalKind.BODY_TEMPERATURE: "bodytemp",
    VitalKind.OXYGEN_SATURATION: "oxygensat",
    VitalKind.BODY_WEIGHT: "bodyweight",
    VitalKind.BODY_HEIGHT: "bodyheight",
    VitalKind.BODY_MASS_INDEX: "bmi",
    VitalKind.SYSTOLIC_BLOOD_PRESSURE: "",
    VitalKind.DIASTOLIC_BLOOD_PRESSURE: "",
}
# The core oxygensat profile requires 2708-6; pulse oximetry (59408-5) is the method-specific
# code US Core also asks for. Both go on the Observation, 2708-6 first.
_SPO2_ARTERIAL = ("2708-6", "Oxygen saturation in Arterial blood")
# Mentions in these sections are the patient's standing problems; the rest are about this encounter.
_PROBLEM_LIST_SECTIONS = frozenset({NoteSection.PAST_MEDICAL_HISTORY, NoteSection.PAST_SURGICAL_HISTORY})
_RELATIONSHIP: dict[str, tuple[str, str]] = {
    "mother": ("MTH", "mother"),
    "father": ("FTH", "father"),
    "parent": ("PRN", "parent"),
    "brother": ("BRO", "brother"),
    "sister": ("SIS", "sister"),
    "sibling": ("SIB", "sibling"),
    "son": ("SON", "natural son"),
    "daughter": ("DAU", "natural daughter"),
    "aunt": ("AUNT", "aunt"),
    "uncle": ("UNCLE", "uncle"),
    "cousin": ("COUSN", "cousin"),
    "grandmother": ("GRMTH", "grandmother"),
    "grandfather": ("GRFTH", "grandfather"),
    "maternal grandmother": ("MGRMTH", "maternal grandmother"),
    "maternal grandfather": ("MGRFTH", "maternal grandfather"),
    "paternal grandmother": ("PGRMTH", "paternal grandmother"),
    "paternal grandfather": ("PGRFTH", "paternal grandfather"),
}
_FAMILY_MEMBER = ("FAMMEMB", "family member")


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
        "url": SPAN_EXTENSION,
        "extension": [
            {"url": "start", "valueInteger": start},
            {"url": "end", "valueInteger": end},
        ],
    }


class _Builder:
    def __init__(self, request: FhirRequest) -> None:
        self.request = request
        self.note_id = request.document_id
        self.engine_version = request.engine_version
        self.entries: list[dict[str, Any]] = []
        context = request.context
        self.subject: dict[str, str] = (
            {"reference": context.patient_reference}
            if context.patient_reference
            else {"display": "Patient described in the source note"}
        )
        self.encounter: dict[str, str] | None = (
            {"reference": context.encounter_reference} if context.encounter_reference else None
        )
        # When the findings were made: the caller's date, else one the note states, else now.
        stated = stated_note_date(request.note_text) if not context.note_date else None
        if context.note_date:
            self.effective, self.effective_source = context.note_date, "request"
        elif stated is not None:
            self.effective, self.effective_source = stated.isoformat(), "note"
        else:
            self.effective = request.recorded_at.isoformat(timespec="seconds")
            self.effective_source = "request-time"

    def full_url(self, kind: str, index: int) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{self.note_id}/{kind}/{index}')}"

    def add(self, url: str, resource: Any) -> None:
        self.entries.append({"fullUrl": url, "resource": resource})

    # --- resources ---------------------------------------------------------------------------

    def conditions(self, items: tuple[Condition, ...]) -> None:
        """One Condition per concept of the patient's; family history to FamilyMemberHistory."""
        own: list[Condition] = []
        family: list[Condition] = []
        for item in items:
            a = item.assertion
            if a.conditionality is not Conditionality.NONE or a.temporality is Temporality.FUTURE:
                continue
            if a.association is Association.OTHER:
                if a.certainty is Certainty.POSITIVE:
                    family.append(item)
                continue
            if a.certainty is Certainty.NEGATIVE and not self.request.include_refuted:
                continue
            own.append(item)
        for index, group in enumerate(group_conditions(own)):
            self.add(self.full_url("condition", index), self._condition(index, group))
        self.family_history(family)

    def _condition(self, index: int, group: ConditionGroup) -> FhirCondition:
        item = group.first
        certainty = group.key[1]
        verification = _check(_VERIFICATION[certainty], "condition-ver-status")
        sections = {m.section for m in group.mentions}
        categories = []
        if sections & _PROBLEM_LIST_SECTIONS:
            categories.append(("problem-list-item", "Problem List Item"))
        if sections - _PROBLEM_LIST_SECTIONS:
            categories.append(("encounter-diagnosis", "Encounter Diagnosis"))
        data: dict[str, Any] = {
            "id": f"condition-{index}",
            "extension": [_span_extension(item.span.start, item.span.end)],
            "verificationStatus": {"coding": [_coding(_CONDITION_VERIFICATION, verification)]},
            "category": [
                {"coding": [_coding(_CONDITION_CATEGORY, _check(code, "condition-category"), display)]}
                for code, display in categories
            ],
            "code": {
                "coding": [_coding(c.system, c.code, c.display) for c in item.codings],
                "text": item.span.text,
            },
            "subject": self.subject,
            "evidence": [
                {
                    "extension": [_span_extension(m.span.start, m.span.end)],
                    "code": [{"text": m.span.text}],
                }
                for m in group.mentions
            ],
        }
        if self.encounter is not None:
            data["encounter"] = self.encounter
        if self.effective_source != "request-time":
            data["recordedDate"] = self.effective
        current = any(m.assertion.temporality is Temporality.CURRENT for m in group.mentions)
        if certainty is not Certainty.NEGATIVE and current:
            data["clinicalStatus"] = {"coding": [_coding(_CONDITION_CLINICAL, _check("active", "condition-clinical"))]}
        elif certainty is not Certainty.NEGATIVE and all(m.resolved for m in group.mentions):
            resolved = _check("resolved", "condition-clinical")
            data["clinicalStatus"] = {"coding": [_coding(_CONDITION_CLINICAL, resolved)]}
        if not item.codings:
            data["code"].pop("coding")
        return FhirCondition.model_validate(data)

    def family_history(self, items: list[Condition]) -> None:
        by_relation: dict[str, list[Condition]] = {}
        for item in items:
            by_relation.setdefault(item.assertion.relation.strip().lower(), []).append(item)
        for index, (relation, mentions) in enumerate(by_relation.items()):
            code, display = _RELATIONSHIP.get(relation, _FAMILY_MEMBER)
            seen: set[str] = set()
            conditions = []
            for m in mentions:
                key = m.codings[0].code if m.codings else m.name.lower()
                if key in seen:
                    continue
                seen.add(key)
                concept: dict[str, Any] = {"text": m.span.text}
                if m.codings:
                    concept["coding"] = [_coding(c.system, c.code, c.display) for c in m.codings]
                conditions.append({"extension": [_span_extension(m.span.start, m.span.end)], "code": concept})
            data: dict[str, Any] = {
                "id": f"family-history-{index}",
                "status": _check("completed", "fhs-status"),
                "patient": self.subject,
                "relationship": {"coding": [_coding(_ROLE_CODE, code, display)], "text": relation or "family member"},
                "condition": conditions,
            }
            if self.effective_source != "request-time":
                data["date"] = self.effective
            self.add(self.full_url("family-history", index), FamilyMemberHistory.model_validate(data))

    def medications(self, items: tuple[Medication, ...]) -> None:
        regimens = resolve_medications(list(items), self.request.note_text, _MED_STATUS)
        for index, regimen in enumerate(regimens):
            self.add(self.full_url("medication", index), self._medication(index, regimen))

    def _medication(self, index: int, regimen: Regimen) -> MedicationStatement:
        item = regimen.defining
        status = regimen.status
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
            "extension": [_span_extension(m.span.start, m.span.end) for m in regimen.mentions],
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
        if self.encounter is not None:
            data["context"] = self.encounter
        if self.effective_source != "request-time":
            data["dateAsserted"] = self.effective
        change = regimen.superseded_by or regimen.stopped_by
        if change is not None:
            why = "dose changed" if regimen.superseded_by is not None else "discontinued"
            data["statusReason"] = [{"text": f"{why} in this note: {(change.instruction_span or change.span).text}"}]
        return MedicationStatement.model_validate(data)

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

    def _base_observation(self, index: int, item: VitalSign, profile: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": f"observation-{index}",
            "extension": [
                _span_extension(item.span.start, item.span.end),
                {
                    "url": EFFECTIVE_SOURCE_EXTENSION,
                    "valueCode": _check(self.effective_source, "effective-source"),
                },
            ],
            "status": _check("final", "observation-status"),
            "category": [{"coding": [_coding(_OBSERVATION_CATEGORY, "vital-signs", _VITAL_SIGNS_PANEL_DISPLAY)]}],
            "subject": self.subject,
            "effectiveDateTime": self.effective,
        }
        if profile is None:
            # Not a vital sign in R4's sense (a pain score): filed as a survey answer.
            data["category"] = [{"coding": [_coding(_OBSERVATION_CATEGORY, "survey", "Survey")]}]
        else:
            profiles = [_CORE_PROFILE + "vitalsigns"]
            if profile:
                profiles.append(_CORE_PROFILE + profile)
            data["meta"] = {"profile": profiles}
        if self.encounter is not None:
            data["encounter"] = self.encounter
        return data

    @staticmethod
    def _interpretation(item: VitalSign) -> list[dict[str, Any]] | None:
        if item.interpretation in _INTERPRETATION_CODE:
            code, display = _INTERPRETATION_CODE[item.interpretation]
            return [{"coding": [_coding(_INTERPRETATION, _check(code, "observation-interpretation"), display)]}]
        if item.interpretation is VitalInterpretation.IMPLAUSIBLE:
            return [{"text": "implausible value (outside physiological range)"}]
        return None

    def _observation(self, index: int, item: VitalSign) -> Observation:
        data = self._base_observation(index, item, _VITAL_PROFILE.get(item.kind))
        codings = [_coding(LOINC_SYSTEM, item.loinc.code, item.loinc.display)]
        if item.kind is VitalKind.OXYGEN_SATURATION and item.loinc.code != _SPO2_ARTERIAL[0]:
            codings.insert(0, _coding(LOINC_SYSTEM, *_SPO2_ARTERIAL))
        data["code"] = {"coding": codings, "text": item.span.text}
        data["valueQuantity"] = _quantity(item.quantity.value, item.quantity.unit)
        interpretation = self._interpretation(item)
        if interpretation:
            data["interpretation"] = interpretation
        if item.context:
            data["note"] = [{"text": item.context}]
        return Observation.model_validate(data)

    def _bp_panel(self, index: int, systolic: VitalSign, diastolic: VitalSign) -> Observation:
        data = self._base_observation(index, systolic, "bp")
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
            "recorded": self.request.recorded_at.isoformat(timespec="seconds"),
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


def build_bundle_resource(data: ClinicalData, request: FhirRequest) -> Bundle:
    builder = _Builder(request)
    builder.conditions(data.conditions)
    builder.medications(data.medications)
    builder.vitals(data.vital_signs)
    for index, allergy in enumerate(data.allergies):
        builder.allergy(index, allergy)
    builder.provenance()
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid5(_NAMESPACE, f"{request.document_id}/bundle")),
            "type": "collection",
            "entry": builder.entries,
        }
    )


def build_bundle(data: ClinicalData, request: FhirRequest) -> str:
    """The FHIR R4 Bundle (type collection) as JSON."""
    bundle = build_bundle_resource(data, request)
    return str(bundle.model_dump_json(exclude_none=True))
