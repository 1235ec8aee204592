"""BatchService and google.longrunning.Operations: thin servicers over batch/jobs.py.

Protobuf in, a domain call, protobuf out; the job <-> Operation mapping lives here only.
Every call acts in the caller's tenant (the principal's), so another tenant's job is
NOT_FOUND, exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import any_pb2, duration_pb2, empty_pb2, timestamp_pb2
from google.rpc import status_pb2
from grpc import aio
from healthai.v1 import batch_service_pb2, batch_service_pb2_grpc, common_pb2, extraction_service_pb2

from healthai_server.batch.jobs import BatchJobs, job_name, operation_name
from healthai_server.domain.batch import Job, JobState, NoteInput
from healthai_server.domain.errors import FieldViolation, InvalidRequest
from healthai_server.scope import current_scope
from healthai_server.services.batch_extract import encode_note, note_digest
from healthai_server.validation_rules import RequestValidator

_STATES = {
    JobState.QUEUED: batch_service_pb2.BATCH_JOB_STATE_QUEUED,
    JobState.RUNNING: batch_service_pb2.BATCH_JOB_STATE_RUNNING,
    JobState.SUCCEEDED: batch_service_pb2.BATCH_JOB_STATE_SUCCEEDED,
    JobState.CANCELLED: batch_service_pb2.BATCH_JOB_STATE_CANCELLED,
}
WAIT_CAP_S = 60.0
CANCELLED_CODE = 1  # google.rpc.Code.CANCELLED


def _timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment)
    return stamp


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def job_metadata(job: Job, now: datetime | None = None) -> batch_service_pb2.BatchJobMetadata:
    counts = job.counts
    metadata = batch_service_pb2.BatchJobMetadata(
        name=operation_name(job.name),
        state=_STATES.get(job.state, batch_service_pb2.BATCH_JOB_STATE_UNSPECIFIED),
        total_notes=job.total_notes,
        queued=counts.queued,
        running=counts.running,
        succeeded=counts.succeeded,
        failed=counts.failed,
        dead_lettered=counts.dead_lettered,
        cancelled=counts.cancelled,
        create_time=_timestamp(job.created_at),
        start_time=_timestamp(job.started_at),
        end_time=_timestamp(job.ended_at),
        display_name=job.display_name,
    )
    if job.started_at is not None:
        end = job.ended_at or (now or datetime.now(UTC).replace(tzinfo=None))
        elapsed = max((end - job.started_at).total_seconds(), 1e-3)
        done = counts.succeeded + counts.dead_lettered
        metadata.notes_per_second = done / elapsed
        if not job.done and done:
            remaining = duration_pb2.Duration()
            remaining.FromMilliseconds(int(counts.pending / metadata.notes_per_second * 1000))
            metadata.estimated_time_remaining.CopyFrom(remaining)
    return metadata


def job_operation(job: Job) -> operations_pb2.Operation:
    operation = operations_pb2.Operation(
        name=operation_name(job.name), metadata=_pack(job_metadata(job)), done=job.done
    )
    if job.state is JobState.CANCELLED:
        operation.error.CopyFrom(status_pb2.Status(code=CANCELLED_CODE, message="the job was cancelled"))
    elif job.done:
        summary = batch_service_pb2.BatchJobSummary(
            name=operation.name,
            total_notes=job.total_notes,
            succeeded=job.counts.succeeded,
            dead_lettered=job.counts.dead_lettered,
            cancelled=job.counts.cancelled,
        )
        operation.response.CopyFrom(_pack(summary))
    return operation


def _prefixed(prefix: str, violations: list[FieldViolation]) -> InvalidRequest:
    return InvalidRequest(
        [FieldViolation(f"{prefix}.{v.field}" if v.field else prefix, v.description) for v in violations],
        f"the request is invalid: {len(violations)} field violation(s)",
    )


class BatchServicer(batch_service_pb2_grpc.BatchServiceServicer):
    def __init__(self, jobs: BatchJobs, validator: RequestValidator) -> None:
        self._jobs = jobs
        self._validator = validator

    async def CreateBatchJob(
        self,
        request_iterator: AsyncIterator[batch_service_pb2.CreateBatchJobRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> operations_pb2.Operation:
        scope = current_scope()
        messages = aiter(request_iterator)
        first = await anext(messages, None)
        if first is None or not isinstance(first, batch_service_pb2.CreateBatchJobRequest):
            raise InvalidRequest([FieldViolation("settings", "the first message must carry the job's settings")])
        if first.WhichOneof("item") != "settings":
            raise InvalidRequest([FieldViolation("settings", "the first message must carry the job's settings")])
        settings = first.settings
        violations = self._validator.violations(settings)
        if violations:
            raise _prefixed("settings", violations)
        digest = settings.SerializeToString(deterministic=True)
        builder = self._jobs.builder(scope.principal.tenant, scope.principal.subject, settings.request_id, digest)
        await builder.start(settings.display_name)
        try:
            async for message in messages:
                scope.request_bytes += message.ByteSize() if hasattr(message, "ByteSize") else 0
                await builder.add(*self._note(message, builder.count, settings.default_options))
            job = await builder.finish()
        except BaseException:
            await builder.abort()
            raise
        scope.details.update(job=job.name, notes=job.total_notes, request_id=settings.request_id)
        return job_operation(job)

    def _note(
        self, message: Any, index: int, default_options: extraction_service_pb2.ExtractionOptions
    ) -> tuple[NoteInput, bytes]:
        prefix = f"notes[{index}]"
        if not isinstance(message, batch_service_pb2.CreateBatchJobRequest) or message.WhichOneof("item") != "note":
            raise InvalidRequest([FieldViolation(prefix, "every message after the first must carry a note")])
        violations = self._validator.violations(message.note)
        if violations:
            raise _prefixed(prefix, violations)
        payload = encode_note(message.note, default_options)
        return NoteInput(message.note.note_id, payload), note_digest(payload)

    async def ListBatchResults(
        self, request: batch_service_pb2.ListBatchResultsRequest, context: aio.ServicerContext[Any, Any]
    ) -> batch_service_pb2.ListBatchResultsResponse:
        tenant = current_scope().principal.tenant
        page = await self._jobs.results(request.name, tenant, request.page_size, request.page_token)
        response = batch_service_pb2.ListBatchResultsResponse(next_page_token=page.next_page_token)
        for item in page.items:
            result = extraction_service_pb2.ExtractClinicalDataResponse.FromString(item.payload)
            response.results.add(note_id=item.note_id, result=result, attempts=item.attempts)
        current_scope().details.update(job=job_name(request.name), results=len(page.items))
        return response

    async def ListDeadLetters(
        self, request: batch_service_pb2.ListDeadLettersRequest, context: aio.ServicerContext[Any, Any]
    ) -> batch_service_pb2.ListDeadLettersResponse:
        tenant = current_scope().principal.tenant
        page = await self._jobs.dead_letters(request.name, tenant, request.page_size, request.page_token)
        response = batch_service_pb2.ListDeadLettersResponse(next_page_token=page.next_page_token)
        for letter in page.items:
            response.dead_letters.add(
                note_id=letter.note_id,
                attempts=letter.attempts,
                last_error=common_pb2.ItemError(
                    code=letter.error.code, reason=letter.error.reason, message=letter.error.message
                ),
                last_attempt_time=_timestamp(letter.last_attempt_at),
            )
        return response

    async def ReplayDeadLetters(
        self, request: batch_service_pb2.ReplayDeadLettersRequest, context: aio.ServicerContext[Any, Any]
    ) -> batch_service_pb2.ReplayDeadLettersResponse:
        scope = current_scope()
        replayed, job = await self._jobs.replay(
            request.name, scope.principal.tenant, list(request.note_ids), request.request_id
        )
        scope.details.update(job=job.name, replayed=replayed, request_id=request.request_id)
        return batch_service_pb2.ReplayDeadLettersResponse(replayed=replayed, operation=job_operation(job))

    async def CancelBatchJob(
        self, request: batch_service_pb2.CancelBatchJobRequest, context: aio.ServicerContext[Any, Any]
    ) -> batch_service_pb2.CancelBatchJobResponse:
        scope = current_scope()
        job = await self._jobs.cancel(request.name, scope.principal.tenant, request.request_id)
        scope.details.update(job=job.name, request_id=request.request_id)
        return batch_service_pb2.CancelBatchJobResponse(operation=job_operation(job))


class OperationsServicer(operations_pb2_grpc.OperationsServicer):  # type: ignore[misc]
    """google.longrunning.Operations over batch jobs (the only long-running work served)."""

    def __init__(self, jobs: BatchJobs) -> None:
        self._jobs = jobs

    async def GetOperation(
        self, request: operations_pb2.GetOperationRequest, context: aio.ServicerContext[Any, Any]
    ) -> operations_pb2.Operation:
        return job_operation(await self._jobs.get(request.name, current_scope().principal.tenant))

    async def ListOperations(
        self, request: operations_pb2.ListOperationsRequest, context: aio.ServicerContext[Any, Any]
    ) -> operations_pb2.ListOperationsResponse:
        if request.page_size < 0:
            raise InvalidRequest([FieldViolation("page_size", "must be 0 (default 100) or positive")])
        page = await self._jobs.list(
            current_scope().principal.tenant, request.page_size, request.page_token, request.filter
        )
        return operations_pb2.ListOperationsResponse(
            operations=[job_operation(job) for job in page.items], next_page_token=page.next_page_token
        )

    async def CancelOperation(
        self, request: operations_pb2.CancelOperationRequest, context: aio.ServicerContext[Any, Any]
    ) -> empty_pb2.Empty:
        await self._jobs.cancel(request.name, current_scope().principal.tenant)
        return empty_pb2.Empty()

    async def DeleteOperation(
        self, request: operations_pb2.DeleteOperationRequest, context: aio.ServicerContext[Any, Any]
    ) -> empty_pb2.Empty:
        await self._jobs.delete(request.name, current_scope().principal.tenant)
        return empty_pb2.Empty()

    async def WaitOperation(
        self, request: operations_pb2.WaitOperationRequest, context: aio.ServicerContext[Any, Any]
    ) -> operations_pb2.Operation:
        timeout = request.timeout.ToTimedelta().total_seconds() if request.HasField("timeout") else WAIT_CAP_S
        remaining = context.time_remaining()
        if remaining is not None:
            timeout = min(timeout, max(float(remaining) - 0.2, 0.0))
        job = await self._jobs.wait(request.name, current_scope().principal.tenant, min(max(timeout, 0.0), WAIT_CAP_S))
        return job_operation(job)
