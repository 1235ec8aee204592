import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from healthai_server.engine import ENGINE_VERSION, ClinicalEngine
from healthai_server.fhir import FhirValueSetError, build_bundle
from healthai_server.fhir.bundle import _check

NOTE = (
    "HPI: denies chest pain. Has pneumonia. Mother with breast cancer.\n"
    "MEDICATIONS: metoprolol 25 mg PO BID, albuterol 2 puffs q4h prn.\n"
    "ALLERGIES: penicillin (anaphylaxis)\n"
    "VITALS: BP 142/91, HR 88, T 38.2 C, SpO2 93% on RA\n"
)


def _bundle(engine: ClinicalEngine) -> dict[str, Any]:
    return json.loads(  # type: ignore[no-any-return]
        build_bundle(engine.extract(NOTE), note_id="note-1", engine_version=ENGINE_VERSION)
    )


def test_bundle_validates_and_has_resources(engine: ClinicalEngine) -> None:
    raw = build_bundle(engine.extract(NOTE), note_id="note-1", engine_version=ENGINE_VERSION)
    Bundle.model_validate_json(raw)  # round-trips through the R4B model
    bundle = json.loads(raw)
    assert bundle["type"] == "collection"
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    for expected in ("Condition", "MedicationStatement", "Observation", "AllergyIntolerance", "Provenance"):
        assert expected in types
    assert types[-1] == "Provenance"


def test_refuted_condition_and_family_excluded(engine: ClinicalEngine) -> None:
    conditions = [e["resource"] for e in _bundle(engine)["entry"] if e["resource"]["resourceType"] == "Condition"]
    by_text = {c["code"]["text"]: c for c in conditions}
    refuted = by_text["chest pain"]
    assert refuted["verificationStatus"]["coding"][0]["code"] == "refuted"
    assert "clinicalStatus" not in refuted
    assert by_text["pneumonia"]["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert by_text["pneumonia"]["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
    assert "breast cancer" not in by_text


def test_bp_panel_and_ucum(engine: ClinicalEngine) -> None:
    observations = [e["resource"] for e in _bundle(engine)["entry"] if e["resource"]["resourceType"] == "Observation"]
    panel = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in panel["component"]] == ["8480-6", "8462-4"]
    assert panel["component"][0]["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in observations)


def test_medication_dosage(engine: ClinicalEngine) -> None:
    statements = [
        e["resource"] for e in _bundle(engine)["entry"] if e["resource"]["resourceType"] == "MedicationStatement"
    ]
    metoprolol = next(s for s in statements if s["medicationCodeableConcept"]["text"] == "metoprolol")
    dosage = metoprolol["dosage"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["code"] == "mg"
    assert (
        dosage["timing"]["repeat"] == {"frequency": 2, "period": 1.0, "periodUnit": "d"}
        or dosage["timing"]["repeat"]["frequency"] == 2
    )
    assert dosage["route"]["coding"][0]["code"] == "26643006"


def test_value_set_check() -> None:
    with pytest.raises(FhirValueSetError):
        _check("bogus", "condition-ver-status")


@pytest.mark.parametrize("note_id", ["", "   "])
def test_empty_note_id_omits_provenance_identifier(engine: ClinicalEngine, note_id: str) -> None:
    raw = build_bundle(engine.extract(NOTE), note_id=note_id, engine_version=ENGINE_VERSION)
    Bundle.model_validate_json(raw)
    provenance = [e["resource"] for e in json.loads(raw)["entry"] if e["resource"]["resourceType"] == "Provenance"]
    assert len(provenance) == 1
    assert "entity" not in provenance[0]


def test_note_id_is_provenance_identifier(engine: ClinicalEngine) -> None:
    provenance = [e["resource"] for e in _bundle(engine)["entry"] if e["resource"]["resourceType"] == "Provenance"]
    assert provenance[0]["entity"][0]["what"]["identifier"]["value"] == "note-1"
