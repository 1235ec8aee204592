"""The clinical model shared by every backend, the pipeline and the converters.

Enum member names equal the protobuf enum value names without their prefix
(Certainty.NEGATIVE <-> CERTAINTY_NEGATIVE); services/convert.py relies on it.
Offsets are Python string indices, i.e. Unicode code points, as the contract says.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Certainty(enum.Enum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    POSSIBLE_POSITIVE = "possible_positive"
    POSSIBLE_NEGATIVE = "possible_negative"
    NEUTRAL_POSSIBLE = "neutral_possible"


class Conditionality(enum.Enum):
    NONE = "none"
    HYPOTHETICAL = "hypothetical"
    CONDITIONAL = "conditional"


class Association(enum.Enum):
    SUBJECT = "subject"
    OTHER = "other"


class Temporality(enum.Enum):
    CURRENT = "current"
    PAST = "past"
    FUTURE = "future"


class NoteSection(enum.Enum):
    UNSPECIFIED = "unspecified"
    CHIEF_COMPLAINT = "chief_complaint"
    HISTORY_OF_PRESENT_ILLNESS = "history_of_present_illness"
    PAST_MEDICAL_HISTORY = "past_medical_history"
    PAST_SURGICAL_HISTORY = "past_surgical_history"
    FAMILY_HISTORY = "family_history"
    SOCIAL_HISTORY = "social_history"
    REVIEW_OF_SYSTEMS = "review_of_systems"
    MEDICATIONS = "medications"
    ALLERGIES = "allergies"
    VITAL_SIGNS = "vital_signs"
    PHYSICAL_EXAM = "physical_exam"
    RESULTS = "results"
    ASSESSMENT_AND_PLAN = "assessment_and_plan"
    HOSPITAL_COURSE = "hospital_course"
    DISCHARGE_MEDICATIONS = "discharge_medications"
    DISCHARGE_INSTRUCTIONS = "discharge_instructions"
    DIAGNOSES = "diagnoses"
    OTHER = "other"


class Route(enum.Enum):
    UNSPECIFIED = "unspecified"
    ORAL = "oral"
    INTRAVENOUS = "intravenous"
    INTRAMUSCULAR = "intramuscular"
    SUBCUTANEOUS = "subcutaneous"
    INHALED = "inhaled"
    TOPICAL = "topical"
    SUBLINGUAL = "sublingual"
    RECTAL = "rectal"
    TRANSDERMAL = "transdermal"
    NASAL = "nasal"
    OPHTHALMIC = "ophthalmic"
    OTIC = "otic"
    VAGINAL = "vaginal"
    OTHER = "other"


class MedicationStatus(enum.Enum):
    UNSPECIFIED = "unspecified"
    ACTIVE = "active"
    NEW = "new"
    DISCONTINUED = "discontinued"
    HELD = "held"
    ADMINISTERED = "administered"


class VitalKind(enum.Enum):
    SYSTOLIC_BLOOD_PRESSURE = "systolic_blood_pressure"
    DIASTOLIC_BLOOD_PRESSURE = "diastolic_blood_pressure"
    HEART_RATE = "heart_rate"
    RESPIRATORY_RATE = "respiratory_rate"
    BODY_TEMPERATURE = "body_temperature"
    OXYGEN_SATURATION = "oxygen_saturation"
    BODY_WEIGHT = "body_weight"
    BODY_HEIGHT = "body_height"
    BODY_MASS_INDEX = "body_mass_index"
    PAIN_SCORE = "pain_score"


class VitalInterpretation(enum.Enum):
    UNSPECIFIED = "unspecified"
    NORMAL = "normal"
    LOW = "low"
    HIGH = "high"
    CRITICAL_LOW = "critical_low"
    CRITICAL_HIGH = "critical_high"
    IMPLAUSIBLE = "implausible"


class AllergySeverity(enum.Enum):
    UNSPECIFIED = "unspecified"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class AllergyCategory(enum.Enum):
    UNSPECIFIED = "unspecified"
    MEDICATION = "medication"
    FOOD = "food"
    ENVIRONMENT = "environment"


class ValidationFinding(enum.Enum):
    """What the validation stage found about an item it kept (see validation/)."""

    SPAN_REANCHORED = "span_reanchored"
    IMPLAUSIBLE_VALUE = "implausible_value"
    CODE_REMOVED = "code_removed"
    DOSE_REMOVED = "dose_removed"


Findings = tuple[ValidationFinding, ...]


def with_finding(findings: Findings, finding: ValidationFinding) -> Findings:
    """Add a finding once (validating a result twice must not repeat it)."""
    return findings if finding in findings else (*findings, finding)


class EntityType(enum.Enum):
    CONDITION = "condition"
    MEDICATION = "medication"
    VITAL_SIGN = "vital_sign"
    ALLERGY = "allergy"
    PROBLEM_LIST = "problem_list"


ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
DRUGBANK_SYSTEM = "https://go.drugbank.com"
MESH_SYSTEM = "http://id.nlm.nih.gov/mesh"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@dataclass(frozen=True)
class Span:
    """Half-open [start, end) in code points; `text` is note[start:end]."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str = ""


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str = ""


@dataclass(frozen=True)
class Assertion:
    certainty: Certainty = Certainty.POSITIVE
    conditionality: Conditionality = Conditionality.NONE
    association: Association = Association.SUBJECT
    relation: str = ""
    temporality: Temporality = Temporality.CURRENT


@dataclass(frozen=True)
class Condition:
    span: Span
    name: str
    codings: tuple[Coding, ...] = ()
    assertion: Assertion = field(default_factory=Assertion)
    confidence: float = 1.0
    section: NoteSection = NoteSection.UNSPECIFIED
    # Written as over ("resolved", "as a child", "remote"): history only, never an active problem
    # even when the condition is chronic (ANNOTATION.md, chronic versus resolved history).
    resolved: bool = False
    findings: Findings = ()


@dataclass(frozen=True)
class Frequency:
    text: str
    code: str = ""
    times_per_day: float = 0.0
    as_needed: bool = False


@dataclass(frozen=True)
class Medication:
    span: Span
    name: str
    codings: tuple[Coding, ...] = ()
    dose: Quantity | None = None
    strength: Quantity | None = None
    form: str = ""
    route: Route = Route.UNSPECIFIED
    frequency: Frequency | None = None
    duration: str = ""
    status: MedicationStatus = MedicationStatus.UNSPECIFIED
    assertion: Assertion = field(default_factory=Assertion)
    confidence: float = 1.0
    section: NoteSection = NoteSection.UNSPECIFIED
    instruction_span: Span | None = None
    findings: Findings = ()


@dataclass(frozen=True)
class VitalSign:
    kind: VitalKind
    quantity: Quantity
    loinc: Coding
    span: Span
    interpretation: VitalInterpretation = VitalInterpretation.UNSPECIFIED
    context: str = ""
    confidence: float = 1.0
    section: NoteSection = NoteSection.UNSPECIFIED
    findings: Findings = ()


@dataclass(frozen=True)
class Allergy:
    span: Span
    substance: str
    codings: tuple[Coding, ...] = ()
    reaction: str = ""
    severity: AllergySeverity = AllergySeverity.UNSPECIFIED
    category: AllergyCategory = AllergyCategory.UNSPECIFIED
    assertion: Assertion = field(default_factory=Assertion)
    confidence: float = 1.0
    findings: Findings = ()


@dataclass(frozen=True)
class ProblemListEntry:
    name: str
    codings: tuple[Coding, ...] = ()
    evidence: tuple[Span, ...] = ()
    rank: int = 0
    confidence: float = 1.0
    findings: Findings = ()


@dataclass(frozen=True)
class ClinicalData:
    conditions: tuple[Condition, ...] = ()
    medications: tuple[Medication, ...] = ()
    vital_signs: tuple[VitalSign, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    problem_list: tuple[ProblemListEntry, ...] = ()
    no_known_allergies: bool = False
    no_known_allergies_span: Span | None = None

    def counts(self) -> dict[str, int]:
        """Item counts per kind: what the audit trail and metrics record instead of content."""
        return {
            "conditions": len(self.conditions),
            "medications": len(self.medications),
            "vital_signs": len(self.vital_signs),
            "allergies": len(self.allergies),
            "problems": len(self.problem_list),
        }


@dataclass(frozen=True)
class EncodedClinicalData:
    """A ClinicalData already serialized (as healthai.v1.ClinicalData) by the process that computed it.

    The engine's worker processes return this instead of the object graph: unpickling a
    hundred small objects and converting them one by one cost the single-threaded serving
    process more than a millisecond per note each, which capped throughput on its own.
    `decoded` is the object graph, shipped only when a later stage needs it (FHIR).
    """

    wire: bytes
    item_counts: tuple[tuple[str, int], ...]
    decoded: ClinicalData | None = None
    # True when the validation stage's checks already ran where the data was computed.
    validated: bool = False

    def counts(self) -> dict[str, int]:
        return dict(self.item_counts)


def as_domain(data: ClinicalData | EncodedClinicalData) -> ClinicalData:
    """The object graph of a result; fails loudly if a stage needs it but it was not shipped."""
    if isinstance(data, ClinicalData):
        return data
    if data.decoded is None:
        raise ValueError("the result was produced without its object graph")
    return data.decoded


@dataclass(frozen=True)
class ExtractionOptions:
    entity_types: frozenset[EntityType] = frozenset()  # empty: all kinds
    include_fhir: bool = False
    # Refuted findings ("denies chest pain") become Conditions only when asked for.
    fhir_include_refuted: bool = False
    # Ship the object graph from the engine workers (a later stage reads items: FHIR, review).
    keep_objects: bool = False
    # The caller asks for human review of the answer whatever its confidence.
    request_review: bool = False

    def wants(self, kind: EntityType) -> bool:
        return not self.entity_types or kind in self.entity_types


@dataclass(frozen=True)
class NoteContext:
    """Whose note it is and when, as the caller knows it (all optional; used by the FHIR mapping)."""

    patient_reference: str = ""  # Patient/<id> or urn:uuid:<uuid>
    encounter_reference: str = ""  # Encounter/<id> or urn:uuid:<uuid>
    note_date: str = ""  # FHIR date or dateTime, validated by the contract


@dataclass(frozen=True)
class FhirRequest:
    """Everything the FHIR mapping needs besides the extracted data."""

    note_text: str
    document_id: str
    engine_version: str
    recorded_at: datetime
    context: NoteContext = field(default_factory=NoteContext)
    include_refuted: bool = False
