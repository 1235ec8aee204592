"""DeidentificationService: detect Safe Harbor identifiers and redact, mask or replace them."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from grpc import aio
from healthai.v1 import deidentification_service_pb2, deidentification_service_pb2_grpc

from healthai_server.domain.provenance import Provenance
from healthai_server.pipeline.hashing import NoteHasher
from healthai_server.scope import current_scope
from healthai_server.services import convert
from healthai_server.services.deadlines import deadline_from
from healthai_server.workers import CpuWorkers

DEID_ENGINE = "healthai-deid"


class DeidentificationServicer(deidentification_service_pb2_grpc.DeidentificationServiceServicer):
    def __init__(self, workers: CpuWorkers, hasher: NoteHasher, version: str, deadline_ceiling_s: float) -> None:
        self._workers = workers
        self._hasher = hasher
        self._version = version
        self._ceiling = deadline_ceiling_s

    async def DeidentifyNote(
        self, request: deidentification_service_pb2.DeidentifyNoteRequest, context: aio.ServicerContext[Any, Any]
    ) -> deidentification_service_pb2.DeidentifyNoteResponse:
        started = time.perf_counter()
        scope = current_scope()
        scope.note_hmac = self._hasher.fingerprint(request.text)
        mode = convert.mode_from_pb(request.mode)
        policy = convert.policy_from_pb(request.policy)
        result = await self._workers.deidentify(
            request.text,
            mode,
            tenant=scope.principal.tenant,
            patient_ref=request.patient_ref,
            policy=policy,
            deadline=deadline_from(context, self._ceiling),
        )
        by_type = Counter(finding.type.name for finding in result.findings)
        scope.details.update(
            note_id=request.note_id,
            text_chars=len(request.text),
            mode=mode.name,
            policy=policy.name,
            backend="local",
            phi_findings=dict(sorted(by_type.items())),
        )
        provenance = Provenance(
            backend="local", model=f"{DEID_ENGINE}/{self._version}", latency_s=time.perf_counter() - started
        )
        return deidentification_service_pb2.DeidentifyNoteResponse(
            audit_id=scope.audit_id,
            note_id=request.note_id,
            deidentified_text=result.text,
            findings=[convert.phi_finding_to_pb(f) for f in result.findings],
            provenance=convert.provenance_to_pb(provenance),
            policy=convert.policy_to_pb(policy),
        )
