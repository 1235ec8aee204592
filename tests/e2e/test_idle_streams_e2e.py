"""Issue 12, item 3: one tenant's idle StreamExtractClinicalData calls cannot lock out another
tenant. 16 streams of one ordinary token each send a note and then go quiet; another tenant
still gets answers (the per-tenant limit defaults to half the overall one), and every idle
stream ends with DEADLINE_EXCEEDED after the stream idle timeout, audited as such."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from grpc import aio
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc
from healthai_server.auth.tokens import mint_token

from tests.e2e.server import ServerProcess, running_server

IDLE_STREAMS = 16  # the overall limit with two engine workers (8 per worker)
IDLE_TIMEOUT_S = 3.0
STREAM_METHOD = "/healthai.v1.ClinicalExtractionService/StreamExtractClinicalData"


def token(server: ServerProcess, tenant: str) -> str:
    private = (server.state_dir / "dev" / "jwt-private.pem").read_bytes()
    return mint_token(
        private, subject=f"svc-{tenant}", tenant=tenant, roles=["clinician"], issuer="healthai-dev", audience="healthai"
    )


async def one_note_then_quiet(
    stop: asyncio.Event,
) -> AsyncIterator[extraction_service_pb2.StreamExtractClinicalDataRequest]:
    yield extraction_service_pb2.StreamExtractClinicalDataRequest(note_id="n-1", text="HR 72, BP 118/76.")
    await stop.wait()


async def idle_stream(
    stub: extraction_service_pb2_grpc.ClinicalExtractionServiceAsyncStub,
    metadata: tuple[tuple[str, str], ...],
    stop: asyncio.Event,
) -> tuple[str, int, str]:
    """(final status, responses received, the stream's audit id)."""
    call = stub.StreamExtractClinicalData(one_note_then_quiet(stop), metadata=metadata, timeout=60)
    responses = 0
    try:
        async for _ in call:
            responses += 1
        code = (await call.code()).name
    except aio.AioRpcError as error:
        code = error.code().name
    audit_id = dict(await call.trailing_metadata() or ()).get("x-audit-id", "")
    return code, responses, str(audit_id)


def stream_rows(state_dir: Path, tenant: str) -> Counter[str]:
    with sqlite3.connect(state_dir / "healthai.db") as conn:
        rows = conn.execute(
            "SELECT status_code FROM audit_events WHERE tenant = ? AND method = ?", (tenant, STREAM_METHOD)
        ).fetchall()
    return Counter(str(row[0]) for row in rows)


async def test_idle_streams_of_one_tenant_cannot_lock_out_another(tmp_path: Path) -> None:
    with running_server(tmp_path / "state", stream_idle_timeout_s=str(IDLE_TIMEOUT_S)) as server:
        greedy = (("authorization", f"Bearer {token(server, 'hosp-greedy')}"),)
        polite = (("authorization", f"Bearer {token(server, 'hosp-polite')}"),)
        stop = asyncio.Event()
        async with aio.insecure_channel(server.addr) as channel:
            stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
            started = time.monotonic()
            streams = [asyncio.create_task(idle_stream(stub, greedy, stop)) for _ in range(IDLE_STREAMS)]
            await asyncio.sleep(1.0)  # every stream has sent its note and is now quiet
            codes: Counter[str] = Counter()
            for _ in range(20):
                try:
                    await stub.ExtractClinicalData(
                        extraction_service_pb2.ExtractClinicalDataRequest(text="Hypertension."),
                        metadata=polite,
                        timeout=10,
                    )
                    codes["OK"] += 1
                except aio.AioRpcError as error:
                    codes[error.code().name] += 1
            done, pending = await asyncio.wait(streams, timeout=IDLE_TIMEOUT_S + 20)
            ended_after = time.monotonic() - started
            stop.set()
            for task in pending:
                task.cancel()
        assert codes == Counter({"OK": 20}), "the other tenant was locked out"
        assert not pending, "idle streams were never ended"
        outcomes = Counter((code, responses) for code, responses, _ in (task.result() for task in done))
        # Half the overall limit is the tenant's share: those streams got their answer and then
        # timed out; the rest were refused at once with RetryInfo.
        assert outcomes == Counter(
            {
                (grpc.StatusCode.DEADLINE_EXCEEDED.name, 1): IDLE_STREAMS // 2,
                (grpc.StatusCode.RESOURCE_EXHAUSTED.name, 0): IDLE_STREAMS // 2,
            }
        )
        assert ended_after >= IDLE_TIMEOUT_S
        rows = stream_rows(server.state_dir, "hosp-greedy")
        assert rows["DEADLINE_EXCEEDED"] == IDLE_STREAMS // 2
        assert rows["RESOURCE_EXHAUSTED"] == IDLE_STREAMS // 2
