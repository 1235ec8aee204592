"""Traces: the server exports OTLP to a receiver on loopback started here; the caller's W3C
context is continued and the span tree has the pipeline stages and the database write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.e2e.server import ServerProcess, running_server

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN_ID = "b7ad6b7169203331"
NOTE = "Patient Zebulon Quartermaine. BP 150/95, HR 104. Lisinopril 10 mg PO daily. Denies chest pain."


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[Any] = []

    def Export(self, request: Any, context: Any) -> Any:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, int]]:
    servicer = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, port
    finally:
        server.stop(None)


@pytest.fixture(scope="module")
def traced_server(receiver: tuple[Receiver, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    _servicer, port = receiver
    otel = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "healthai-test",
    }
    with running_server(tmp_path_factory.mktemp("traced"), otel) as process:
        yield process


def test_span_tree_continues_the_callers_trace_without_text(
    receiver: tuple[Receiver, int], traced_server: ServerProcess
) -> None:
    servicer, _port = receiver
    channel = grpc.insecure_channel(traced_server.addr)
    stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
    response = stub.ExtractClinicalData(
        extraction_service_pb2.ExtractClinicalDataRequest(text=NOTE),
        metadata=(
            ("authorization", f"Bearer {traced_server.dev_token}"),
            ("traceparent", f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"),
        ),
        timeout=30,
    )
    channel.close()
    deadline = time.monotonic() + 15
    ours: list[Any] = []
    while time.monotonic() < deadline:
        ours = [s for s in servicer.spans if s.trace_id.hex() == TRACE_ID]
        if {s.name for s in ours} >= {"healthai.v1.ClinicalExtractionService/ExtractClinicalData", "db.audit_append"}:
            break
        time.sleep(0.1)
    by_name = {s.name: s for s in ours}
    root = by_name["healthai.v1.ClinicalExtractionService/ExtractClinicalData"]
    assert root.parent_span_id.hex() == CALLER_SPAN_ID
    attributes = {a.key: a.value.string_value for a in root.attributes}
    assert attributes["healthai.audit_id"] == response.audit_id
    assert attributes["healthai.tenant"] == "dev"
    assert attributes["rpc.grpc.status_code"] == "OK"
    assert by_name["pipeline.backend"].parent_span_id == root.span_id
    assert by_name["engine.extract"].parent_span_id == by_name["pipeline.backend"].span_id
    assert by_name["db.audit_append"].parent_span_id == root.span_id
    everything = "".join(str(span) for span in ours)
    assert "Zebulon" not in everything and "Lisinopril" not in everything
