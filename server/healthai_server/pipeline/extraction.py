"""Extraction: backend (behind whatever resilience wraps it) -> FHIR mapping on request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from healthai_server.backends.base import BackendRequest, BackendResult, ExtractionBackend
from healthai_server.domain.clinical import ClinicalData

FhirBuilder = Callable[[ClinicalData, str, str], str]


@dataclass(frozen=True, slots=True)
class ExtractionOutcome:
    result: BackendResult
    fhir_json: str = ""


class ExtractionPipeline:
    def __init__(self, backend: ExtractionBackend, fhir_builder: FhirBuilder) -> None:
        self._backend = backend
        self._fhir_builder = fhir_builder

    @property
    def backend(self) -> ExtractionBackend:
        return self._backend

    async def run(self, request: BackendRequest) -> ExtractionOutcome:
        started = time.perf_counter()
        result = await self._backend.extract(request)
        fhir_json = ""
        if request.options.include_fhir:
            # Building and validating pydantic models is CPU work: keep it off the event loop.
            fhir_json = await asyncio.to_thread(
                self._fhir_builder, result.data, request.note_id, result.provenance.model
            )
        provenance = replace(result.provenance, latency_s=time.perf_counter() - started)
        return ExtractionOutcome(replace(result, provenance=provenance), fhir_json)
