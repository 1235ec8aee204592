"""FHIR through the CLI against a real server: the caller's patient, encounter and date reach
the bundle, the bundle passes the R4 checks, and a bad reference is a field violation."""

from __future__ import annotations

import json

import pytest

from tests.contract import fhir_r4
from tests.e2e.server import ServerProcess

NOTE = """PMH: hypertension, type 2 diabetes.
MEDICATIONS: lisinopril 20 mg PO daily, metformin 500 mg BID.
FAMILY HISTORY: Father had MI at 60.
HPI: Hypertension poorly controlled. Denies chest pain.
VITALS: BP 150/95, HR 80, SpO2 97% on RA, T 37.0 C
ASSESSMENT AND PLAN:
1. Hypertension - increase lisinopril to 40 mg daily.
"""


def _resources(bundle: dict[str, object], kind: str) -> list[dict[str, object]]:
    entries = bundle["entry"]
    assert isinstance(entries, list)
    return [e["resource"] for e in entries if e["resource"]["resourceType"] == kind]


def test_cli_fhir_with_patient_encounter_and_date(server: ServerProcess) -> None:
    result = server.healthai(
        "extract", "-", "--format", "fhir",
        "--patient", "Patient/p-42", "--encounter", "Encounter/e-7", "--date", "2026-11-30",
        stdin=NOTE,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    bundle = json.loads(result.stdout)
    observations = _resources(bundle, "Observation")
    assert observations
    for observation in observations:
        assert observation["subject"] == {"reference": "Patient/p-42"}
        assert observation["encounter"] == {"reference": "Encounter/e-7"}
        assert observation["effectiveDateTime"] == "2026-11-30"
    statuses = sorted(str(s["status"]) for s in _resources(bundle, "MedicationStatement"))
    assert statuses == ["active", "active", "stopped"]
    assert [c["code"]["text"] for c in _resources(bundle, "Condition")].count("hypertension") == 1  # type: ignore[index]
    assert len(_resources(bundle, "FamilyMemberHistory")) == 1
    if fhir_r4.R4_DIR.is_dir():
        report = fhir_r4.validate_bundle(bundle)
        fhir_r4.release()
        assert (report.schema, report.invariants, report.profiles) == ([], [], [])


def test_cli_refuted_only_when_asked(server: ServerProcess) -> None:
    plain = json.loads(server.healthai("extract", "-", "--format", "fhir", stdin=NOTE).stdout)
    asked = json.loads(server.healthai("extract", "-", "--format", "fhir", "--include-refuted", stdin=NOTE).stdout)
    texts = [c["code"]["text"] for c in _resources(plain, "Condition")]  # type: ignore[index]
    asked_texts = [c["code"]["text"] for c in _resources(asked, "Condition")]  # type: ignore[index]
    assert "chest pain" not in texts
    assert "chest pain" in asked_texts


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--patient", "Practitioner/1", "context.patient_reference"),
        ("--encounter", "Encounter/has space", "context.encounter_reference"),
        ("--date", "30/11/2026", "context.note_date"),
        ("--date", "2026-11-30T09:00:00", "context.note_date"),  # a dateTime needs its zone
    ],
)
def test_cli_bad_context_is_a_field_violation(server: ServerProcess, flag: str, value: str, field: str) -> None:
    result = server.healthai("extract", "-", "--format", "fhir", flag, value, stdin=NOTE)
    assert result.returncode == 1
    assert "INVALID_ARGUMENT" in result.stderr
    assert f"field {field}:" in result.stderr
