"""Keeps gRPC health honest: NOT_SERVING while a dependency the service needs is down.

Health used to say SERVING for the life of the process, so a pod whose engine pool was
broken or whose database was unreachable stayed in rotation and failed every call. The
monitor probes each dependency on an interval and flips the status of every service;
Kubernetes' readiness probe then takes the pod out until it recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from grpc_health.v1 import health, health_pb2

log = logging.getLogger("healthai.health")

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True)
class DependencyCheck:
    """A named probe; it returns True when the dependency works."""

    name: str
    probe: Callable[[], Awaitable[bool]]


class HealthMonitor:
    def __init__(
        self,
        servicer: health.aio.HealthServicer,
        services: Sequence[str],
        checks: Sequence[DependencyCheck],
        *,
        interval_s: float = 2.0,
        probe_timeout_s: float = 3.0,
    ) -> None:
        self._servicer = servicer
        self._services = ("", *services)
        self._checks = tuple(checks)
        self._interval_s = interval_s
        self._probe_timeout_s = probe_timeout_s
        self._task: asyncio.Task[None] | None = None
        self.failing: tuple[str, ...] = ()

    async def check_once(self) -> tuple[str, ...]:
        """Probe every dependency, set every service's status, return the failing names."""
        results = await asyncio.gather(*(self._probe(check) for check in self._checks))
        failing = tuple(check.name for check, ok in zip(self._checks, results, strict=True) if not ok)
        if failing != self.failing:
            # Names of dependencies only; nothing about any request.
            if failing:
                log.warning("not serving", extra={"failing": ",".join(failing)})
            else:
                log.info("serving again")
        self.failing = failing
        status = NOT_SERVING if failing else SERVING
        for name in self._services:
            await self._servicer.set(name, status)
        return failing

    async def _probe(self, check: DependencyCheck) -> bool:
        try:
            return await asyncio.wait_for(check.probe(), timeout=self._probe_timeout_s)
        except Exception:
            return False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="healthai-health-monitor")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.check_once()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
