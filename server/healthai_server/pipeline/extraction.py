"""Extraction, every stage of one request in order:

1. PHI guard: what of the note may leave the process (pipeline/guard.py);
2. backend, behind whatever resilience wraps it (fallback chain, breaker, retries, cache);
   with experiments configured, the note's arm picks it (pipeline/experiments.py);
3. validation: grounding and clinical rules for every backend (pipeline/validation.py);
4. review routing: low confidence, findings, degraded answers, or asked for (pipeline/review.py);
5. FHIR mapping, on request;
6. usage ledger (LLM results, and every answer of an experiment arm: tokens, cost, prompt,
   arm and latency per tenant and audit id);
7. shadow: a candidate arm is scheduled off the response path (pipeline/shadow.py).

What left the process is what the backends recorded at the moment they sent (the
request's EgressLog), not a guess from which backend answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from opentelemetry import trace

from healthai_server.backends.base import BackendRequest, BackendResult, BatchExtractionBackend, ExtractionBackend
from healthai_server.domain.clinical import ClinicalData, FhirRequest, as_domain
from healthai_server.domain.provenance import Provenance, TokenUsage
from healthai_server.pipeline.experiments import ArmChoice, ArmSelection
from healthai_server.pipeline.guard import PhiGuardStage
from healthai_server.pipeline.review import Caller, NoReview, ReviewRouter
from healthai_server.pipeline.shadow import ShadowRunner
from healthai_server.pipeline.validation import ValidationStage
from healthai_server.storage.usage import UsageLedger, UsageRecord
from healthai_server.validation import OutputValidator

__all__ = ["Caller", "ExtractionOutcome", "ExtractionPipeline", "FhirBuilder"]

FhirBuilder = Callable[[ClinicalData, FhirRequest], str]
_tracer = trace.get_tracer("healthai.pipeline")


@dataclass(frozen=True, slots=True)
class ExtractionOutcome:
    result: BackendResult
    fhir_json: str = ""
    # Where the note's text went, for the audit trail: "none" (stayed in process),
    # "clear" (an external model, tenant covered by a BAA), "surrogates" (PHI guard applied).
    phi_egress: str = "none"
    # The review task this answer was queued as ("" when it needs no review).
    review_task: str = ""
    # What became of the shadow candidate for this note ("" without shadow mode; see ShadowRunner).
    shadow: str = ""


class ExtractionPipeline:
    def __init__(
        self,
        backend: ExtractionBackend,
        fhir_builder: FhirBuilder,
        ledger: UsageLedger | None = None,
        *,
        guard: PhiGuardStage | None = None,
        validation: ValidationStage | None = None,
        review: ReviewRouter | None = None,
        arms: ArmSelection | None = None,
        shadow: ShadowRunner | None = None,
    ) -> None:
        self._guard = guard or PhiGuardStage(None)
        self._backend = backend
        self._validation = validation or ValidationStage(OutputValidator())
        self._review: ReviewRouter = review or NoReview()
        self._fhir_builder = fhir_builder
        self._ledger = ledger
        self._arms = arms
        self._shadow = shadow

    @property
    def backend(self) -> ExtractionBackend:
        return self._backend

    async def warm(self) -> None:
        await self._validation.warm()

    async def run(self, request: BackendRequest, caller: Caller | None = None) -> ExtractionOutcome:
        started = time.perf_counter()
        received_at = datetime.now(UTC)
        request = self._prepare(request)
        choice = self._arms.choose(request, self._backend) if self._arms else ArmChoice("", self._backend)
        with _tracer.start_as_current_span("pipeline.backend", attributes={"healthai.backend": choice.backend.name}):
            result = await choice.backend.extract(request)
        return await self._finish(request, result, caller, choice=choice, started=started, received_at=received_at)

    async def run_many(
        self, requests: Sequence[tuple[BackendRequest, Caller | None]]
    ) -> list[ExtractionOutcome | Exception]:
        """Several notes (a batch chunk): the same stages as `run` for each, but one backend call
        for all of them when the backend takes several notes at once (the local engine: one worker
        round trip per chunk instead of one per note). Each entry is the note's outcome or the
        exception it failed with; one note's failure does not fail the others."""
        backend = self._backend
        if self._arms is not None or self._shadow is not None or not isinstance(backend, BatchExtractionBackend):
            # Arms pick a backend per note, and a shadow is per note: keep the one-note path.
            return list(await asyncio.gather(*(self._run_or_error(r, c) for r, c in requests)))
        started = time.perf_counter()
        received_at = datetime.now(UTC)
        prepared = [(self._prepare(request), caller) for request, caller in requests]
        choice = ArmChoice("", backend)
        with _tracer.start_as_current_span(
            "pipeline.backend", attributes={"healthai.backend": backend.name, "healthai.notes": len(prepared)}
        ):
            results = await backend.extract_many([request for request, _caller in prepared])
        outcomes: list[ExtractionOutcome | Exception] = []
        for (request, caller), result in zip(prepared, results, strict=True):
            if isinstance(result, Exception):
                outcomes.append(result)
                continue
            try:
                outcomes.append(
                    await self._finish(request, result, caller, choice=choice, started=started, received_at=received_at)
                )
            except Exception as error:  # this note's later stage failed; the others stand
                outcomes.append(error)
        return outcomes

    async def _run_or_error(self, request: BackendRequest, caller: Caller | None) -> ExtractionOutcome | Exception:
        try:
            return await self.run(request, caller)
        except Exception as error:  # reported per note by run_many
            return error

    def _prepare(self, request: BackendRequest) -> BackendRequest:
        request = self._guard.apply(request)
        if self._review.needs_objects and not request.options.keep_objects:
            request = replace(request, options=replace(request.options, keep_objects=True))
        return request

    async def _finish(
        self,
        request: BackendRequest,
        result: BackendResult,
        caller: Caller | None,
        *,
        choice: ArmChoice,
        started: float,
        received_at: datetime,
    ) -> ExtractionOutcome:
        """Every stage after the backend, in order: validation, review, FHIR, ledger, shadow."""
        with _tracer.start_as_current_span("pipeline.validation"):
            result = await self._validation.run(request, result)
        review_task = await self._review.route(request, result, caller)
        fhir_json = ""
        if request.options.include_fhir:
            fhir_json = await self._fhir(request, result, caller, received_at)
        provenance = replace(result.provenance, latency_s=time.perf_counter() - started, experiment_arm=choice.arm)
        if self._ledger is not None and caller is not None and (provenance.backend != "local" or choice.arm):
            await self._ledger.record(_usage_record(provenance, caller))
        result = replace(result, provenance=provenance)
        shadow = ""
        if self._shadow is not None:
            # Only schedules: the candidate runs after this answer has gone (never awaited here).
            shadow = self._shadow.submit(
                request, result, audit_id=caller.audit_id if caller else "", live_arm=choice.arm
            )
        # What the backends report they sent, not a guess from which backend answered: a call
        # to Claude that failed and fell back to the local engine still sent the note.
        return ExtractionOutcome(result, fhir_json, request.egress.summary, review_task, shadow)

    async def _fhir(
        self, request: BackendRequest, result: BackendResult, caller: Caller | None, received_at: datetime
    ) -> str:
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
            return await asyncio.to_thread(self._fhir_builder, as_domain(result.data), fhir_request)


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
        experiment_arm=provenance.experiment_arm,
        latency_ms=provenance.latency_s * 1000,
    )
