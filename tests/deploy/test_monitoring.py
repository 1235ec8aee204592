"""The Grafana dashboard and the Prometheus alert rules against the metrics the code exports.

promtool (Debian's `prometheus` package) checks the rule file, runs its unit tests and
lints the exposition text; without promtool these tests skip locally and fail under CI.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from typing import Any

import pytest
from healthai_server.domain.phi import PhiType
from healthai_server.observability.console_metrics import ConsoleMetrics
from healthai_server.observability.metrics import Metrics
from prometheus_client import CollectorRegistry

from tests.deploy.tools import MONITORING, REPO, load_yaml_documents, require_tool, run

DASHBOARD = MONITORING / "grafana" / "healthai-dashboard.json"
ALERTS = MONITORING / "prometheus" / "healthai-alerts.yaml"
ALERT_TESTS = REPO / "tests" / "deploy" / "promtool" / "healthai-alerts.test.yaml"
# Labels Prometheus adds at scrape time (target labels) or that histograms carry.
SCRAPE_LABELS = frozenset({"namespace", "pod", "job", "instance", "service", "container", "endpoint", "le"})
METRIC = re.compile(r"\b(healthai_[a-z0-9_]+)\b")
SELECTOR = re.compile(r"\b(healthai_[a-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def _exercised_metrics() -> Metrics:
    """A Metrics with every series present, so each family shows its label names."""
    m = Metrics(CollectorRegistry(), tenants=["acme"], models=["claude-sonnet-4-5"], process_metrics=False)
    m.observe_rpc("/healthai.v1.NoteAnalysisService/AnalyzeNote", "OK", 0.1)
    m.rpc_started("/healthai.v1.NoteAnalysisService/AnalyzeNote")
    m.observe_backend("local", "ok", 0.01)
    m.add_tokens("claude-sonnet-4-5", "input", 1)
    m.add_cost("acme", "claude-sonnet-4-5", 1)
    m.set_breaker_state("anthropic", "open")
    m.record_fallback("timeout")
    m.record_grounding_drops("anthropic")
    m.record_phi_findings(PhiType.DATE)
    m.record_audit_write_failure()
    m.set_review_backlog(1, 60.0)
    m.record_review_routed(["low_confidence"])
    m.record_review_decisions("local", "v1", [("medication", "correct")], 120.0)
    m.record_shed("server")
    m.set_budget_used_ratio("acme", 0.5)
    return m


def _exercised_console_metrics() -> ConsoleMetrics:
    """The review console's metrics (a process of its own), every series present."""
    m = ConsoleMetrics(CollectorRegistry(), routes=["/"], process_metrics=False)
    m.observe_request("/", 200, 0.01)
    m.record_decisions({"accept": 1})
    m.record_upstream_error("GetReviewTask", "UNAVAILABLE")
    m.set_active_sign_ins(1)
    m.record_cookie_refused()
    return m


@cache
def exported_series() -> dict[str, frozenset[str]]:
    """Sample name (as Prometheus stores it, e.g. with _total, _bucket) -> its label names."""
    series: dict[str, set[str]] = {}
    for registry in (_exercised_metrics().registry, _exercised_console_metrics().registry):
        for family in registry.collect():
            for sample in family.samples:
                series.setdefault(sample.name, set()).update(sample.labels)
    return {name: frozenset(labels) for name, labels in series.items()}


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def _dashboard_exprs() -> list[str]:
    exprs = []
    for panel in _dashboard()["panels"]:
        for target in panel.get("targets", []):
            assert target.get("expr"), f"panel {panel['title']!r} has a target without a query"
            exprs.append(target["expr"])
    return exprs


def _alert_rules() -> list[dict[str, Any]]:
    (doc,) = load_yaml_documents(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _check_expression(expr: str) -> list[str]:
    """Problems with one PromQL expression: unknown healthai_* series or labels."""
    problems = []
    exported = exported_series()
    names = set(METRIC.findall(expr))
    for name in names:
        if name not in exported:
            problems.append(f"{name} is not exported by Metrics")
    for name, matchers in SELECTOR.findall(expr):
        for label in MATCHER.findall(matchers):
            if name in exported and label not in exported[name] | SCRAPE_LABELS:
                problems.append(f"{name} has no label {label!r}")
    known_labels = set(SCRAPE_LABELS).union(*(exported.get(n, frozenset()) for n in names))
    for grouping in GROUPING.findall(expr):
        for label in (part.strip() for part in grouping.split(",")):
            if label and label not in known_labels:
                problems.append(f"grouping by unknown label {label!r}")
    return problems


def test_dashboard_parses_and_has_the_required_panels() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "healthai-overview"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exprs = "\n".join(_dashboard_exprs())
    for needle in (
        "histogram_quantile(0.5,",
        "histogram_quantile(0.95,",
        "histogram_quantile(0.99,",
        "sum by (code) (rate(healthai_rpc_requests_total",
        "sum by (method) (rate(healthai_rpc_requests_total",
        "sum by (tenant) (increase(healthai_llm_cost_microdollars_total",
        "healthai_breaker_state",
        "healthai_fallbacks_total",
        "healthai_phi_findings_total",
        "healthai_rpc_in_flight",
        "healthai_shed_total",
        "healthai_budget_used_ratio",
        "healthai_queue_depth",
        "healthai_review_oldest_task_age_seconds",
        "healthai_review_decisions_total",
        "healthai_audit_write_failures_total",
    ):
        assert needle in exprs, needle


def test_dashboard_queries_use_exported_metrics_only() -> None:
    problems = [f"{expr}: {p}" for expr in _dashboard_exprs() for p in _check_expression(expr)]
    assert not problems, "\n".join(problems)
    assert METRIC.search("\n".join(_dashboard_exprs()))


def test_alert_rules_use_exported_metrics_only() -> None:
    rules = _alert_rules()
    problems = [
        f"{rule.get('alert') or rule['record']}: {p}" for rule in rules for p in _check_expression(rule["expr"])
    ]
    assert not problems, "\n".join(problems)
    alerts = {rule["alert"] for rule in rules if "alert" in rule}
    assert alerts >= {
        "HealthaiHighErrorRate",
        "HealthaiHighLatencyP95",
        "HealthaiBreakerOpen",
        "HealthaiTenantBudget80Percent",
        "HealthaiAuditWriteFailures",
        "HealthaiConsoleErrors",
    }
    for rule in rules:
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_expression_checker_catches_mistakes() -> None:
    assert _check_expression('rate(healthai_rpc_request_total{code="OK"}[5m])')
    assert _check_expression('rate(healthai_rpc_requests_total{tenant="acme"}[5m])')
    assert _check_expression("sum by (tenant) (rate(healthai_rpc_requests_total[5m]))")
    assert not _check_expression('sum by (code) (rate(healthai_rpc_requests_total{namespace="x"}[5m]))')


def test_promtool_check_rules() -> None:
    result = run([require_tool("promtool"), "check", "rules", str(ALERTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests() -> None:
    result = run([require_tool("promtool"), "test", "rules", str(ALERT_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_lints_the_exposition() -> None:
    """Naming conventions (units, _total suffixes) as Prometheus' own linter sees them."""
    promtool = require_tool("promtool")
    for text in (_exercised_metrics().render(), _exercised_console_metrics().render()):
        result = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", [ALERTS, ALERT_TESTS], ids=lambda p: p.name)
def test_yaml_files_parse(path: Any) -> None:
    assert load_yaml_documents(path.read_text())


def test_prometheus_rule_is_generated_from_the_rule_file() -> None:
    """deploy/monitoring/prometheusrule.yaml wraps the promtool-tested rules; never edited by hand."""
    result = run([sys.executable, str(REPO / "scripts" / "deploy_prometheusrule.py"), "--check"])
    assert result.returncode == 0, result.stderr
    (rule,) = load_yaml_documents((MONITORING / "prometheusrule.yaml").read_text())
    (plain,) = load_yaml_documents(ALERTS.read_text())
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == plain["groups"]


def test_monitoring_kustomization_ships_the_dashboard() -> None:
    kubectl = require_tool("kubectl")
    result = run([kubectl, "kustomize", str(MONITORING)])
    assert result.returncode == 0, result.stderr
    objects = {o["kind"]: o for o in load_yaml_documents(result.stdout)}
    assert set(objects) == {"ConfigMap", "PrometheusRule"}
    dashboard = objects["ConfigMap"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["healthai-dashboard.json"]) == _dashboard()
