"""The admission gate and the per-tenant limit refuse past their caps with Overloaded (RetryInfo
in its status); health is never gated; the per-tenant limit defaults to a fair share."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from healthai_server.auth.principal import Principal
from healthai_server.domain.errors import Overloaded
from healthai_server.interceptors.chain import CallInfo
from healthai_server.interceptors.load_shed import (
    RETRY_AFTER_S,
    AdmissionGate,
    TenantLoadShedInterceptor,
    per_tenant_limit,
)
from healthai_server.scope import RequestScope, set_scope

EXTRACT = CallInfo("/healthai.v1.ClinicalExtractionService/ExtractClinicalData", False, False)
HEALTH = CallInfo("/grpc.health.v1.Health/Check", False, False)
CONTEXT: Any = object()


async def test_past_the_cap_calls_are_refused_without_running_the_rest() -> None:
    shed: list[str] = []
    gate = AdmissionGate(max_in_flight=2, on_shed=shed.append)
    release = asyncio.Event()
    ran = 0

    async def rest(request: Any, context: Any) -> str:
        nonlocal ran
        ran += 1
        await release.wait()
        return "done"

    running = [asyncio.ensure_future(gate.intercept(EXTRACT, None, CONTEXT, rest)) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(Overloaded) as caught:
        await gate.intercept(EXTRACT, None, CONTEXT, rest)
    assert ran == 2 and shed == ["server"] and gate.in_flight == 2
    assert caught.value.retry_after_s == RETRY_AFTER_S
    release.set()
    assert await asyncio.gather(*running) == ["done", "done"]
    assert gate.in_flight == 0
    assert await gate.intercept(EXTRACT, None, CONTEXT, rest) == "done"  # capacity is back


async def test_health_is_never_gated() -> None:
    gate = AdmissionGate(max_in_flight=0)

    async def rest(request: Any, context: Any) -> str:
        return "SERVING"

    assert await gate.intercept(HEALTH, None, CONTEXT, rest) == "SERVING"


@pytest.mark.parametrize(
    ("configured", "overall", "expected"),
    [(0, 16, 8), (0, 1, 1), (0, 3, 1), (4, 16, 4), (32, 16, 16)],
)
def test_the_per_tenant_limit_defaults_to_a_fair_share_below_the_overall_one(
    configured: int, overall: int, expected: int
) -> None:
    assert per_tenant_limit(configured, overall) == expected


async def test_one_tenant_at_its_share_leaves_room_for_another() -> None:
    shed: list[str] = []
    limit = TenantLoadShedInterceptor(per_tenant_limit(0, 4), on_shed=shed.append)
    release = asyncio.Event()

    async def rest(request: Any, context: Any) -> str:
        await release.wait()
        return "done"

    async def call_as(tenant: str) -> str:
        set_scope(RequestScope(audit_id="a", method=EXTRACT.method, principal=Principal("s", tenant, frozenset())))
        return str(await limit.intercept(EXTRACT, None, CONTEXT, rest))

    held = [asyncio.ensure_future(call_as("greedy")) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(Overloaded):
        await call_as("greedy")
    other = asyncio.ensure_future(call_as("other"))
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*held, other) == ["done"] * 3
    assert shed == ["tenant"]
