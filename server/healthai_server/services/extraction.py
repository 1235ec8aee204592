"""ClinicalExtractionService: unary and bidi-streaming extraction."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc import aio
from healthai.v1 import common_pb2, extraction_service_pb2, extraction_service_pb2_grpc

from healthai_server.backends.base import BackendRequest
from healthai_server.domain.errors import DomainError
from healthai_server.interceptors.audit_trail import event_from_scope
from healthai_server.interceptors.errors import status_code_for
from healthai_server.pipeline.extraction import Caller, ExtractionPipeline
from healthai_server.pipeline.hashing import NoteHasher
from healthai_server.scope import RequestScope, current_scope
from healthai_server.services import convert
from healthai_server.services.deadlines import deadline_from
from healthai_server.storage.audit import AuditRepository
from healthai_server.validation_rules import RequestValidator

ExtractRequest = extraction_service_pb2.ExtractClinicalDataRequest
StreamRequest = extraction_service_pb2.StreamExtractClinicalDataRequest


class ClinicalExtractionServicer(extraction_service_pb2_grpc.ClinicalExtractionServiceServicer):
    def __init__(
        self,
        pipeline: ExtractionPipeline,
        hasher: NoteHasher,
        validator: RequestValidator,
        audit: AuditRepository,
        deadline_ceiling_s: float,
    ) -> None:
        self._pipeline = pipeline
        self._hasher = hasher
        self._validator = validator
        self._audit = audit
        self._ceiling = deadline_ceiling_s

    async def _extract(
        self, request: ExtractRequest | StreamRequest, scope: RequestScope, context: aio.ServicerContext[Any, Any]
    ) -> extraction_service_pb2.ExtractClinicalDataResponse:
        scope.note_hmac = self._hasher.fingerprint(request.text)
        scope.details.update(note_id=request.note_id, text_chars=len(request.text))
        outcome = await self._pipeline.run(
            BackendRequest(
                text=request.text,
                tenant=scope.principal.tenant,
                options=convert.options_from_pb(request.options),
                deadline=deadline_from(context, self._ceiling),
                note_id=request.note_id,
                note_context=convert.note_context_from_pb(request.context),
            ),
            Caller(tenant=scope.principal.tenant, principal=scope.principal.subject, audit_id=scope.audit_id),
        )
        result = outcome.result
        provenance = result.provenance
        scope.details["phi_egress"] = outcome.phi_egress
        if outcome.review_task:
            scope.details["review_task"] = outcome.review_task.rsplit("/", 1)[-1]
        scope.details.update(
            backend=provenance.backend,
            model=provenance.model,
            counts=result.data.counts(),
            ungrounded_dropped=result.ungrounded_dropped,
            cache_hit=provenance.cache_hit,
            cost_micros=provenance.cost_micros,
        )
        if provenance.experiment_arm:
            scope.details["experiment_arm"] = provenance.experiment_arm
        if outcome.shadow:
            scope.details["shadow"] = outcome.shadow  # scheduled, dropped_concurrency, skipped_budget, ...
        if provenance.degraded_reason is not None:
            scope.details["degraded_reason"] = provenance.degraded_reason.name
        if provenance.prompt is not None:
            scope.details.update(
                prompt_id=provenance.prompt.id,
                prompt_version=provenance.prompt.version,
                prompt_hash=provenance.prompt.hash,
            )
        return extraction_service_pb2.ExtractClinicalDataResponse(
            audit_id=scope.audit_id,
            note_id=request.note_id,
            data=convert.clinical_data_to_pb(result.data),
            provenance=convert.provenance_to_pb(provenance),
            fhir_bundle_json=outcome.fhir_json,
            ungrounded_dropped=result.ungrounded_dropped,
            review_task=outcome.review_task,
        )

    async def ExtractClinicalData(
        self, request: ExtractRequest, context: aio.ServicerContext[Any, Any]
    ) -> extraction_service_pb2.ExtractClinicalDataResponse:
        return await self._extract(request, current_scope(), context)

    async def StreamExtractClinicalData(
        self, request_iterator: AsyncIterator[StreamRequest], context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[extraction_service_pb2.StreamExtractClinicalDataResponse]:
        stream_scope = current_scope()
        index = ok = failed = 0
        async for request in request_iterator:
            stream_scope.request_bytes += request.ByteSize()
            response = await self._stream_item(index, request, stream_scope, context)
            if response.HasField("error"):
                failed += 1
            else:
                ok += 1
            stream_scope.response_bytes += response.ByteSize()
            stream_scope.details.update(notes_ok=ok, notes_failed=failed)
            index += 1
            yield response

    async def _stream_item(
        self, index: int, request: StreamRequest, stream_scope: RequestScope, context: aio.ServicerContext[Any, Any]
    ) -> extraction_service_pb2.StreamExtractClinicalDataResponse:
        """One note of a stream: its own audit id and audit event; its failure stays its own."""
        note_scope = RequestScope(
            audit_id=str(uuid.uuid4()),
            method=stream_scope.method,
            principal=stream_scope.principal,
            details={"stream_audit_id": stream_scope.audit_id, "index": index},
        )
        try:
            self._validator.check(request)
            result = await self._extract(request, note_scope, context)
            await self._audit.append(event_from_scope(note_scope, grpc.StatusCode.OK.name))
        except DomainError as error:
            status = status_code_for(error)
            await self._audit_failure(note_scope, status.name)
            violations = getattr(error, "violations", [])
            return extraction_service_pb2.StreamExtractClinicalDataResponse(
                index=index,
                note_id=getattr(request, "note_id", ""),  # an undecodable item has none
                error=common_pb2.ItemError(
                    code=status.value[0],
                    reason=error.reason,
                    message=error.message,
                    field_violations=[
                        common_pb2.FieldViolation(field=v.field, description=v.description) for v in violations
                    ],
                ),
            )
        return extraction_service_pb2.StreamExtractClinicalDataResponse(
            index=index, note_id=request.note_id, result=result
        )

    async def _audit_failure(self, scope: RequestScope, code: str) -> None:
        # The item already failed; if its event cannot be written the stream-level event still records it.
        with contextlib.suppress(DomainError):
            await self._audit.append(event_from_scope(scope, code))
