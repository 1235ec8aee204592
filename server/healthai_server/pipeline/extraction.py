"""Extraction: backend (behind whatever resilience wraps it) -> FHIR mapping on request ->
usage ledger (LLM results only: tokens, cost and prompt per tenant and audit id)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from opentelemetry import trace

from healthai_server.backends.base import BackendRequest, BackendResult, ExtractionBackend
from healthai_server.domain.clinical import ClinicalData, FhirRequest, as_domain
from healthai_server.domain.provenance import Provenance, TokenUsage
from healthai_server.storage.usage import UsageLedger, UsageRecord

FhirBuilder = Callable[[ClinicalData, FhirRequest], str]
_tracer = trace.get_tracer("healthai.pipeline")


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str
    principal: str
    audit_id: str


@dataclass(frozen=True, slots=True)
class ExtractionOutcome:
    result: BackendResult
    fhir_json: str = ""
    # Where the note's text went, for the audit trail: "none" (stayed in process),
    # "clear" (an external model, tenant covered by a BAA), "surrogates" (PHI guard applied).
    phi_egress: str = "none"


class ExtractionPipeline:
    def __init__(
        self,
        backend: ExtractionBackend,
        fhir_builder: FhirBuilder,
        ledger: UsageLedger | None = None,
    ) -> None:
        self._backend = backend
        self._fhir_builder = fhir_builder
        self._ledger = ledger

    @property
    def backend(self) -> ExtractionBackend:
        return self._backend

    async def run(self, request: BackendRequest, caller: Caller | None = None) -> ExtractionOutcome:
        started = time.perf_counter()
        received_at = datetime.now(UTC)
        with _tracer.start_as_current_span("pipeline.backend", attributes={"healthai.backend": self._backend.name}):
            result = await self._backend.extract(request)
        fhir_json = ""
        if request.options.include_fhir:
            # Building and validating pydantic models is CPU work: keep it off the event loop.
            # The bundle's Provenance names the note: the caller's id, else this call's audit id.
            document_id = request.note_id or (caller.audit_id if caller else "") or "unidentified-note"
            fhir_request = FhirRequest(
                note_text=request.text,
                document_id=document_id,
                engine_version=result.provenance.model,
                recorded_at=received_at,
                context=request.note_context,
                include_refuted=request.options.fhir_include_refuted,
            )
            with _tracer.start_as_current_span("pipeline.fhir"):
                fhir_json = await asyncio.to_thread(self._fhir_builder, as_domain(result.data), fhir_request)
        provenance = replace(result.provenance, latency_s=time.perf_counter() - started)
        if self._ledger is not None and caller is not None and provenance.backend != "local":
            await self._ledger.record(_usage_record(provenance, caller))
        # What the backends report they sent, not a guess from which backend answered: a call
        # to Claude that failed and fell back to the local engine still sent the note.
        return ExtractionOutcome(replace(result, provenance=provenance), fhir_json, request.egress.summary)


def _usage_record(provenance: Provenance, caller: Caller) -> UsageRecord:
    prompt = provenance.prompt
    return UsageRecord(
        tenant=caller.tenant,
        principal=caller.principal,
        audit_id=caller.audit_id,
        backend=provenance.backend,
        model=provenance.model,
        usage=provenance.token_usage or TokenUsage(),
        cost_micros=provenance.cost_micros,
        prompt_id=prompt.id if prompt else "",
        prompt_version=prompt.version if prompt else "",
        cache_hit=provenance.cache_hit,
    )
