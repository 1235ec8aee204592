"""Metrics: the exposition text, bounded label values, the side HTTP server, multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pool
from healthai.v1 import (
    analysis_service_pb2,
    deidentification_service_pb2,
    extraction_service_pb2,
)
from healthai_server.domain.phi import PhiType
from healthai_server.observability.metrics import (
    KNOWN_METHODS,
    LATENCY_BUCKETS,
    MAX_TENANT_LABELS,
    OTHER,
    BreakerState,
    Metrics,
    start_metrics_server,
)
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

EXTRACT = "/healthai.v1.ClinicalExtractionService/ExtractClinicalData"
NOTE_TEXT = "Pt John Smith DOB 01/02/1950 c/o chest pain, SSN 123-45-6789"


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(
        CollectorRegistry(),
        tenants=["acme", "globex"],
        models=["claude-sonnet-4-5"],
        process_metrics=False,
    )


def _value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def _label_values(metrics: Metrics, family: str, label: str) -> set[str]:
    values: set[str] = set()
    for fam in text_string_to_metric_families(metrics.render()):
        if fam.name == family:
            values.update(s.labels[label] for s in fam.samples if label in s.labels)
    return values


def test_exposition_contains_every_series(metrics: Metrics) -> None:
    metrics.rpc_started(EXTRACT)
    metrics.observe_rpc(EXTRACT, grpc.StatusCode.OK, 0.012)
    metrics.observe_rpc(EXTRACT, "DEADLINE_EXCEEDED", 31.0)
    metrics.observe_backend("anthropic", "ok", 4.2)
    metrics.add_tokens("claude-sonnet-4-5", "input", 1200)
    metrics.add_tokens("claude-sonnet-4-5", "cache_read", 800)
    metrics.add_cost("acme", "claude-sonnet-4-5", 5400)
    metrics.set_breaker_state("anthropic", "half-open")
    metrics.record_fallback("breaker_open")
    metrics.record_grounding_drops("anthropic", 2)
    metrics.record_phi_findings(PhiType.SSN)
    metrics.record_phi_findings("date", 3)
    metrics.record_audit_write_failure()
    metrics.set_review_backlog(17)
    metrics.record_shed("tenant")
    metrics.set_budget_used_ratio("acme", 0.85)

    text = metrics.render()
    method = EXTRACT.lstrip("/")
    for line in (
        f'healthai_rpc_in_flight{{method="{method}"}} 1.0',
        f'healthai_rpc_requests_total{{code="OK",method="{method}"}} 1.0',
        f'healthai_rpc_requests_total{{code="DEADLINE_EXCEEDED",method="{method}"}} 1.0',
        f'healthai_rpc_duration_seconds_bucket{{le="0.025",method="{method}"}} 1.0',
        f'healthai_rpc_duration_seconds_bucket{{le="60.0",method="{method}"}} 2.0',
        'healthai_backend_requests_total{backend="anthropic",outcome="ok"} 1.0',
        'healthai_backend_duration_seconds_count{backend="anthropic"} 1.0',
        'healthai_llm_tokens_total{kind="input",model="claude-sonnet-4-5"} 1200.0',
        'healthai_llm_tokens_total{kind="cache_read",model="claude-sonnet-4-5"} 800.0',
        'healthai_llm_cost_microdollars_total{model="claude-sonnet-4-5",tenant="acme"} 5400.0',
        'healthai_breaker_state{backend="anthropic"} 1.0',
        'healthai_breaker_state{backend="local"} 0.0',
        'healthai_fallbacks_total{reason="breaker_open"} 1.0',
        'healthai_fallbacks_total{reason="timeout"} 0.0',
        'healthai_grounding_drops_total{backend="anthropic"} 2.0',
        'healthai_phi_findings_total{type="ssn"} 1.0',
        'healthai_phi_findings_total{type="date"} 3.0',
        "healthai_audit_write_failures_total 1.0",
        'healthai_queue_depth{queue="review"} 17.0',
        'healthai_shed_total{reason="tenant"} 1.0',
        'healthai_budget_used_ratio{tenant="acme"} 0.85',
    ):
        assert line in text, line

    metrics.rpc_finished(EXTRACT)
    assert _value(metrics, "healthai_rpc_in_flight", method=method) == 0.0


def test_unknown_tenant_is_other(metrics: Metrics) -> None:
    assert metrics.tenant_label("acme") == "acme"
    assert metrics.tenant_label("initech") == OTHER
    assert metrics.tenant_label(None) == OTHER
    assert metrics.tenant_label("") == OTHER
    metrics.add_cost("initech", "claude-sonnet-4-5", 10)
    metrics.add_cost("hooli", "claude-sonnet-4-5", 5)
    assert _value(metrics, "healthai_llm_cost_microdollars_total", tenant=OTHER, model="claude-sonnet-4-5") == 15.0
    assert _label_values(metrics, "healthai_llm_cost_microdollars", "tenant") == {OTHER}


def test_label_cardinality_is_bounded(metrics: Metrics) -> None:
    """Thousands of distinct inputs (including note text) never add more than one series per label."""
    for i in range(2000):
        junk = f"{NOTE_TEXT} #{i}"
        metrics.observe_rpc(f"/evil.Service/M{i}", f"CODE_{i}", 0.001)
        metrics.rpc_started(junk)
        metrics.observe_backend(junk, junk, 0.5)
        metrics.add_tokens(junk, junk, 1)
        metrics.add_cost(junk, junk, 1)
        metrics.set_breaker_state(junk, junk)
        metrics.record_fallback(junk)
        metrics.record_grounding_drops(junk)
        metrics.record_phi_findings(junk)
        metrics.set_queue_depth(junk, i)
        metrics.record_shed(junk)
        metrics.set_budget_used_ratio(junk, 0.1)

    assert _label_values(metrics, "healthai_rpc_requests", "method") == {OTHER}
    assert _label_values(metrics, "healthai_rpc_requests", "code") == {"UNKNOWN"}
    assert _label_values(metrics, "healthai_rpc_in_flight", "method") == {m.lstrip("/") for m in KNOWN_METHODS} | {
        OTHER
    }
    assert _label_values(metrics, "healthai_backend_requests", "outcome") == {OTHER}
    assert _label_values(metrics, "healthai_llm_tokens", "kind") == {OTHER}
    assert _label_values(metrics, "healthai_llm_tokens", "model") == {OTHER}
    assert _label_values(metrics, "healthai_breaker_state", "backend") == {"local", "anthropic", OTHER}
    assert _label_values(metrics, "healthai_phi_findings", "type") == {OTHER}
    assert _label_values(metrics, "healthai_budget_used_ratio", "tenant") == {OTHER}
    assert "John Smith" not in metrics.render()
    assert "123-45-6789" not in metrics.render()
    series = [s for fam in text_string_to_metric_families(metrics.render()) for s in fam.samples]
    assert len(series) < 1000


def test_status_codes_are_grpc_names(metrics: Metrics) -> None:
    for code in grpc.StatusCode:
        metrics.observe_rpc(EXTRACT, code, 0.001)
    assert _label_values(metrics, "healthai_rpc_requests", "code") == {c.name for c in grpc.StatusCode}


def test_breaker_state_values(metrics: Metrics) -> None:
    for state, expected in (("closed", 0.0), ("half-open", 1.0), ("open", 2.0), (BreakerState.HALF_OPEN, 1.0)):
        metrics.set_breaker_state("anthropic", state)
        assert _value(metrics, "healthai_breaker_state", backend="anthropic") == expected


def test_known_methods_cover_every_rpc_in_the_contract() -> None:
    pool = descriptor_pool.Default()
    files = (extraction_service_pb2, analysis_service_pb2, deidentification_service_pb2)
    contract = {
        f"{service.full_name}/{method.name}"
        for module in files
        for service in pool.FindFileByName(module.DESCRIPTOR.name).services_by_name.values()
        for method in service.methods
    }
    assert contract
    assert contract <= KNOWN_METHODS


def test_latency_buckets_span_milliseconds_to_a_minute() -> None:
    assert LATENCY_BUCKETS[0] == 0.001
    assert LATENCY_BUCKETS[-1] == 60.0
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)


def test_too_many_tenants_is_refused() -> None:
    with pytest.raises(ValueError, match="cardinality"):
        Metrics(CollectorRegistry(), tenants=[f"t{i}" for i in range(MAX_TENANT_LABELS + 1)])


def test_separate_registries_do_not_collide() -> None:
    first = Metrics(CollectorRegistry(), process_metrics=False)
    second = Metrics(CollectorRegistry(), process_metrics=True)
    first.record_audit_write_failure()
    assert second.registry.get_sample_value("healthai_audit_write_failures_total") == 0.0
    assert "process_cpu_seconds_total" in second.render()


def test_side_http_server_serves_metrics(metrics: Metrics) -> None:
    metrics.observe_rpc(EXTRACT, "OK", 0.002)
    server = start_metrics_server(metrics, 0, "127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as response:
            body = response.read().decode()
            assert response.status == 200
    finally:
        server.close()
    assert "healthai_rpc_requests_total" in body


_MULTIPROCESS_CHILD = textwrap.dedent(
    """
    from prometheus_client import CollectorRegistry
    from healthai_server.observability.metrics import Metrics
    m = Metrics(CollectorRegistry())
    m.observe_rpc("/healthai.v1.NoteAnalysisService/AnalyzeNote", "OK", 0.01)
    m.rpc_started("/healthai.v1.NoteAnalysisService/AnalyzeNote")
    print(m.render())
    """
)


def test_multiprocess_mode_aggregates_processes(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set before start-up, /metrics sums every process."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", _MULTIPROCESS_CHILD], env=env, capture_output=True, text=True, check=True, timeout=60
        ).stdout
        for _ in range(2)
    ]
    assert any(tmp_path.iterdir())
    method = "healthai.v1.NoteAnalysisService/AnalyzeNote"
    assert f'healthai_rpc_requests_total{{code="OK",method="{method}"}} 2.0' in outputs[-1]
    # In-flight is a "livesum" gauge: an exited process still counts until the supervisor
    # calls mark_process_dead(pid) for it, which is why that call is its duty.
    assert f'healthai_rpc_in_flight{{method="{method}"}} 2.0' in outputs[-1]
