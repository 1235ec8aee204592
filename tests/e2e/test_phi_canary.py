"""Canary PHI through every RPC, on success and on every failure path: captured logs,
spans, metric exposition and error messages must contain none of it."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio
from healthai.v1 import (
    analysis_service_pb2,
    analysis_service_pb2_grpc,
    deidentification_service_pb2,
    deidentification_service_pb2_grpc,
    extraction_service_pb2,
    extraction_service_pb2_grpc,
)
from healthai_server.app import Application, build_application
from healthai_server.auth.dev import ensure_dev_credentials, mint_dev_token
from healthai_server.backends.base import BackendRequest, BackendResult
from healthai_server.config import load_settings
from healthai_server.domain.errors import BackendUnavailable
from healthai_server.observability.logging import configure_logging
from healthai_server.observability.metrics import Metrics
from healthai_server.workers import CpuWorkers
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

CANARIES = ("Xanthippe Vorkosigan", "MRN 88217364", "555-867-5309", "canary@example.org", "04/17/1962")
NOTE = (
    f"Patient: {CANARIES[0]}, {CANARIES[1]}, DOB {CANARIES[4]}. Phone {CANARIES[2]}, email {CANARIES[3]}.\n"
    "HPI: chest pain and shortness of breath. BP 150/95, HR 104. Lisinopril 10 mg PO daily.\n"
)


class ScriptedBackend:
    """A backend whose behaviour the test picks per note: the real engine path is covered
    by the other e2e tests; this one needs failures on demand."""

    def __init__(self, workers: CpuWorkers) -> None:
        self._workers = workers

    @property
    def name(self) -> str:
        return "local"

    async def extract(self, request: BackendRequest) -> BackendResult:
        from healthai_server.domain.provenance import Provenance

        if "[backend-down]" in request.text:
            raise BackendUnavailable("no backend could serve the request", retry_after_s=2)
        if "[crash]" in request.text:
            raise ValueError(f"parser failed near {request.text[:80]}")
        if "[slow]" in request.text:
            await asyncio.sleep(5)
        data = await self._workers.extract(request.text, request.options, request.deadline)
        return BackendResult(data=data, provenance=Provenance(backend="local", model="test"))

    async def close(self) -> None:
        return None


@dataclass
class Harness:
    app: Application
    channel: aio.Channel
    logs: io.StringIO
    spans: InMemorySpanExporter
    metrics: Metrics
    token: str


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    logs = io.StringIO()
    configure_logging("DEBUG", logs)
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    settings = load_settings({}, state_dir=tmp_path, listen_addr="127.0.0.1:0", engine_workers=-1, plaintext=True)
    ensure_dev_credentials(settings)
    workers = CpuWorkers(-1, (tmp_path / "dev" / "deid.key").read_bytes())
    metrics = Metrics(CollectorRegistry(), tenants=["dev"])
    app = await build_application(
        settings, workers=workers, metrics=metrics, backend=ScriptedBackend(workers), tracer=provider.get_tracer("test")
    )
    token = mint_dev_token(settings, subject="svc", tenant="dev", roles=["admin"], ttl_s=600)
    channel = aio.insecure_channel(f"127.0.0.1:{app.port}")
    yield Harness(app, channel, logs, spans, metrics, token)
    await channel.close()
    await app.stop(0)
    logging.getLogger().handlers.clear()


async def _call(harness: Harness, rpc: Any, request: Any, token: str | None = None, timeout: float = 10) -> str:
    """Make the call; return everything the caller saw (response or error, with metadata)."""
    metadata = (("authorization", f"Bearer {token if token is not None else harness.token}"),)
    try:
        call = rpc(request, metadata=metadata, timeout=timeout)
        response = await call
        return str(response) + str(await call.initial_metadata()) + str(await call.trailing_metadata())
    except aio.AioRpcError as error:
        return f"{error.code()} {error.details()} {error.debug_error_string()} {error.trailing_metadata()}"


def _leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


async def test_no_canary_in_logs_spans_metrics_or_errors(harness: Harness) -> None:
    extract = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(harness.channel).ExtractClinicalData
    analyze = analysis_service_pb2_grpc.NoteAnalysisServiceStub(harness.channel).AnalyzeNote
    deid = deidentification_service_pb2_grpc.DeidentificationServiceStub(harness.channel).DeidentifyNote
    extract_request = extraction_service_pb2.ExtractClinicalDataRequest
    failures = {
        "invalid input": await _call(harness, extract, extract_request(note_id="bad id", text=NOTE)),
        "too long": await _call(harness, extract, extract_request(text=NOTE * 2000)),
        "auth failure": await _call(harness, extract, extract_request(text=NOTE), token="garbage"),
        "backend failure": await _call(harness, extract, extract_request(text=NOTE + "[backend-down]")),
        "internal error": await _call(harness, extract, extract_request(text=NOTE + "[crash]")),
        "timeout": await _call(harness, extract, extract_request(text=NOTE + "[slow]"), timeout=0.3),
        "deid bad mode": await _call(harness, deid, deidentification_service_pb2.DeidentifyNoteRequest(text=NOTE)),
    }
    successes = {
        "extract": await _call(
            harness,
            extract,
            extract_request(text=NOTE, options=extraction_service_pb2.ExtractionOptions(include_fhir=True)),
        ),
        "analyze": await _call(harness, analyze, analysis_service_pb2.AnalyzeNoteRequest(text=NOTE)),
        "deid": await _call(
            harness,
            deid,
            deidentification_service_pb2.DeidentifyNoteRequest(
                text=NOTE, mode=deidentification_service_pb2.DEIDENTIFICATION_MODE_REDACT
            ),
        ),
    }
    assert "INVALID_ARGUMENT" in failures["invalid input"] and "INVALID_ARGUMENT" in failures["too long"]
    assert "UNAUTHENTICATED" in failures["auth failure"]
    assert "UNAVAILABLE" in failures["backend failure"] and "INTERNAL" in failures["internal error"]
    assert "DEADLINE_EXCEEDED" in failures["timeout"]
    for name, seen in failures.items():
        assert _leaks(seen) == [], f"{name}: the error the caller saw quotes PHI"
    assert _leaks(successes["deid"].split("findings")[0].split("deidentified_text")[1]) == []
    await asyncio.sleep(0.1)  # let the access log of the timed-out call land
    log_text = harness.logs.getvalue()
    assert "unexpected error" in log_text and '"rpc"' in log_text
    span_text = "".join(span.to_json() for span in harness.spans.get_finished_spans())
    assert len(harness.spans.get_finished_spans()) >= 10
    exposition = harness.metrics.render()
    assert "healthai_rpc_requests" in exposition
    for where, text in (("logs", log_text), ("spans", span_text), ("metrics", exposition)):
        assert _leaks(text) == [], f"PHI canary found in {where}"
    assert grpc.StatusCode.INTERNAL.name in exposition
