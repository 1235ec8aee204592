"""Every domain enum member has a protobuf counterpart and back (conversion is by name)."""

from __future__ import annotations

import enum

import pytest
from healthai.v1 import analysis_service_pb2, clinical_pb2, common_pb2, deidentification_service_pb2
from healthai_server.domain import analysis, clinical, phi, provenance

PAIRS = [
    (clinical.Certainty, clinical_pb2.Certainty, "CERTAINTY"),
    (clinical.Conditionality, clinical_pb2.Conditionality, "CONDITIONALITY"),
    (clinical.Association, clinical_pb2.Association, "ASSOCIATION"),
    (clinical.Temporality, clinical_pb2.Temporality, "TEMPORALITY"),
    (clinical.NoteSection, clinical_pb2.NoteSection, "NOTE_SECTION"),
    (clinical.Route, clinical_pb2.Route, "ROUTE"),
    (clinical.MedicationStatus, clinical_pb2.MedicationStatus, "MEDICATION_STATUS"),
    (clinical.VitalKind, clinical_pb2.VitalKind, "VITAL_KIND"),
    (clinical.VitalInterpretation, clinical_pb2.VitalInterpretation, "VITAL_INTERPRETATION"),
    (clinical.AllergySeverity, clinical_pb2.AllergySeverity, "ALLERGY_SEVERITY"),
    (clinical.AllergyCategory, clinical_pb2.AllergyCategory, "ALLERGY_CATEGORY"),
    (clinical.EntityType, clinical_pb2.EntityType, "ENTITY_TYPE"),
    (analysis.AlertKind, analysis_service_pb2.AlertKind, "ALERT_KIND"),
    (analysis.AlertSeverity, analysis_service_pb2.AlertSeverity, "ALERT_SEVERITY"),
    (phi.PhiType, deidentification_service_pb2.PhiType, "PHI_TYPE"),
    (phi.DeidentificationMode, deidentification_service_pb2.DeidentificationMode, "DEIDENTIFICATION_MODE"),
    (phi.DeidentificationPolicy, deidentification_service_pb2.DeidentificationPolicy, "DEIDENTIFICATION_POLICY"),
    (provenance.DegradedReason, common_pb2.DegradedReason, "DEGRADED_REASON"),
]


@pytest.mark.parametrize(("domain_enum", "pb_enum", "prefix"), PAIRS)
def test_enums_correspond_by_name(domain_enum: type[enum.Enum], pb_enum: object, prefix: str) -> None:
    pb_names = {name.removeprefix(f"{prefix}_") for name in pb_enum.DESCRIPTOR.values_by_name}  # type: ignore[attr-defined]
    domain_names = {member.name for member in domain_enum}
    assert domain_names <= pb_names
    assert pb_names - domain_names <= {"UNSPECIFIED"}


def test_an_unset_policy_is_precision_as_before_policies_existed() -> None:
    from healthai_server.services import convert

    pb = deidentification_service_pb2
    assert convert.policy_from_pb(pb.DEIDENTIFICATION_POLICY_UNSPECIFIED) is phi.DeidentificationPolicy.PRECISION
    assert convert.policy_from_pb(pb.DEIDENTIFICATION_POLICY_RECALL_FIRST) is phi.DeidentificationPolicy.RECALL_FIRST
    assert convert.policy_to_pb(phi.DeidentificationPolicy.RECALL_FIRST) == pb.DEIDENTIFICATION_POLICY_RECALL_FIRST


def test_note_context_and_refuted_option_from_pb() -> None:
    from healthai.v1 import extraction_service_pb2
    from healthai_server.domain.clinical import NoteContext
    from healthai_server.services import convert

    request = extraction_service_pb2.ExtractClinicalDataRequest(
        text="x",
        options=extraction_service_pb2.ExtractionOptions(include_fhir=True, fhir_include_refuted=True),
        context=extraction_service_pb2.NoteContext(
            patient_reference="Patient/1", encounter_reference="Encounter/2", note_date="2026-11-30"
        ),
    )
    assert convert.options_from_pb(request.options).fhir_include_refuted
    assert convert.note_context_from_pb(request.context) == NoteContext("Patient/1", "Encounter/2", "2026-11-30")
    assert convert.note_context_from_pb(extraction_service_pb2.NoteContext()) == NoteContext()
