"""Issue 12, item 8, end to end: a token cannot claim the anonymous tenant; a caller's audit id
cannot be reused (the server's own id is recorded, the caller's kept as correlation id); a flood
of calls without a token writes one audit row per source per window and no log line per call."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from healthai.errors import from_rpc_error
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc
from healthai_server.auth.tokens import mint_token

from tests.e2e.server import ServerProcess, running_server, wait_until

WINDOW_S = 1.0
Request = extraction_service_pb2.ExtractClinicalDataRequest


@pytest.fixture(scope="module")
def audited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("audit-abuse"), unauthenticated_audit_window_s=str(WINDOW_S)) as server:
        yield server


def token(server: ServerProcess, tenant: str) -> str:
    private = (server.state_dir / "dev" / "jwt-private.pem").read_bytes()
    return mint_token(
        private, subject="svc", tenant=tenant, roles=["clinician"], issuer="healthai-dev", audience="healthai"
    )


def query(server: ServerProcess, sql: str, *args: object) -> list[sqlite3.Row]:
    with sqlite3.connect(server.state_dir / "healthai.db") as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, args).fetchall()


def test_a_token_for_the_anonymous_tenant_is_refused(audited_server: ServerProcess) -> None:
    stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(grpc.insecure_channel(audited_server.addr))
    with pytest.raises(grpc.RpcError) as caught:
        stub.ExtractClinicalData(
            Request(text="HR 72"),
            metadata=(("authorization", f"Bearer {token(audited_server, '-')}"),),
            timeout=10,
        )
    error = from_rpc_error(caught.value)
    assert error.code == grpc.StatusCode.UNAUTHENTICATED and error.reason == "TOKEN_INVALID"


def test_a_reused_caller_audit_id_is_never_the_recorded_id(audited_server: ServerProcess) -> None:
    stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(grpc.insecure_channel(audited_server.addr))
    caller_id = str(uuid.uuid4())
    recorded = []
    for tenant in ("hosp-a", "hosp-a", "hosp-b"):
        response, call = stub.ExtractClinicalData.with_call(
            Request(text="HR 72"),
            metadata=(("authorization", f"Bearer {token(audited_server, tenant)}"), ("x-audit-id", caller_id)),
            timeout=10,
        )
        assert dict(call.initial_metadata())["x-audit-id"] == response.audit_id  # the id actually recorded
        assert dict(call.trailing_metadata())["x-audit-id"] == response.audit_id
        recorded.append((tenant, response.audit_id))
    assert len({audit_id for _, audit_id in recorded}) == 3 and caller_id not in {a for _, a in recorded}
    for tenant, audit_id in recorded:
        (row,) = query(audited_server, "SELECT * FROM audit_events WHERE audit_id = ?", audit_id)
        assert row["tenant"] == tenant and json.loads(row["details"])["correlation_id"] == caller_id
    assert not query(audited_server, "SELECT * FROM audit_events WHERE audit_id = ?", caller_id)


async def test_a_flood_without_a_token_is_audited_as_counts_not_rows(audited_server: ServerProcess) -> None:
    await asyncio.sleep(2.5 * WINDOW_S)  # refusals of earlier tests are written with their window
    before = len(query(audited_server, "SELECT id FROM audit_events WHERE tenant = '-'"))
    log_lines_before = len(audited_server.log_lines)
    calls = 1000
    told: set[str] = set()
    async with aio.insecure_channel(audited_server.addr) as channel:
        stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)

        async def no_token() -> None:
            with pytest.raises(aio.AioRpcError) as caught:
                await stub.ExtractClinicalData(Request(text="HR 72"), timeout=30)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            trailers = dict(caught.value.trailing_metadata() or ())
            status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
            info = error_details_pb2.ErrorInfo()
            assert status.details[0].Unpack(info)
            assert info.metadata["audit_id"] == trailers["x-audit-id"]  # one id, wherever it is read
            told.add(str(trailers["x-audit-id"]))

        for _ in range(calls // 50):
            await asyncio.gather(*(no_token() for _ in range(50)))

    def recorded() -> list[sqlite3.Row]:
        return query(audited_server, "SELECT * FROM audit_events WHERE tenant = '-' ORDER BY id")[before:]

    assert wait_until(lambda: sum(json.loads(row["details"])["count"] for row in recorded()) >= calls, 10)
    rows = recorded()
    assert sum(json.loads(row["details"])["count"] for row in rows) == calls  # every refusal is counted
    assert len(rows) <= 30, "one row per source per window, not one per call"
    assert told == {row["audit_id"] for row in rows}  # every id a caller was told is in the trail
    new_lines = [json.loads(line) for line in audited_server.log_lines[log_lines_before:] if line.startswith("{")]
    assert not [line for line in new_lines if line.get("msg") == "rpc" and line.get("code") == "UNAUTHENTICATED"]
    assert 1 <= len([line for line in new_lines if line.get("msg") == "unauthenticated calls refused"]) <= len(rows)
    verify = audited_server.healthai_server("audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
