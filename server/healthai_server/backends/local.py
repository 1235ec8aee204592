"""The embedded default backend: the local clinical NLP engine, run on CPU workers."""

from __future__ import annotations

import time
from collections.abc import Sequence

from healthai_server.backends.base import BackendRequest, BackendResult
from healthai_server.domain.provenance import Provenance
from healthai_server.workers import CpuWorkers


class LocalBackend:
    def __init__(self, workers: CpuWorkers, engine_version: str) -> None:
        self._workers = workers
        self._engine_version = engine_version

    @property
    def name(self) -> str:
        return "local"

    async def extract(self, request: BackendRequest) -> BackendResult:
        started = time.perf_counter()
        data = await self._workers.extract(request.text, request.options, request.deadline)
        return BackendResult(
            data=data,
            provenance=Provenance(
                backend=self.name, model=self._engine_version, latency_s=time.perf_counter() - started
            ),
        )

    async def extract_many(self, requests: Sequence[BackendRequest]) -> list[BackendResult | Exception]:
        """Several notes in one worker call (batch jobs); a failed note is its exception. The
        call is bounded by the earliest deadline among them; each note's latency is the call's."""
        if not requests:
            return []
        deadlines = [r.deadline for r in requests if r.deadline is not None]
        deadline = min(deadlines, key=lambda d: d.at) if deadlines else None
        started = time.perf_counter()
        encoded = await self._workers.extract_many([(r.text, r.options) for r in requests], deadline)
        latency_s = time.perf_counter() - started
        provenance = Provenance(backend=self.name, model=self._engine_version, latency_s=latency_s)
        return [data if isinstance(data, Exception) else BackendResult(data, provenance) for data in encoded]

    async def close(self) -> None:
        return None
