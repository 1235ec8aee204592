"""The one place protobuf messages and domain types meet.

Domain enum member names equal protobuf value names without their prefix, so enums
convert by name; a missing counterpart fails loudly in tests (tests/unit/test_convert.py).
"""

from __future__ import annotations

import enum
import functools
from typing import Any, TypeVar

from healthai.v1 import (
    analysis_service_pb2,
    clinical_pb2,
    common_pb2,
    deidentification_service_pb2,
    extraction_service_pb2,
    review_service_pb2,
)

from healthai_server.domain import analysis, clinical, phi, provenance, review

E = TypeVar("E", bound=enum.Enum)


@functools.cache
def _to_pb_enum(pb_enum: Any, prefix: str, member: enum.Enum | None) -> Any:
    """The generated enum's ValueType for `member` (0, i.e. *_UNSPECIFIED, for None).

    Cached: a note's hundred items make several hundred lookups, all among a few dozen values."""
    return pb_enum.Value(f"{prefix}_UNSPECIFIED" if member is None else f"{prefix}_{member.name}")


def _from_pb_enum(domain_enum: type[E], pb_enum: Any, prefix: str, value: int) -> E:
    name = pb_enum.Name(value).removeprefix(f"{prefix}_")
    return domain_enum[name]


def span_to_pb(span: clinical.Span | None) -> common_pb2.TextSpan | None:
    if span is None:
        return None
    return common_pb2.TextSpan(start=span.start, end=span.end, text=span.text)


def _codings(codings: tuple[clinical.Coding, ...]) -> list[common_pb2.Coding]:
    return [common_pb2.Coding(system=c.system, code=c.code, display=c.display) for c in codings]


def _quantity(quantity: clinical.Quantity | None) -> common_pb2.Quantity | None:
    return None if quantity is None else common_pb2.Quantity(value=quantity.value, unit=quantity.unit)


def assertion_to_pb(assertion: clinical.Assertion) -> clinical_pb2.Assertion:
    # A copy: the cached message must never be mutated by a caller.
    message = clinical_pb2.Assertion()
    message.CopyFrom(_assertion_to_pb(assertion))
    return message


@functools.lru_cache(maxsize=256)
def _assertion_to_pb(assertion: clinical.Assertion) -> clinical_pb2.Assertion:
    """Assertions repeat (most are plain positive, current, about the patient): build each once.
    Only ever passed to message constructors, which copy it."""
    return clinical_pb2.Assertion(
        certainty=_to_pb_enum(clinical_pb2.Certainty, "CERTAINTY", assertion.certainty),
        conditionality=_to_pb_enum(clinical_pb2.Conditionality, "CONDITIONALITY", assertion.conditionality),
        association=_to_pb_enum(clinical_pb2.Association, "ASSOCIATION", assertion.association),
        relation=assertion.relation,
        temporality=_to_pb_enum(clinical_pb2.Temporality, "TEMPORALITY", assertion.temporality),
    )


def _section(section: clinical.NoteSection) -> Any:
    return _to_pb_enum(clinical_pb2.NoteSection, "NOTE_SECTION", section)


def _findings(findings: clinical.Findings) -> list[clinical_pb2.ValidationFinding]:
    kind = clinical_pb2.ValidationFindingKind
    return [clinical_pb2.ValidationFinding(kind=_to_pb_enum(kind, "VALIDATION_FINDING_KIND", f)) for f in findings]


def condition_to_pb(item: clinical.Condition) -> clinical_pb2.Condition:
    return clinical_pb2.Condition(
        span=span_to_pb(item.span),
        name=item.name,
        codings=_codings(item.codings),
        assertion=_assertion_to_pb(item.assertion),
        confidence=item.confidence,
        section=_section(item.section),
        validation_findings=_findings(item.findings),
    )


def medication_to_pb(item: clinical.Medication) -> clinical_pb2.Medication:
    frequency = None
    if item.frequency is not None:
        f = item.frequency
        frequency = clinical_pb2.Frequency(
            text=f.text, code=f.code, times_per_day=f.times_per_day, as_needed=f.as_needed
        )
    return clinical_pb2.Medication(
        span=span_to_pb(item.span),
        name=item.name,
        codings=_codings(item.codings),
        dose=_quantity(item.dose),
        strength=_quantity(item.strength),
        form=item.form,
        route=_to_pb_enum(clinical_pb2.Route, "ROUTE", item.route),
        frequency=frequency,
        duration=item.duration,
        status=_to_pb_enum(clinical_pb2.MedicationStatus, "MEDICATION_STATUS", item.status),
        assertion=_assertion_to_pb(item.assertion),
        confidence=item.confidence,
        section=_section(item.section),
        instruction_span=span_to_pb(item.instruction_span),
        validation_findings=_findings(item.findings),
    )


def vital_to_pb(item: clinical.VitalSign) -> clinical_pb2.VitalSign:
    return clinical_pb2.VitalSign(
        kind=_to_pb_enum(clinical_pb2.VitalKind, "VITAL_KIND", item.kind),
        quantity=_quantity(item.quantity),
        loinc=common_pb2.Coding(system=item.loinc.system, code=item.loinc.code, display=item.loinc.display),
        span=span_to_pb(item.span),
        interpretation=_to_pb_enum(clinical_pb2.VitalInterpretation, "VITAL_INTERPRETATION", item.interpretation),
        context=item.context,
        confidence=item.confidence,
        section=_section(item.section),
        validation_findings=_findings(item.findings),
    )


def allergy_to_pb(item: clinical.Allergy) -> clinical_pb2.Allergy:
    return clinical_pb2.Allergy(
        span=span_to_pb(item.span),
        substance=item.substance,
        codings=_codings(item.codings),
        reaction=item.reaction,
        severity=_to_pb_enum(clinical_pb2.AllergySeverity, "ALLERGY_SEVERITY", item.severity),
        category=_to_pb_enum(clinical_pb2.AllergyCategory, "ALLERGY_CATEGORY", item.category),
        assertion=_assertion_to_pb(item.assertion),
        confidence=item.confidence,
        validation_findings=_findings(item.findings),
    )


def problem_to_pb(item: clinical.ProblemListEntry) -> clinical_pb2.ProblemListEntry:
    return clinical_pb2.ProblemListEntry(
        name=item.name,
        codings=_codings(item.codings),
        evidence=[common_pb2.TextSpan(start=s.start, end=s.end, text=s.text) for s in item.evidence],
        rank=item.rank,
        confidence=item.confidence,
        validation_findings=_findings(item.findings),
    )


def clinical_data_to_pb(data: clinical.ClinicalData | clinical.EncodedClinicalData) -> clinical_pb2.ClinicalData:
    if isinstance(data, clinical.EncodedClinicalData):
        return clinical_pb2.ClinicalData.FromString(data.wire)
    return clinical_pb2.ClinicalData(
        conditions=[condition_to_pb(c) for c in data.conditions],
        medications=[medication_to_pb(m) for m in data.medications],
        vital_signs=[vital_to_pb(v) for v in data.vital_signs],
        allergies=[allergy_to_pb(a) for a in data.allergies],
        problem_list=[problem_to_pb(p) for p in data.problem_list],
        no_known_allergies=data.no_known_allergies,
        no_known_allergies_span=span_to_pb(data.no_known_allergies_span),
    )


def encode_clinical_data(
    data: clinical.ClinicalData, *, keep_objects: bool = False, validated: bool = False
) -> clinical.EncodedClinicalData:
    """Serialize where the data was computed (an engine worker); see EncodedClinicalData."""
    return clinical.EncodedClinicalData(
        wire=clinical_data_to_pb(data).SerializeToString(),
        item_counts=tuple(data.counts().items()),
        decoded=data if keep_objects else None,
        validated=validated,
    )


def provenance_to_pb(item: provenance.Provenance) -> common_pb2.Provenance:
    message = common_pb2.Provenance(
        backend=item.backend,
        model=item.model,
        degraded=item.degraded,
        degraded_reason=_to_pb_enum(common_pb2.DegradedReason, "DEGRADED_REASON", item.degraded_reason),
        cache_hit=item.cache_hit,
        cost_micros=item.cost_micros,
        experiment_arm=item.experiment_arm,
    )
    message.latency.FromNanoseconds(int(item.latency_s * 1e9))
    if item.prompt is not None:
        message.prompt_id, message.prompt_version, message.prompt_hash = (
            item.prompt.id,
            item.prompt.version,
            item.prompt.hash,
        )
    if item.token_usage is not None:
        u = item.token_usage
        message.token_usage.CopyFrom(
            common_pb2.TokenUsage(
                input_tokens=u.input_tokens,
                output_tokens=u.output_tokens,
                cache_read_input_tokens=u.cache_read_input_tokens,
                cache_creation_input_tokens=u.cache_creation_input_tokens,
            )
        )
    return message


def options_from_pb(options: extraction_service_pb2.ExtractionOptions) -> clinical.ExtractionOptions:
    kinds = frozenset(
        _from_pb_enum(clinical.EntityType, clinical_pb2.EntityType, "ENTITY_TYPE", value)
        for value in options.entity_types
    )
    return clinical.ExtractionOptions(
        entity_types=kinds,
        include_fhir=options.include_fhir,
        fhir_include_refuted=options.fhir_include_refuted,
        request_review=options.request_review,
    )


def note_context_from_pb(context: extraction_service_pb2.NoteContext) -> clinical.NoteContext:
    return clinical.NoteContext(
        patient_reference=context.patient_reference,
        encounter_reference=context.encounter_reference,
        note_date=context.note_date,
    )


def alert_to_pb(alert: analysis.ClinicalAlert) -> analysis_service_pb2.ClinicalAlert:
    return analysis_service_pb2.ClinicalAlert(
        kind=_to_pb_enum(analysis_service_pb2.AlertKind, "ALERT_KIND", alert.kind),
        severity=_to_pb_enum(analysis_service_pb2.AlertSeverity, "ALERT_SEVERITY", alert.severity),
        message=alert.message,
        evidence=[common_pb2.TextSpan(start=s.start, end=s.end, text=s.text) for s in alert.evidence],
    )


def mode_from_pb(value: int) -> phi.DeidentificationMode:
    return _from_pb_enum(
        phi.DeidentificationMode, deidentification_service_pb2.DeidentificationMode, "DEIDENTIFICATION_MODE", value
    )


def policy_from_pb(value: int) -> phi.DeidentificationPolicy:
    """Unset is PRECISION: what callers got before there were policies."""
    if value == deidentification_service_pb2.DEIDENTIFICATION_POLICY_UNSPECIFIED:
        return phi.DeidentificationPolicy.PRECISION
    return _from_pb_enum(
        phi.DeidentificationPolicy,
        deidentification_service_pb2.DeidentificationPolicy,
        "DEIDENTIFICATION_POLICY",
        value,
    )


def policy_to_pb(policy: phi.DeidentificationPolicy) -> Any:
    return _to_pb_enum(deidentification_service_pb2.DeidentificationPolicy, "DEIDENTIFICATION_POLICY", policy)


def phi_finding_to_pb(finding: phi.PhiFinding) -> deidentification_service_pb2.PhiFinding:
    return deidentification_service_pb2.PhiFinding(
        type=_to_pb_enum(deidentification_service_pb2.PhiType, "PHI_TYPE", finding.type),
        span=span_to_pb(finding.span),
        confidence=finding.confidence,
        replacement=finding.replacement,
    )


# -- review ----------------------------------------------------------------------------------------

_REVIEWED_FIELD = {
    clinical.EntityType.CONDITION: "condition",
    clinical.EntityType.MEDICATION: "medication",
    clinical.EntityType.VITAL_SIGN: "vital_sign",
    clinical.EntityType.ALLERGY: "allergy",
}


def entity_type_from_pb(value: int) -> clinical.EntityType | None:
    if value == clinical_pb2.ENTITY_TYPE_UNSPECIFIED:
        return None
    return _from_pb_enum(clinical.EntityType, clinical_pb2.EntityType, "ENTITY_TYPE", value)


def review_reason_from_pb(value: int) -> review.ReviewReason | None:
    if value == review_service_pb2.REVIEW_REASON_UNSPECIFIED:
        return None
    return _from_pb_enum(review.ReviewReason, review_service_pb2.ReviewReason, "REVIEW_REASON", value)


def review_state_from_pb(value: int) -> review.ReviewTaskState | None:
    if value == review_service_pb2.REVIEW_TASK_STATE_UNSPECIFIED:
        return None
    return _from_pb_enum(review.ReviewTaskState, review_service_pb2.ReviewTaskState, "REVIEW_TASK_STATE", value)


def review_task_to_pb(task: review.ReviewTask) -> review_service_pb2.ReviewTask:
    message = review_service_pb2.ReviewTask(
        name=task.name,
        tenant=task.tenant,
        note_id=task.note_id,
        source_audit_id=task.source_audit_id,
        reasons=[_to_pb_enum(review_service_pb2.ReviewReason, "REVIEW_REASON", r) for r in task.reasons],
        items=[
            review_service_pb2.ReviewItemRef(
                item_type=_to_pb_enum(clinical_pb2.EntityType, "ENTITY_TYPE", i.item_type),
                index=i.index,
                reasons=[_to_pb_enum(review_service_pb2.ReviewReason, "REVIEW_REASON", r) for r in i.reasons],
                confidence=i.confidence,
            )
            for i in task.items
        ],
        state=_to_pb_enum(review_service_pb2.ReviewTaskState, "REVIEW_TASK_STATE", task.state),
        etag=task.etag,
        claimed_by=task.claimed_by,
        backend=task.backend,
        model=task.model,
        prompt_version=task.prompt_version,
    )
    message.create_time.FromDatetime(task.created_at)
    if task.lease_expires_at is not None:
        message.lease_expire_time.FromDatetime(task.lease_expires_at)
    if task.completed_at is not None:
        message.complete_time.FromDatetime(task.completed_at)
    return message


def item_decision_from_pb(message: review_service_pb2.ItemDecision) -> review.ItemDecision:
    item_type = entity_type_from_pb(message.item_type) or clinical.EntityType.PROBLEM_LIST
    kind = _from_pb_enum(
        review.ReviewDecisionKind, review_service_pb2.ReviewDecisionKind, "REVIEW_DECISION_KIND", message.kind
    )
    span: clinical.Span | None = None
    wire = b""
    expected = _REVIEWED_FIELD.get(item_type)
    if message.HasField("item") and expected is not None and message.item.WhichOneof("item") == expected:
        inner = getattr(message.item, str(expected))
        if inner.HasField("span"):
            span = clinical.Span(inner.span.start, inner.span.end, inner.span.text)
        wire = message.item.SerializeToString()
    return review.ItemDecision(
        kind=kind,
        item_type=item_type,
        index=message.index,
        item_wire=wire,
        span=span,
        changed_fields=tuple(message.update_mask.paths),
    )


def reviewed_item_from_wire(wire: bytes) -> review_service_pb2.ReviewedItem:
    return review_service_pb2.ReviewedItem.FromString(wire)


def clinical_data_from_wire(wire: bytes) -> clinical_pb2.ClinicalData:
    return clinical_pb2.ClinicalData.FromString(wire)


def clinical_data_wire(data: clinical.ClinicalData) -> bytes:
    return clinical_data_to_pb(data).SerializeToString()
