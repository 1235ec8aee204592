"""The interceptor chain on a real in-process grpc.aio server with a misbehaving servicer."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from grpc import aio
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc
from healthai_server.auth.principal import Principal
from healthai_server.domain.errors import QuotaExhausted
from healthai_server.interceptors.access_log import AccessLogInterceptor
from healthai_server.interceptors.audit_id import AuditIdInterceptor
from healthai_server.interceptors.audit_trail import AuditTrailInterceptor
from healthai_server.interceptors.chain import CallInfo, ChainInterceptor, Handler, Interceptor
from healthai_server.interceptors.errors import ErrorMappingInterceptor
from healthai_server.interceptors.validation import ValidationInterceptor
from healthai_server.observability.logging import configure_logging
from healthai_server.scope import current_scope
from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditRepository
from healthai_server.storage.audit_keys import ChainKey, ChainKeyring
from healthai_server.storage.db import Database
from healthai_server.storage.schema import audit_events
from healthai_server.validation_rules import RequestValidator

CANARY = "Zebulon Quartermaine 555-01-9876"


class Misbehaving(extraction_service_pb2_grpc.ClinicalExtractionServiceServicer):
    async def ExtractClinicalData(self, request: Any, context: Any) -> Any:
        if "slow" in request.text:  # finishes well after the caller's deadline
            await asyncio.sleep(0.6)
            return extraction_service_pb2.ExtractClinicalDataResponse()
        if "quota" in request.text:
            raise QuotaExhausted("monthly budget exhausted", subject="tenant:t1", description="monthly LLM budget")
        raise RuntimeError(f"engine choked on {request.text}")

    def StreamExtractClinicalData(self, request_iterator: Any, context: Any) -> Any:
        raise NotImplementedError


class FixedPrincipal:
    async def intercept(self, call: CallInfo, request: Any, context: Any, proceed: Handler) -> Any:
        current_scope().principal = Principal("svc", "t1", frozenset({"clinician"}))
        return await proceed(request, context)


@contextlib.asynccontextmanager
async def _chain_on(database_url: str) -> AsyncIterator[tuple[Any, AuditRepository, io.StringIO]]:
    """The chain on a real in-process server over a real database; logs captured."""
    logs = io.StringIO()
    configure_logging("INFO", logs)
    db = Database(database_url)
    migrate.upgrade(db.engine)
    audit = AuditRepository(db, ChainKeyring(ChainKey.from_secret(b"k" * 32)))
    chain: list[Interceptor] = [
        AuditIdInterceptor(),
        AccessLogInterceptor(),
        ErrorMappingInterceptor(),
        AuditTrailInterceptor(audit),
        FixedPrincipal(),
        ValidationInterceptor(RequestValidator(1000)),
    ]
    server = aio.server(interceptors=[ChainInterceptor(chain)])
    extraction_service_pb2_grpc.add_ClinicalExtractionServiceServicer_to_server(Misbehaving(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel), audit, logs
    finally:
        await channel.close()
        await server.stop(None)
        db.close()
        logging.getLogger().handlers.clear()


@pytest.fixture
async def stub(tmp_path: Path) -> AsyncIterator[tuple[Any, AuditRepository, io.StringIO]]:
    async with _chain_on(f"sqlite:///{tmp_path}/a.db") as served:
        yield served


async def test_unexpected_error_is_internal_with_only_the_audit_id(stub: Any) -> None:
    client, audit, logs = stub
    call = client.ExtractClinicalData(extraction_service_pb2.ExtractClinicalDataRequest(text=CANARY))
    with pytest.raises(aio.AioRpcError) as caught:
        await call
    error = caught.value
    audit_id = dict(error.trailing_metadata())["x-audit-id"]
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == f"internal error; quote audit id {audit_id} to the operators"
    assert CANARY not in str(error.trailing_metadata())
    events = await audit.find("t1", audit_id)
    assert [e["status_code"] for e in events] == ["INTERNAL"]
    log_text = logs.getvalue()
    assert audit_id in log_text and "RuntimeError" in log_text
    assert "Zebulon" not in log_text and "555-01" not in log_text


async def test_domain_error_keeps_trailers_and_adds_typed_details(stub: Any) -> None:
    from google.rpc import status_pb2

    client, _audit, _logs = stub
    with pytest.raises(aio.AioRpcError) as caught:
        await client.ExtractClinicalData(extraction_service_pb2.ExtractClinicalDataRequest(text="over quota"))
    error = caught.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(error.trailing_metadata())
    assert "x-audit-id" in trailers and "grpc-status-details-bin" in trailers
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    kinds = {detail.type_url.rsplit(".", 1)[-1] for detail in status.details}
    assert kinds == {"ErrorInfo", "QuotaFailure"}


@pytest.fixture
async def stub_on(database_url: str) -> AsyncIterator[tuple[Any, AuditRepository, io.StringIO]]:
    """The chain over a real database of each engine (SQLite, PostgreSQL)."""
    async with _chain_on(database_url) as served:
        yield served


async def test_a_missing_audit_table_never_replaces_the_callers_real_status(stub_on: Any) -> None:
    """Issue 12.7: with the audit table gone (a migration not applied; PostgreSQL raises
    ProgrammingError, not OperationalError), the write error became the call's status."""
    client, audit, logs = stub_on
    with audit._db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE audit_events")
    with pytest.raises(aio.AioRpcError) as caught:
        await client.ExtractClinicalData(extraction_service_pb2.ExtractClinicalDataRequest(text="over quota"))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # the call's own failure
    assert "audit write failed" in logs.getvalue()


async def test_a_call_past_its_deadline_is_audited_as_the_client_saw_it(stub: Any) -> None:
    """Issue 12 item 5: the client got DEADLINE_EXCEEDED, so the audit must not say otherwise."""
    client, audit, _logs = stub
    audit_id = str(uuid.uuid4())
    with pytest.raises(aio.AioRpcError) as caught:
        await client.ExtractClinicalData(
            extraction_service_pb2.ExtractClinicalDataRequest(text="slow note"),
            timeout=0.2,
            metadata=(("x-audit-id", audit_id),),
        )
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    def correlated() -> list[str]:
        # The audit id is the server's own; the caller's id is kept as the correlation id.
        with audit._db.engine.connect() as conn:
            rows = conn.execute(sa.select(audit_events.c.status_code, audit_events.c.details)).all()
        return [code for code, details in rows if json.loads(details).get("correlation_id") == audit_id]

    for _ in range(50):
        if correlated():
            break
        await asyncio.sleep(0.05)
    assert correlated() == ["DEADLINE_EXCEEDED"]
