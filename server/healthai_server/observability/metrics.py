"""Prometheus metrics: one `Metrics` object owns every series the service exports.

The registry is injected (tests build their own; nothing touches the global default
registry). Every label value passes through an allow-list, so no caller can create an
unbounded number of series and no label can ever carry note text: methods come from the
known RPC names, codes from `grpc.StatusCode`, tenants from a configured allow-list (else
"other"), backends and models from configured lists, and reasons, outcomes, queues and
PHI types from the fixed vocabularies below. An unknown value becomes "other" (a metric
must never fail a request).

Processes. The server is ONE grpc.aio process; the CPU-bound engine runs in a process
pool whose children do no metric work (they return results; the parent records them).
So the default in-process registry is correct and no multiprocess set-up is needed.
If several server processes ever share the port instead, set PROMETHEUS_MULTIPROC_DIR
to an empty, per-pod writable directory in the environment *before* the process starts
(prometheus_client chooses its value store at import time): metrics are then written to
memory-mapped files there, `start_metrics_server` serves the aggregate of every process
through a `MultiProcessCollector`, gauges aggregate by the mode given below, and the
supervisor must call `mark_process_dead(pid)` when a server process exits.
"""

from __future__ import annotations

import enum
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Protocol
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from healthai_server.domain.phi import PhiType
from healthai_server.domain.provenance import DegradedReason

OTHER: Final = "other"

# Fully qualified RPC names without the leading slash, as in "/package.Service/Method".
# A unit test checks this list against the service descriptors, so a new RPC cannot be
# forgotten here (it would be counted as "other").
KNOWN_METHODS: Final[frozenset[str]] = frozenset(
    {
        "healthai.v1.ClinicalExtractionService/ExtractClinicalData",
        "healthai.v1.ClinicalExtractionService/StreamExtractClinicalData",
        "healthai.v1.NoteAnalysisService/AnalyzeNote",
        "healthai.v1.DeidentificationService/DeidentifyNote",
        "healthai.v1.UsageService/GetUsage",
        "healthai.v1.BatchService/CreateBatchJob",
        "healthai.v1.BatchService/ListBatchResults",
        "healthai.v1.BatchService/ListDeadLetters",
        "healthai.v1.BatchService/ReplayDeadLetters",
        "healthai.v1.BatchService/CancelBatchJob",
        "google.longrunning.Operations/GetOperation",
        "google.longrunning.Operations/ListOperations",
        "google.longrunning.Operations/CancelOperation",
        "google.longrunning.Operations/DeleteOperation",
        "google.longrunning.Operations/WaitOperation",
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    }
)
STATUS_CODES: Final[frozenset[str]] = frozenset(code.name for code in grpc.StatusCode)
DEFAULT_BACKENDS: Final[frozenset[str]] = frozenset({"local", "anthropic"})
BACKEND_OUTCOMES: Final[frozenset[str]] = frozenset(
    {"ok", "error", "timeout", "rate_limited", "overloaded", "breaker_open", "invalid_output", "cancelled"}
)
TOKEN_KINDS: Final[frozenset[str]] = frozenset({"input", "output", "cache_read", "cache_write"})
# The reasons a response can be degraded (domain DegradedReason values).
FALLBACK_REASONS: Final[frozenset[str]] = frozenset(reason.value for reason in DegradedReason)
SHED_REASONS: Final[frozenset[str]] = frozenset({"server", "tenant", "quota", "draining"})
QUEUES: Final[frozenset[str]] = frozenset({"review", "batch", "dead_letter"})
PURGE_JOBS: Final[frozenset[str]] = frozenset({"result_cache", "review_tasks", "batch"})
# What pipeline/shadow.py reports for each note it is offered.
SHADOW_OUTCOMES: Final[frozenset[str]] = frozenset(
    {"scheduled", "ok", "failed", "dropped_concurrency", "skipped_budget", "out_of_scope", "store_failed"}
)
REVIEW_ITEM_TYPES: Final[frozenset[str]] = frozenset({"condition", "medication", "vital_sign", "allergy"})
REVIEW_DECISIONS: Final[frozenset[str]] = frozenset({"accept", "correct", "reject", "add"})
REVIEW_REASONS: Final[frozenset[str]] = frozenset(
    {"low_confidence", "validation_finding", "ungrounded", "degraded", "requested"}
)
_PROMPT_VERSION = re.compile(r"^[A-Za-z0-9._-]{0,32}$")
BATCH_OUTCOMES: Final[frozenset[str]] = frozenset({"succeeded", "retried", "dead_lettered", "lost_lease"})
PHI_TYPES: Final[frozenset[str]] = frozenset(t.value for t in PhiType)
MAX_TENANT_LABELS: Final = 200
MAX_MODEL_LABELS: Final = 50

# 1 ms .. 60 s: local calls are milliseconds, LLM calls tens of seconds.
LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
)


class BreakerState(enum.IntEnum):
    """Exported value of `healthai_breaker_state`."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


_BREAKER_NAMES: Final = {
    "closed": BreakerState.CLOSED,
    "half-open": BreakerState.HALF_OPEN,  # pybreaker's spelling
    "half_open": BreakerState.HALF_OPEN,
    "open": BreakerState.OPEN,
}


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else OTHER


def _allow_list(values: Iterable[str], limit: int, what: str) -> frozenset[str]:
    allowed = frozenset(v for v in values if v)
    if len(allowed) > limit:
        raise ValueError(f"{len(allowed)} {what} label values configured; at most {limit} keep cardinality bounded")
    return allowed


class Metrics:
    """Every metric of the service, registered in `registry`.

    Call sites use the named methods; none of them raises on an unknown label value.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        tenants: Iterable[str] = (),
        backends: Iterable[str] = DEFAULT_BACKENDS,
        models: Iterable[str] = (),
        methods: Iterable[str] = KNOWN_METHODS,
        process_metrics: bool = True,
    ) -> None:
        self.registry = registry
        self._tenants = _allow_list(tenants, MAX_TENANT_LABELS, "tenant")
        self._backends = frozenset(backends)
        self._models = _allow_list(models, MAX_MODEL_LABELS, "model")
        self._methods = frozenset(m.lstrip("/") for m in methods)
        if process_metrics and not multiprocess_enabled():
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)

        r = registry
        self.rpc_requests = Counter(
            "healthai_rpc_requests", "RPCs completed, by method and gRPC status code.", ["method", "code"], registry=r
        )
        self.rpc_duration = Histogram(
            "healthai_rpc_duration_seconds",
            "Server-side RPC latency from first interceptor to the last message.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rpc_in_flight = Gauge(
            "healthai_rpc_in_flight", "RPCs being handled now.", ["method"], registry=r, multiprocess_mode="livesum"
        )
        self.backend_duration = Histogram(
            "healthai_backend_duration_seconds",
            "Latency of one backend call (one attempt), by backend.",
            ["backend"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.backend_requests = Counter(
            "healthai_backend_requests", "Backend calls by backend and outcome.", ["backend", "outcome"], registry=r
        )
        self.llm_tokens = Counter(
            "healthai_llm_tokens",
            "LLM tokens by model and kind (input, output, cache_read, cache_write).",
            ["model", "kind"],
            registry=r,
        )
        self.llm_cost = Counter(
            "healthai_llm_cost_microdollars",
            "LLM cost in millionths of a US dollar, by tenant and model.",
            ["tenant", "model"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "healthai_breaker_state",
            "Circuit breaker state by backend: 0 closed, 1 half-open, 2 open.",
            ["backend"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.retries = Counter(
            "healthai_backend_retries",
            "Backend attempts retried, by backend and reason.",
            ["backend", "reason"],
            registry=r,
        )
        self.cache_lookups = Counter(
            "healthai_result_cache_lookups", "Result cache lookups, by result (hit or miss).", ["result"], registry=r
        )
        self.fallbacks = Counter(
            "healthai_fallbacks", "Requests answered by a fallback backend, by reason.", ["reason"], registry=r
        )
        self.grounding_drops = Counter(
            "healthai_grounding_drops",
            "Entities dropped because their text was not found at their span, by backend.",
            ["backend"],
            registry=r,
        )
        self.phi_findings = Counter("healthai_phi_findings", "PHI identifiers detected, by type.", ["type"], registry=r)
        self.audit_write_failures = Counter(
            "healthai_audit_write_failures", "Audit events that could not be written.", registry=r
        )
        self.purged_rows = Counter(
            "healthai_purged_rows", "Expired rows removed by scheduled housekeeping, by job.", ["job"], registry=r
        )
        self.purge_failures = Counter(
            "healthai_purge_failures", "Scheduled purges that failed, by job.", ["job"], registry=r
        )
        self.queue_depth = Gauge(
            "healthai_queue_depth",
            "Items waiting, by queue (review: the human review backlog).",
            ["queue"],
            registry=r,
            multiprocess_mode="max",
        )
        self.batch_oldest_queued_age = Gauge(
            "healthai_batch_oldest_queued_age_seconds",
            "Age of the oldest batch note waiting to be claimed (0 when none waits).",
            registry=r,
            multiprocess_mode="max",
        )
        self.batch_notes = Counter(
            "healthai_batch_notes",
            "Batch note attempts finished, by outcome (succeeded, retried, dead_lettered, lost_lease).",
            ["outcome"],
            registry=r,
        )
        self.shed = Counter(
            "healthai_shed", "Calls rejected at once because of overload, by reason.", ["reason"], registry=r
        )
        self.shadow_calls = Counter(
            "healthai_shadow_calls",
            "Shadow-mode candidate calls by outcome (scheduled, ok, failed, dropped_concurrency, skipped_budget, ...).",
            ["outcome"],
            registry=r,
        )
        self.budget_used_ratio = Gauge(
            "healthai_budget_used_ratio",
            "Share of the tenant's LLM budget used in the current period (1.0 = exhausted).",
            ["tenant"],
            registry=r,
            multiprocess_mode="max",
        )
        self.review_decisions = Counter(
            "healthai_review_decisions",
            "Reviewers' decisions on items, by item type, backend, prompt version and decision "
            "(override rate = correct + reject over all).",
            ["item_type", "backend", "prompt_version", "decision"],
            registry=r,
        )
        self.review_tasks_created = Counter(
            "healthai_review_tasks_created", "Answers queued for human review, by reason.", ["reason"], registry=r
        )
        self.review_oldest_age = Gauge(
            "healthai_review_oldest_task_age_seconds",
            "Age of the oldest review task not yet decided (0 when the queue is empty).",
            registry=r,
            multiprocess_mode="max",
        )
        self.review_time_to_decision = Histogram(
            "healthai_review_time_to_decision_seconds",
            "From a task's creation to its decision.",
            buckets=(60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86_400, 3 * 86_400, 7 * 86_400),
            registry=r,
        )
        self._initialise_series()

    def _initialise_series(self) -> None:
        """Export zeros for the fixed label sets, so rate() and alerts see a series from the start."""
        for method in self._methods:
            self.rpc_in_flight.labels(method=method)
        for backend in self._backends:
            self.breaker_state.labels(backend=backend).set(BreakerState.CLOSED)
            self.grounding_drops.labels(backend=backend)
        for reason in FALLBACK_REASONS:
            self.fallbacks.labels(reason=reason)
        for reason in SHED_REASONS:
            self.shed.labels(reason=reason)
        for queue in QUEUES:
            self.queue_depth.labels(queue=queue)
        for outcome in SHADOW_OUTCOMES:
            self.shadow_calls.labels(outcome=outcome)
        for outcome in BATCH_OUTCOMES:
            self.batch_notes.labels(outcome=outcome)

    # -- label normalisation -------------------------------------------------------------

    def tenant_label(self, tenant: str | None) -> str:
        """The tenant itself when allow-listed for metrics, else "other"."""
        return tenant if tenant is not None and tenant in self._tenants else OTHER

    def method_label(self, method: str) -> str:
        return _bounded(method.lstrip("/"), self._methods)

    def backend_label(self, backend: str) -> str:
        return _bounded(backend, self._backends)

    def model_label(self, model: str) -> str:
        return _bounded(model, self._models)

    @staticmethod
    def code_label(code: grpc.StatusCode | str) -> str:
        name = code.name if isinstance(code, grpc.StatusCode) else code
        return name if name in STATUS_CODES else grpc.StatusCode.UNKNOWN.name

    # -- RPCs ----------------------------------------------------------------------------

    def observe_rpc(self, method: str, code: grpc.StatusCode | str, seconds: float) -> None:
        label = self.method_label(method)
        self.rpc_requests.labels(method=label, code=self.code_label(code)).inc()
        self.rpc_duration.labels(method=label).observe(seconds)

    def rpc_started(self, method: str) -> None:
        self.rpc_in_flight.labels(method=self.method_label(method)).inc()

    def rpc_finished(self, method: str) -> None:
        self.rpc_in_flight.labels(method=self.method_label(method)).dec()

    @contextmanager
    def in_flight(self, method: str) -> Iterator[None]:
        self.rpc_started(method)
        try:
            yield
        finally:
            self.rpc_finished(method)

    def record_shed(self, reason: str) -> None:
        """Fits LoadShedInterceptor's `on_shed` callback."""
        self.shed.labels(reason=_bounded(reason, SHED_REASONS)).inc()

    # -- backends and the LLM ------------------------------------------------------------

    def observe_backend(self, backend: str, outcome: str, seconds: float) -> None:
        label = self.backend_label(backend)
        self.backend_requests.labels(backend=label, outcome=_bounded(outcome, BACKEND_OUTCOMES)).inc()
        self.backend_duration.labels(backend=label).observe(seconds)

    def add_tokens(self, model: str, kind: str, count: int) -> None:
        if count > 0:
            self.llm_tokens.labels(model=self.model_label(model), kind=_bounded(kind, TOKEN_KINDS)).inc(count)

    def add_cost(self, tenant: str | None, model: str, microdollars: int) -> None:
        if microdollars > 0:
            self.llm_cost.labels(tenant=self.tenant_label(tenant), model=self.model_label(model)).inc(microdollars)

    def set_breaker_state(self, backend: str, state: BreakerState | str) -> None:
        # An unrecognised state name is shown as open: a dashboard should over-warn, not hide.
        value = state if isinstance(state, BreakerState) else _BREAKER_NAMES.get(state.lower(), BreakerState.OPEN)
        self.breaker_state.labels(backend=self.backend_label(backend)).set(int(value))

    def record_retry(self, backend: str, reason: str) -> None:
        self.retries.labels(backend=self.backend_label(backend), reason=_bounded(reason, BACKEND_OUTCOMES)).inc()

    def record_cache_lookup(self, hit: bool) -> None:
        self.cache_lookups.labels(result="hit" if hit else "miss").inc()

    def record_fallback(self, reason: str) -> None:
        self.fallbacks.labels(reason=_bounded(reason, FALLBACK_REASONS)).inc()

    def record_grounding_drops(self, backend: str, count: int = 1) -> None:
        if count > 0:
            self.grounding_drops.labels(backend=self.backend_label(backend)).inc(count)

    def set_budget_used_ratio(self, tenant: str | None, ratio: float) -> None:
        self.budget_used_ratio.labels(tenant=self.tenant_label(tenant)).set(max(0.0, ratio))

    # -- PHI, audit, queues --------------------------------------------------------------

    def record_phi_findings(self, phi_type: PhiType | str, count: int = 1) -> None:
        name = phi_type.value if isinstance(phi_type, PhiType) else phi_type
        if count > 0:
            self.phi_findings.labels(type=_bounded(name, PHI_TYPES)).inc(count)

    def record_audit_write_failure(self) -> None:
        self.audit_write_failures.inc()

    def record_purge(self, job: str, rows: int) -> None:
        self.purged_rows.labels(job=_bounded(job, PURGE_JOBS)).inc(rows)

    def record_purge_failure(self, job: str) -> None:
        self.purge_failures.labels(job=_bounded(job, PURGE_JOBS)).inc()

    def set_queue_depth(self, queue: str, depth: int) -> None:
        self.queue_depth.labels(queue=_bounded(queue, QUEUES)).set(depth)

    def record_shadow(self, outcome: str) -> None:
        self.shadow_calls.labels(outcome=_bounded(outcome, SHADOW_OUTCOMES)).inc()

    def set_batch_queue(self, depth: int, oldest_age_s: float, dead_letters: int) -> None:
        self.set_queue_depth("batch", depth)
        self.set_queue_depth("dead_letter", dead_letters)
        self.batch_oldest_queued_age.set(oldest_age_s)

    def record_batch_notes(self, outcome: str, count: int) -> None:
        if count:
            self.batch_notes.labels(outcome=_bounded(outcome, BATCH_OUTCOMES)).inc(count)

    def set_review_backlog(self, depth: int, oldest_age_s: float = 0.0) -> None:
        self.set_queue_depth("review", depth)
        self.review_oldest_age.set(max(0.0, oldest_age_s))

    def record_review_routed(self, reasons: Iterable[str]) -> None:
        for reason in reasons:
            self.review_tasks_created.labels(reason=_bounded(reason, REVIEW_REASONS)).inc()

    def record_review_decisions(
        self, backend: str, prompt_version: str, decisions: Iterable[tuple[str, str]], age_s: float
    ) -> None:
        """decisions: (item_type, decision) pairs of one task; age_s: creation to decision."""
        version = prompt_version if _PROMPT_VERSION.match(prompt_version) else OTHER
        for item_type, decision in decisions:
            self.review_decisions.labels(
                item_type=_bounded(item_type, REVIEW_ITEM_TYPES),
                backend=_bounded(backend, self._backends),
                prompt_version=version,
                decision=_bounded(decision, REVIEW_DECISIONS),
            ).inc()
        self.review_time_to_decision.observe(max(0.0, age_s))

    # -- exposition ----------------------------------------------------------------------

    def exposition_registry(self) -> CollectorRegistry:
        """The registry to serve: ours, or in multiprocess mode the aggregate of every process."""
        if not multiprocess_enabled():
            return self.registry
        aggregate = CollectorRegistry()
        MultiProcessCollector(aggregate)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
        return aggregate

    def render(self) -> str:
        """The text exposition format, as /metrics serves it."""
        return generate_latest(self.exposition_registry()).decode("utf-8")


@dataclass
class MetricsServer:
    """The side HTTP server that serves /metrics; `port` is the bound port (useful with 0)."""

    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class Exposable(Protocol):
    """What the side server serves: the server's `Metrics` or the console's `ConsoleMetrics`."""

    def exposition_registry(self) -> CollectorRegistry: ...


def start_metrics_server(metrics: Exposable, port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve /metrics on a daemon thread beside the asyncio event loop (it never blocks the loop)."""
    httpd, thread = start_http_server(port, addr=host, registry=metrics.exposition_registry())
    return MetricsServer(httpd, thread)
