"""The embedded default backend: the local clinical NLP engine, run on CPU workers."""

from __future__ import annotations

import time

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

    async def close(self) -> None:
        return None
