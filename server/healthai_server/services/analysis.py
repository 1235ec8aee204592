"""NoteAnalysisService: problem list and alerts, always from the deterministic engine."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from grpc import aio
from healthai.v1 import analysis_service_pb2, analysis_service_pb2_grpc

from healthai_server.backends.base import Deadline
from healthai_server.domain.provenance import Provenance
from healthai_server.pipeline.hashing import NoteHasher
from healthai_server.scope import current_scope
from healthai_server.services import convert
from healthai_server.services.deadlines import deadline_from
from healthai_server.workers import CpuWorkers

# An optional LLM summariser: (text, tenant, deadline) -> (summary, provenance). Absent without an LLM.
Summarizer = Callable[[str, str, Deadline], Awaitable[tuple[str, Provenance]]]


class NoteAnalysisServicer(analysis_service_pb2_grpc.NoteAnalysisServiceServicer):
    def __init__(
        self,
        workers: CpuWorkers,
        hasher: NoteHasher,
        engine_version: str,
        deadline_ceiling_s: float,
        summarizer: Summarizer | None = None,
    ) -> None:
        self._workers = workers
        self._hasher = hasher
        self._engine_version = engine_version
        self._ceiling = deadline_ceiling_s
        self._summarizer = summarizer

    async def AnalyzeNote(
        self, request: analysis_service_pb2.AnalyzeNoteRequest, context: aio.ServicerContext[Any, Any]
    ) -> analysis_service_pb2.AnalyzeNoteResponse:
        started = time.perf_counter()
        scope = current_scope()
        scope.note_hmac = self._hasher.fingerprint(request.text)
        deadline = deadline_from(context, self._ceiling)
        problems, alerts = await self._workers.analyze(request.text, deadline)
        provenance = Provenance(backend="local", model=self._engine_version)
        summary = ""
        if request.include_summary and self._summarizer is not None:
            summary, provenance = await self._summarizer(request.text, scope.principal.tenant, deadline)
        ordered = sorted(alerts, key=lambda alert: -alert.severity.value)
        scope.details.update(
            note_id=request.note_id,
            text_chars=len(request.text),
            backend=provenance.backend,
            problems=len(problems),
            alerts=len(ordered),
            summary=bool(summary),
        )
        provenance = Provenance(**{**_fields(provenance), "latency_s": time.perf_counter() - started})
        return analysis_service_pb2.AnalyzeNoteResponse(
            audit_id=scope.audit_id,
            note_id=request.note_id,
            problem_list=[convert.problem_to_pb(p) for p in problems],
            alerts=[convert.alert_to_pb(a) for a in ordered],
            summary=summary,
            provenance=convert.provenance_to_pb(provenance),
        )


def _fields(provenance: Provenance) -> dict[str, Any]:
    return {name: getattr(provenance, name) for name in Provenance.__slots__}
