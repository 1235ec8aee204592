"""Issue 12, item 2: calls that send their headers and never their message must not starve
real callers. 200 such calls over 20 connections, without a token or with one, and an
authenticated caller of another tenant still gets answers; health stays SERVING on both ports.
(Calls without a valid token are now refused when their headers arrive; those with a valid
token are held until the message timeout, uncounted by admission.)

Timing is not asserted (a shared two-core machine makes percentiles flaky): the p99 is
measured by bench/bench_stall.py."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from grpc import aio
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc
from healthai_server.auth.tokens import mint_token

from tests.e2e.server import ServerProcess, running_server
from tests.e2e.stalling import StalledCalls, free_port, health_status

STALLED_CALLS = 200
CONNECTIONS = 20
CALLS_BY_THE_REAL_CALLER = 40


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, int]]:
    """Default limits (two engine workers: 16 admitted calls), with the kubelet probe port."""
    probe_port = free_port()
    with running_server(tmp_path_factory.mktemp("stall"), probe_port=str(probe_port)) as server:
        yield server, probe_port


def tenant_token(server: ServerProcess, tenant: str) -> str:
    private = (Path(server.state_dir) / "dev" / "jwt-private.pem").read_bytes()
    return mint_token(
        private,
        subject=f"svc-{tenant}",
        tenant=tenant,
        roles=["clinician"],
        issuer="healthai-dev",
        audience="healthai",
    )


async def real_caller(addr: str, token: str) -> Counter[str]:
    codes: Counter[str] = Counter()
    request = extraction_service_pb2.ExtractClinicalDataRequest(text="BP 142/91, HR 78. Hypertension.")
    async with aio.insecure_channel(addr) as channel:
        stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
        for _ in range(CALLS_BY_THE_REAL_CALLER):
            try:
                await stub.ExtractClinicalData(request, metadata=(("authorization", f"Bearer {token}"),), timeout=10)
                codes["OK"] += 1
            except aio.AioRpcError as error:
                codes[error.code().name] += 1
    return codes


@pytest.mark.parametrize("attacker", ["no-token", "bad-token", "valid-token"])
async def test_stalled_calls_do_not_starve_an_authenticated_caller(
    guarded_server: tuple[ServerProcess, int], attacker: str
) -> None:
    server, probe_port = guarded_server
    metadata = {
        "no-token": (),
        "bad-token": (("authorization", "Bearer not-a-jwt"),),
        "valid-token": (("authorization", f"Bearer {tenant_token(server, 'hosp-stall')}"),),
    }[attacker]
    stalled = await StalledCalls(server.addr, STALLED_CALLS, CONNECTIONS, metadata=metadata).open()
    try:
        await asyncio.sleep(0.5)  # every stalled call has reached the server
        codes = await real_caller(server.addr, tenant_token(server, "hosp-real"))
        main_health = await health_status(server.addr)
        probe_health = await health_status(f"127.0.0.1:{probe_port}")
    finally:
        await stalled.close()
    assert codes == Counter({"OK": CALLS_BY_THE_REAL_CALLER})
    assert main_health == "SERVING"
    assert probe_health == "SERVING"
