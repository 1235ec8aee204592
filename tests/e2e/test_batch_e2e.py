"""Batch jobs against a real server: create (client-streamed) -> Operation at once, wait,
results by page, idempotent retries, cancel within 2 s, bad input with clear statuses,
tenant isolation, RBAC, and an audit trail that verifies."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from healthai.v1 import batch_service_pb2, batch_service_pb2_grpc

from tests.e2e.server import ServerProcess, running_server

NOTES = sorted((Path(__file__).resolve().parents[2] / "data/golden/clinical/notes").glob("*.txt"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("batch"),
        batch_max_notes="400",
        batch_retry_base_delay_s="0.05",
        metrics_port=str(_free_port()),
    ) as process:
        yield process


class Api:
    def __init__(self, server: ServerProcess, token: str | None = None) -> None:
        self.channel = grpc.insecure_channel(server.addr)
        self.metadata = (("authorization", f"Bearer {token or server.dev_token}"),)
        self.batch = batch_service_pb2_grpc.BatchServiceStub(self.channel)
        self.operations = operations_pb2_grpc.OperationsStub(self.channel)

    def create(self, notes: Sequence[tuple[str, str]], request_id: str) -> operations_pb2.Operation:
        def messages() -> Iterator[batch_service_pb2.CreateBatchJobRequest]:
            yield batch_service_pb2.CreateBatchJobRequest(
                settings=batch_service_pb2.BatchJobSettings(request_id=request_id, display_name="e2e")
            )
            for note_id, text in notes:
                yield batch_service_pb2.CreateBatchJobRequest(
                    note=batch_service_pb2.BatchNote(note_id=note_id, text=text)
                )

        operation: operations_pb2.Operation = self.batch.CreateBatchJob(messages(), metadata=self.metadata, timeout=60)
        return operation

    def wait(self, name: str, seconds: float = 60) -> operations_pb2.Operation:
        deadline = time.monotonic() + seconds
        while True:
            timeout = duration_pb2.Duration(seconds=5)
            operation: operations_pb2.Operation = self.operations.WaitOperation(
                operations_pb2.WaitOperationRequest(name=name, timeout=timeout), metadata=self.metadata, timeout=10
            )
            if operation.done or time.monotonic() > deadline:
                return operation

    def get(self, name: str) -> operations_pb2.Operation:
        operation: operations_pb2.Operation = self.operations.GetOperation(
            operations_pb2.GetOperationRequest(name=name), metadata=self.metadata, timeout=10
        )
        return operation


def metadata_of(operation: operations_pb2.Operation) -> batch_service_pb2.BatchJobMetadata:
    metadata = batch_service_pb2.BatchJobMetadata()
    assert operation.metadata.Unpack(metadata)
    return metadata


def notes(count: int, prefix: str = "n") -> list[tuple[str, str]]:
    return [(f"{prefix}{i}", NOTES[i % len(NOTES)].read_text()) for i in range(count)]


def violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    fields: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return fields


def test_a_job_runs_to_completion_with_paged_results_and_an_audited_trail(batch_server: ServerProcess) -> None:
    api = Api(batch_server)
    started = time.monotonic()
    operation = api.create(notes(60), "job-complete-1")
    assert time.monotonic() - started < 10 and operation.name.startswith("operations/batch-")
    assert metadata_of(operation).total_notes == 60
    done = api.wait(operation.name)
    assert done.done and not done.HasField("error")
    summary = batch_service_pb2.BatchJobSummary()
    assert done.response.Unpack(summary) and (summary.succeeded, summary.dead_lettered) == (60, 0)
    meta = metadata_of(done)
    assert meta.state == batch_service_pb2.BATCH_JOB_STATE_SUCCEEDED and meta.notes_per_second > 0
    results: list[batch_service_pb2.BatchNoteResult] = []
    token = ""
    while True:
        page = api.batch.ListBatchResults(
            batch_service_pb2.ListBatchResultsRequest(name=operation.name, page_size=25, page_token=token),
            metadata=api.metadata,
        )
        results += page.results
        token = page.next_page_token
        if not token:
            break
    assert [r.note_id for r in results] == [f"n{i}" for i in range(60)]
    assert all(r.result.audit_id and r.result.data.conditions for r in results[:5])
    # Retrying the create with the same request id returns the same job and queues nothing.
    again = api.create(notes(60), "job-complete-1")
    assert again.name == operation.name and again.done
    listed = api.operations.ListOperations(
        operations_pb2.ListOperationsRequest(name="operations", filter="done = true", page_size=50),
        metadata=api.metadata,
    )
    assert operation.name in [o.name for o in listed.operations]
    verify = batch_server.healthai_server("audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    port = batch_server.env["HEALTHAI_METRICS_PORT"]
    exposition = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    succeeded = re.search(r'^healthai_batch_notes_total\{outcome="succeeded"\} (\S+)$', exposition, re.M)
    assert succeeded is not None and float(succeeded.group(1)) >= 60
    assert 'healthai_queue_depth{queue="batch"}' in exposition
    assert "healthai_batch_oldest_queued_age_seconds" in exposition


def test_same_request_id_for_another_job_is_refused(batch_server: ServerProcess) -> None:
    api = Api(batch_server)
    api.create(notes(2), "job-reuse-1")
    with pytest.raises(grpc.RpcError) as caught:
        api.create(notes(3), "job-reuse-1")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(caught.value) == ["settings.request_id"]


@pytest.mark.parametrize(
    ("job", "field"),
    [
        ([], "notes"),
        ([("a", "chest pain"), ("a", "fever")], "notes[1].note_id"),
        ([("a", "   ")], "notes[0].text"),
        ([("a", "x")] + [(f"m{i}", "cough") for i in range(400)], "notes"),  # one over the limit (400 here)
    ],
    ids=["empty", "duplicate-ids", "blank-text", "too-many"],
)
def test_bad_jobs_are_invalid_argument_with_the_field(
    batch_server: ServerProcess, job: list[tuple[str, str]], field: str
) -> None:
    api = Api(batch_server)
    with pytest.raises(grpc.RpcError) as caught:
        api.create(job, f"bad-{len(job)}-{len(field)}")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(caught.value) == [field]
    listed = api.operations.ListOperations(operations_pb2.ListOperationsRequest(), metadata=api.metadata)
    assert all(metadata_of(o).total_notes for o in listed.operations)  # nothing half-created is listed


def test_unknown_and_other_tenants_operations_are_not_found(batch_server: ServerProcess) -> None:
    api = Api(batch_server)
    operation = api.create(notes(1), "job-tenant-1")
    minted = batch_server.healthai_server("token", "--tenant", "other", "--roles", "batch", "--subject", "o")
    other = Api(batch_server, minted.stdout.strip())
    for caller, name in [
        (api, "operations/batch-00000000-0000-0000-0000-000000000000"),
        (api, "operations/not-a-batch"),
        (other, operation.name),
    ]:
        with pytest.raises(grpc.RpcError) as caught:
            caller.get(name)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        other.batch.ListBatchResults(
            batch_service_pb2.ListBatchResultsRequest(name=operation.name), metadata=other.metadata
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    clinician = batch_server.healthai_server("token", "--roles", "clinician")
    with pytest.raises(grpc.RpcError) as caught:
        Api(batch_server, clinician.stdout.strip()).get(operation.name)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_cancel_stops_the_job_within_two_seconds(batch_server: ServerProcess) -> None:
    api = Api(batch_server)
    operation = api.create(notes(390, "c"), "job-cancel-1")
    time.sleep(0.3)
    started = time.monotonic()
    response = api.batch.CancelBatchJob(
        batch_service_pb2.CancelBatchJobRequest(name=operation.name, request_id="cancel-1"), metadata=api.metadata
    )
    assert response.operation.done and response.operation.error.code == grpc.StatusCode.CANCELLED.value[0]
    while metadata_of(api.get(operation.name)).running and time.monotonic() - started < 5:
        time.sleep(0.05)
    stopped_after = time.monotonic() - started
    meta = metadata_of(api.get(operation.name))
    assert meta.running == 0 and stopped_after < 2.0
    assert meta.cancelled > 0 and meta.succeeded + meta.cancelled + meta.dead_lettered == 390
    time.sleep(0.5)
    assert metadata_of(api.get(operation.name)).succeeded == meta.succeeded  # nothing more was processed
    # The same cancel again answers the same; delete then removes the finished job.
    api.batch.CancelBatchJob(
        batch_service_pb2.CancelBatchJobRequest(name=operation.name, request_id="cancel-1"), metadata=api.metadata
    )
    api.operations.DeleteOperation(operations_pb2.DeleteOperationRequest(name=operation.name), metadata=api.metadata)
    with pytest.raises(grpc.RpcError) as caught:
        api.get(operation.name)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_cli_submits_follows_resumes_and_exports(batch_server: ServerProcess, tmp_path: Path) -> None:
    source = tmp_path / "notes"
    source.mkdir()
    for path in NOTES[:12]:
        (source / path.name).write_text(path.read_text())
    submitted = batch_server.healthai("batch", "submit", str(source), "--wait", "--fhir")
    assert submitted.returncode == 0, submitted.stderr
    name = submitted.stdout.strip()
    assert "12/12 notes" in submitted.stderr and "notes/s" in submitted.stderr and "SUCCEEDED" in submitted.stderr
    again = batch_server.healthai("batch", "submit", str(source), "--fhir")
    assert again.stdout.strip() == name and "resuming" in again.stderr
    status = batch_server.healthai("batch", "status", name)
    assert "12/12 notes" in status.stdout
    lines = batch_server.healthai("batch", "results", name).stdout.splitlines()
    assert [json.loads(line)["note_id"] for line in lines] == [p.stem for p in NOTES[:12]]
    out = tmp_path / "fhir"
    exported = batch_server.healthai("batch", "results", name, "--format", "fhir-ndjson", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    conditions = (out / "Condition.ndjson").read_text().splitlines()
    assert conditions and all(json.loads(line)["resourceType"] == "Condition" for line in conditions)
    assert batch_server.healthai("batch", "dead-letters", name).stdout == ""
    assert "replayed 0" in batch_server.healthai("batch", "replay", name, "--all").stdout
    assert batch_server.healthai("batch", "replay", name).returncode == 2
    missing = batch_server.healthai("batch", "status", "operations/batch-00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr
