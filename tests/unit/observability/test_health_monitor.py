"""Health follows the dependencies: NOT_SERVING while one is down, SERVING again after."""

from __future__ import annotations

import asyncio

from grpc_health.v1 import health, health_pb2
from healthai_server.observability.health_monitor import DependencyCheck, HealthMonitor


async def _status(servicer: health.aio.HealthServicer, service: str) -> int:
    request = health_pb2.HealthCheckRequest(service=service)
    response = await servicer.Check(request, None)
    return int(response.status)


async def test_a_failing_dependency_marks_every_service_not_serving_until_it_recovers() -> None:
    servicer = health.aio.HealthServicer()
    database_up = True

    async def database() -> bool:
        return database_up

    async def raising() -> bool:
        raise RuntimeError("probe crashed")

    monitor = HealthMonitor(servicer, ["svc.A"], [DependencyCheck("database", database)])
    assert await monitor.check_once() == ()
    assert await _status(servicer, "") == health_pb2.HealthCheckResponse.SERVING
    database_up = False
    assert await monitor.check_once() == ("database",)
    assert await _status(servicer, "") == health_pb2.HealthCheckResponse.NOT_SERVING
    assert await _status(servicer, "svc.A") == health_pb2.HealthCheckResponse.NOT_SERVING
    database_up = True
    assert await monitor.check_once() == ()
    assert await _status(servicer, "svc.A") == health_pb2.HealthCheckResponse.SERVING

    crashing = HealthMonitor(servicer, [], [DependencyCheck("engine_workers", raising)])
    assert await crashing.check_once() == ("engine_workers",)


async def test_a_hanging_probe_counts_as_failing_and_the_loop_runs_on_its_own() -> None:
    servicer = health.aio.HealthServicer()
    calls = 0

    async def hangs() -> bool:
        nonlocal calls
        calls += 1
        await asyncio.sleep(10)
        return True

    monitor = HealthMonitor(servicer, [], [DependencyCheck("database", hangs)], interval_s=0.01, probe_timeout_s=0.05)
    monitor.start()
    for _ in range(200):
        if monitor.failing:
            break
        await asyncio.sleep(0.01)
    await monitor.stop()
    assert monitor.failing == ("database",)
    assert calls >= 1
