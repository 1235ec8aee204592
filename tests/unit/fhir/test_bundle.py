from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from healthai_server.fhir import FhirValueSetError
from healthai_server.fhir.bundle import EFFECTIVE_SOURCE_EXTENSION, SPAN_EXTENSION, _check

from tests.unit.fhir.conftest import Bundler, resources

NOTE = (
    "HPI: denies chest pain. Has pneumonia. Mother with breast cancer.\n"
    "MEDICATIONS: metoprolol 25 mg PO BID, albuterol 2 puffs q4h prn.\n"
    "ALLERGIES: penicillin (anaphylaxis)\n"
    "VITALS: BP 142/91, HR 88, T 38.2 C, SpO2 93% on RA, pain 4/10\n"
)
FOLLOW_UP = """PMH: hypertension, type 2 diabetes.
MEDICATIONS: lisinopril 20 mg PO daily, metformin 500 mg BID.
HPI: Hypertension poorly controlled. Denies chest pain.
ASSESSMENT AND PLAN:
1. Hypertension - increase lisinopril to 40 mg daily.
2. Diabetes - continue metformin.
"""


def _profiles(resource: dict[str, object]) -> list[str]:
    meta = resource.get("meta", {})
    assert isinstance(meta, dict)
    return [str(p).rsplit("/", 1)[-1] for p in meta.get("profile", [])]


def test_bundle_validates_and_has_resources(bundle_of: Bundler) -> None:
    bundle = bundle_of(NOTE)
    Bundle.model_validate(bundle)  # round-trips through the R4B model
    assert bundle["type"] == "collection"
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    for expected in (
        "Condition",
        "MedicationStatement",
        "Observation",
        "AllergyIntolerance",
        "FamilyMemberHistory",
        "Provenance",
    ):
        assert expected in types
    assert types[-1] == "Provenance"


def test_refuted_findings_are_left_out_unless_asked_for(bundle_of: Bundler) -> None:
    by_text = {c["code"]["text"]: c for c in resources(bundle_of(NOTE), "Condition")}
    assert "chest pain" not in by_text
    assert by_text["pneumonia"]["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert by_text["pneumonia"]["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
    assert "breast cancer" not in by_text  # the mother's, not the patient's
    asked = {c["code"]["text"]: c for c in resources(bundle_of(NOTE, include_refuted=True), "Condition")}
    assert asked["chest pain"]["verificationStatus"]["coding"][0]["code"] == "refuted"
    assert "clinicalStatus" not in asked["chest pain"]


def test_family_history_becomes_family_member_history(bundle_of: Bundler) -> None:
    (history,) = resources(bundle_of(NOTE, patient_reference="Patient/7"), "FamilyMemberHistory")
    assert history["status"] == "completed"
    assert history["patient"] == {"reference": "Patient/7"}
    assert history["relationship"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
        "code": "MTH",
        "display": "mother",
    }
    assert history["condition"][0]["code"]["text"] == "breast cancer"


def test_one_condition_per_concept_with_every_mention_as_evidence(bundle_of: Bundler) -> None:
    conditions = resources(bundle_of(FOLLOW_UP), "Condition")
    hypertension = [c for c in conditions if c["code"]["coding"][0]["code"] == "I10"]
    assert len(hypertension) == 1
    evidence = hypertension[0]["evidence"]
    assert [e["code"][0]["text"].lower() for e in evidence] == ["hypertension"] * 3
    starts = [e["extension"][0]["extension"][0]["valueInteger"] for e in evidence]
    assert starts == sorted(starts) and len(set(starts)) == 3
    assert all(FOLLOW_UP[s : s + 12].lower() == "hypertension" for s in starts)


def test_category_by_section(bundle_of: Bundler) -> None:
    by_code = {c["code"]["coding"][0]["code"]: c for c in resources(bundle_of(FOLLOW_UP), "Condition")}
    categories = [cat["coding"][0]["code"] for cat in by_code["I10"]["category"]]
    assert categories == ["problem-list-item", "encounter-diagnosis"]  # PMH and the plan
    only_now = {c["code"]["text"]: c for c in resources(bundle_of(NOTE), "Condition")}
    assert [cat["coding"][0]["code"] for cat in only_now["pneumonia"]["category"]] == ["encounter-diagnosis"]
    history = {c["code"]["text"]: c for c in resources(bundle_of("PMH: gout.\n"), "Condition")}
    assert [cat["coding"][0]["code"] for cat in history["gout"]["category"]] == ["problem-list-item"]


def test_a_changed_dose_stops_the_old_regimen(bundle_of: Bundler) -> None:
    statements = resources(bundle_of(FOLLOW_UP), "MedicationStatement")
    lisinopril = [s for s in statements if s["medicationCodeableConcept"]["text"] == "lisinopril"]
    by_dose = {s["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"]: s for s in lisinopril}
    assert by_dose[20.0]["status"] == "stopped"
    assert "lisinopril to 40 mg" in by_dose[20.0]["statusReason"][0]["text"]
    assert by_dose[40.0]["status"] == "active"
    # "continue metformin" repeats the regimen: one statement, both mentions as spans.
    (metformin,) = [s for s in statements if s["medicationCodeableConcept"]["text"] == "metformin"]
    assert metformin["status"] == "active"
    assert len([x for x in metformin["extension"] if x["url"] == SPAN_EXTENSION]) == 2


def test_vital_signs_conform_to_core_profiles(bundle_of: Bundler) -> None:
    observations = resources(bundle_of(NOTE), "Observation")
    panel = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in panel["component"]] == ["8480-6", "8462-4"]
    assert panel["component"][0]["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert _profiles(panel) == ["vitalsigns", "bp"]
    spo2 = next(o for o in observations if "oxygensat" in _profiles(o))
    assert [c["code"] for c in spo2["code"]["coding"]] == ["2708-6", "59408-5"]
    assert {p for o in observations for p in _profiles(o)} >= {"heartrate", "bodytemp", "oxygensat"}
    pain = next(o for o in observations if o["code"]["coding"][0]["code"] == "72514-3")
    assert "meta" not in pain  # no core profile for a pain score
    assert pain["category"][0]["coding"][0]["code"] == "survey"
    vitals = [o for o in observations if o is not pain]
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in vitals)


@pytest.mark.parametrize(
    ("note", "context", "effective", "source"),
    [
        (NOTE, {"note_date": "2026-11-02"}, "2026-11-02", "request"),
        (
            "Date of service: 03/14/2024\n" + NOTE,
            {"note_date": "2026-11-02T08:00:00Z"},
            "2026-11-02T08:00:00Z",
            "request",
        ),
        ("Date of service: 03/14/2024\n" + NOTE, {}, "2024-03-14", "note"),
        (NOTE, {}, "2026-12-01T12:00:05Z", "request-time"),
    ],
)
def test_effective_time_and_where_it_came_from(
    bundle_of: Bundler, note: str, context: dict[str, str], effective: str, source: str
) -> None:
    for observation in resources(bundle_of(note, **context), "Observation"):
        assert observation["effectiveDateTime"] == effective
        marks = [x["valueCode"] for x in observation["extension"] if x["url"] == EFFECTIVE_SOURCE_EXTENSION]
        assert marks == [source]


def test_patient_and_encounter_references(bundle_of: Bundler) -> None:
    bundle = bundle_of(NOTE, patient_reference="Patient/123", encounter_reference="Encounter/9")
    for kind in ("Condition", "MedicationStatement", "Observation"):
        for resource in resources(bundle, kind):
            assert resource["subject"] == {"reference": "Patient/123"}
    assert all(o["encounter"] == {"reference": "Encounter/9"} for o in resources(bundle, "Observation"))
    assert all(c["encounter"] == {"reference": "Encounter/9"} for c in resources(bundle, "Condition"))
    assert all(m["context"] == {"reference": "Encounter/9"} for m in resources(bundle, "MedicationStatement"))
    assert all(a["patient"] == {"reference": "Patient/123"} for a in resources(bundle, "AllergyIntolerance"))
    without = bundle_of(NOTE)
    assert resources(without, "Condition")[0]["subject"] == {"display": "Patient described in the source note"}


def test_medication_dosage(bundle_of: Bundler) -> None:
    statements = resources(bundle_of(NOTE), "MedicationStatement")
    metoprolol = next(s for s in statements if s["medicationCodeableConcept"]["text"] == "metoprolol")
    dosage = metoprolol["dosage"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["code"] == "mg"
    assert dosage["timing"]["repeat"]["frequency"] == 2
    assert dosage["route"]["coding"][0]["code"] == "26643006"


def test_value_set_check() -> None:
    with pytest.raises(FhirValueSetError):
        _check("bogus", "condition-ver-status")


@pytest.mark.parametrize("note_id", ["", "   "])
def test_empty_note_id_omits_provenance_identifier(bundle_of: Bundler, note_id: str) -> None:
    bundle = bundle_of(NOTE, note_id=note_id)
    Bundle.model_validate(bundle)
    (provenance,) = resources(bundle, "Provenance")
    assert "entity" not in provenance
    assert provenance["recorded"] == "2026-12-01T12:00:05Z"


def test_note_id_is_provenance_identifier(bundle_of: Bundler) -> None:
    (provenance,) = resources(bundle_of(NOTE), "Provenance")
    assert provenance["entity"][0]["what"]["identifier"]["value"] == "note-1"
