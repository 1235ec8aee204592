"""The console's metrics: bounded labels, and the same side /metrics server as the service."""

from __future__ import annotations

import urllib.request

import grpc
from healthai_server.observability.console_metrics import ConsoleMetrics, status_class
from healthai_server.observability.metrics import OTHER, start_metrics_server
from prometheus_client import CollectorRegistry


def metrics() -> ConsoleMetrics:
    return ConsoleMetrics(CollectorRegistry(), routes={"/", "/login"}, process_metrics=False)


def test_labels_come_from_closed_sets() -> None:
    m = metrics()
    m.observe_request("/tenants/acme/reviewTasks/123", 200, 0.01)  # a path, not a template
    m.observe_request(None, 404, 0.001)
    m.observe_request("/", 599, 0.2)
    m.record_decisions({"accept": 2, "maybe": 1, "reject": 0})
    m.record_upstream_error("GetReviewTask", grpc.StatusCode.UNAVAILABLE)
    m.record_upstream_error("DropTables", "NOT_A_CODE")
    m.record_sign_in("hacked")
    m.record_sign_out("signed_out")
    get = m.registry.get_sample_value
    assert get("healthai_console_requests_total", {"route": OTHER, "status_class": "2xx"}) == 1
    assert get("healthai_console_requests_total", {"route": OTHER, "status_class": "4xx"}) == 1
    assert get("healthai_console_requests_total", {"route": "/", "status_class": "5xx"}) == 1
    assert get("healthai_console_decisions_total", {"kind": "accept"}) == 2
    assert get("healthai_console_decisions_total", {"kind": OTHER}) == 1
    assert get("healthai_console_decisions_total", {"kind": "reject"}) == 0  # exported from the start
    assert get("healthai_console_upstream_errors_total", {"method": "GetReviewTask", "code": "UNAVAILABLE"}) == 1
    assert get("healthai_console_upstream_errors_total", {"method": OTHER, "code": OTHER}) == 1
    assert get("healthai_console_sign_ins_total", {"outcome": OTHER}) == 1
    assert "/tenants/acme" not in m.render()
    assert [status_class(s) for s in (101, 204, 303, 403, 502, 700)] == ["1xx", "2xx", "3xx", "4xx", "5xx", OTHER]


def test_served_by_the_side_metrics_server() -> None:
    m = metrics()
    m.set_active_sign_ins(3)
    server = start_metrics_server(m, 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        server.close()
    assert "healthai_console_active_sign_ins 3.0" in text
