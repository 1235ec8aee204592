"""Every golden-set bundle against the official R4 JSON schema, the core invariants and the
vital-signs profiles it claims (the validator and where its definitions come from:
tests/contract/fhir_r4.py). Also our extensions' StructureDefinitions, and the validator
itself: it must catch what an EHR would reject."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from healthai_server.domain.clinical import FhirRequest, NoteContext
from healthai_server.engine import ENGINE_VERSION, ClinicalEngine
from healthai_server.fhir import build_bundle
from healthai_server.fhir.bundle import EFFECTIVE_SOURCE_EXTENSION, SPAN_EXTENSION

from tests.contract import fhir_r4

ROOT = Path(__file__).resolve().parents[2]
NOTES = sorted((ROOT / "data" / "golden" / "clinical" / "notes").glob("*.txt"))
RECORDED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _definitions_installed() -> Iterator[None]:
    if not fhir_r4.R4_DIR.is_dir() or not fhir_r4.SCHEMA_FILE.is_file():
        pytest.fail("FHIR definitions missing: run `make lint` (npm ci installs them into node_modules)")
    yield
    _golden_bundles.cache_clear()
    fhir_r4.release()


def _request(index: int, note: str) -> FhirRequest:
    # Half the notes with the caller's context, half without: both ways must conform.
    context = (
        NoteContext(
            patient_reference=f"Patient/golden-{index}",
            encounter_reference=f"Encounter/golden-{index}",
            note_date="2026-11-30" if index % 4 == 1 else "2026-11-30T09:15:00-05:00",
        )
        if index % 2
        else NoteContext()
    )
    return FhirRequest(
        note_text=note,
        document_id=f"golden-{index}",
        engine_version=ENGINE_VERSION,
        recorded_at=RECORDED_AT,
        context=context,
    )


@cache
def _golden_bundles() -> tuple[tuple[str, dict[str, Any]], ...]:
    engine = ClinicalEngine()
    bundles = []
    for index, path in enumerate(NOTES):
        note = path.read_text(encoding="utf-8")
        bundles.append((path.name, json.loads(build_bundle(engine.extract(note), _request(index, note)))))
    return tuple(bundles)


def test_every_golden_bundle_passes_schema_invariants_and_profiles() -> None:
    bundles = _golden_bundles()
    assert len(bundles) == len(NOTES) >= 90
    failed: dict[str, list[str]] = {"schema": [], "invariants": [], "profiles": []}
    unevaluated: set[str] = set()
    profiles: set[str] = set()
    vital_observations = 0
    for name, bundle in bundles:
        report = fhir_r4.validate_bundle(bundle)
        for kind, names in failed.items():
            problems = getattr(report, kind)
            if problems:
                names.append(f"{name}: {problems[:3]}")
        unevaluated |= report.unevaluated
        profiles |= report.profiles_checked
        vital_observations += sum(
            1
            for e in bundle["entry"]
            if "http://hl7.org/fhir/StructureDefinition/vitalsigns" in e["resource"].get("meta", {}).get("profile", [])
        )
    total = len(bundles)
    for kind, names in failed.items():
        print(f"{kind}: {100 * (total - len(names)) / total:.1f}% of {total} golden bundles pass")
    print(f"vital-sign Observations checked against their profiles: {vital_observations}; profiles: {len(profiles)}")
    assert failed == {"schema": [], "invariants": [], "profiles": []}
    # A constraint fhirpathpy cannot evaluate is not a pass: none may be left.
    assert unevaluated == set()
    assert {f"http://hl7.org/fhir/StructureDefinition/{p}" for p in ("vitalsigns", "bp", "heartrate")} <= profiles
    assert vital_observations > 100


def test_fast_schema_check_agrees_with_the_official_schema_as_is() -> None:
    bundles = [bundle for _, bundle in _golden_bundles()[:4]]
    broken = copy.deepcopy(bundles[0])
    broken["entry"][0]["resource"]["unknownField"] = 1
    broken2 = copy.deepcopy(bundles[1])
    broken2["entry"][-1]["resource"]["recorded"] = "yesterday"
    for bundle in [*bundles, broken, broken2]:
        assert bool(fhir_r4.schema_errors(bundle)) == bool(fhir_r4.schema_errors(bundle, fast=False))
    assert fhir_r4.schema_errors(broken) and fhir_r4.schema_errors(broken2)


def test_our_structure_definitions_are_valid_and_their_urls_are_what_we_emit() -> None:
    files = sorted(fhir_r4.OUR_DEFINITIONS.glob("StructureDefinition-*.json"))
    urls = set()
    for file in files:
        definition = json.loads(file.read_text(encoding="utf-8"))
        report = fhir_r4.validate_resource(definition)
        assert report.schema == [] and report.invariants == [], (file.name, report)
        assert file.name == f"StructureDefinition-{definition['id']}.json"
        # The published R4 schema's fhirVersion enum stops at 3.5.0 (4.0.1 is rejected), so
        # our definitions leave the optional fhirVersion out rather than fail the schema.
        assert "fhirVersion" not in definition
        urls.add(definition["url"])
    assert urls == {SPAN_EXTENSION, EFFECTIVE_SOURCE_EXTENSION}
    emitted = json.dumps([bundle for _, bundle in _golden_bundles()])
    assert SPAN_EXTENSION in emitted and EFFECTIVE_SOURCE_EXTENSION in emitted


def _first(bundle: dict[str, Any], profile: str) -> dict[str, Any]:
    return next(
        e["resource"]
        for e in bundle["entry"]
        if f"http://hl7.org/fhir/StructureDefinition/{profile}" in e["resource"].get("meta", {}).get("profile", [])
    )


def _with_only(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:x", "resource": resource}]}


def test_the_validator_catches_what_an_ehr_would_reject() -> None:
    bundle = next(b for _, b in _golden_bundles() if '"oxygensat"' in json.dumps(b) or "oxygensat" in json.dumps(b))
    spo2 = copy.deepcopy(_first(bundle, "oxygensat"))
    assert not fhir_r4.validate_bundle(_with_only(spo2)).profiles
    no_effective = copy.deepcopy(spo2)
    del no_effective["effectiveDateTime"]
    assert fhir_r4.validate_bundle(_with_only(no_effective)).profiles
    pulse_ox_only = copy.deepcopy(spo2)
    pulse_ox_only["code"]["coding"] = [c for c in spo2["code"]["coding"] if c["code"] != "2708-6"]
    assert fhir_r4.validate_bundle(_with_only(pulse_ox_only)).profiles
    year_only = copy.deepcopy(spo2)
    year_only["effectiveDateTime"] = "2026"
    assert any("vs-1" in p for p in fhir_r4.validate_bundle(_with_only(year_only)).profiles)
    backwards = copy.deepcopy(spo2)
    span = next(x for x in backwards["extension"] if x["url"] == SPAN_EXTENSION)
    span["extension"][0]["valueInteger"] = 10_000
    assert any("span-1" in p for p in fhir_r4.validate_bundle(_with_only(backwards)).invariants)
    empty = copy.deepcopy(spo2)
    empty["note"] = [{}]
    assert any("ele-1" in p for p in fhir_r4.validate_bundle(_with_only(empty)).invariants)
    bp = copy.deepcopy(_first(bundle, "bp")) if "/bp" in json.dumps(bundle) else None
    if bp is not None:
        bp["component"] = bp["component"][:1]
        assert fhir_r4.validate_bundle(_with_only(bp)).profiles
