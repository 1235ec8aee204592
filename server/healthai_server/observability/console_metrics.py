"""Prometheus metrics of the review console (`healthai-server console`), a process of its own.

Built like the server's `Metrics` (observability/metrics.py): an injected registry, named
methods that never raise, and every label value from a closed set, so no label can carry a
note's text, a task id or a reviewer's name: routes are the console's route templates
(`/tenants/{tenant}/reviewTasks/{task}`, never a path), status classes `2xx`..`5xx`, decision
kinds and gRPC method and code names from fixed lists; anything else is "other". Served on a side
port by the same `start_metrics_server`, never on the port reviewers reach.

`healthai_console_active_sign_ins` is per replica: the sessions this process served within the
idle timeout. Sessions live in the browser's cookie, so no replica sees them all; a reviewer whose
requests reach two replicas counts on both (`sum` over pods is an upper bound, `max` a lower one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from healthai_server.observability.metrics import LATENCY_BUCKETS, OTHER, STATUS_CODES, _bounded

STATUS_CLASSES: Final[frozenset[str]] = frozenset({"1xx", "2xx", "3xx", "4xx", "5xx"})
DECISION_KINDS: Final[frozenset[str]] = frozenset({"accept", "correct", "reject", "add"})
# ReviewService methods the console calls.
UPSTREAM_METHODS: Final[frozenset[str]] = frozenset(
    {"ListReviewTasks", "ClaimReviewTask", "GetReviewTask", "SubmitReviewDecision"}
)
SIGN_IN_OUTCOMES: Final[frozenset[str]] = frozenset({"ok", "refused", "error"})
SIGN_OUT_REASONS: Final[frozenset[str]] = frozenset({"signed_out", "token_refused"})


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else OTHER


class ConsoleMetrics:
    """Every metric of the console, registered in `registry`. `routes`: the app's route templates."""

    def __init__(
        self, registry: CollectorRegistry, *, routes: Iterable[str] = (), process_metrics: bool = True
    ) -> None:
        self.registry = registry
        self._routes = frozenset(routes)
        if process_metrics:
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
        r = registry
        self.requests = Counter(
            "healthai_console_requests",
            "Console HTTP requests finished, by route template and status class.",
            ["route", "status_class"],
            registry=r,
        )
        self.request_duration = Histogram(
            "healthai_console_request_duration_seconds",
            "Console request latency (including its ReviewService calls), by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decisions = Counter(
            "healthai_console_decisions",
            "Item decisions the service accepted from the console, by kind (accept, correct, reject, add).",
            ["kind"],
            registry=r,
        )
        self.upstream_errors = Counter(
            "healthai_console_upstream_errors",
            "ReviewService calls that failed, by method and gRPC status code.",
            ["method", "code"],
            registry=r,
        )
        self.active_sign_ins = Gauge(
            "healthai_console_active_sign_ins",
            "Sessions this console process served within the idle timeout.",
            registry=r,
        )
        self.sign_ins = Counter(
            "healthai_console_sign_ins",
            "Sign-in attempts by outcome (ok, refused: token refused by the service, error).",
            ["outcome"],
            registry=r,
        )
        self.sign_outs = Counter(
            "healthai_console_sign_outs",
            "Sessions ended by the console, by reason (signed_out, token_refused).",
            ["reason"],
            registry=r,
        )
        self.cookies_refused = Counter(
            "healthai_console_session_cookies_refused",
            "Session cookies that did not open: expired, idle, tampered or sealed by a key not in the ring.",
            registry=r,
        )
        for kind in DECISION_KINDS:
            self.decisions.labels(kind=kind)
        for outcome in SIGN_IN_OUTCOMES:
            self.sign_ins.labels(outcome=outcome)
        for reason in SIGN_OUT_REASONS:
            self.sign_outs.labels(reason=reason)

    def observe_request(self, route: str | None, status: int, seconds: float) -> None:
        label = _bounded(route or OTHER, self._routes)
        self.requests.labels(route=label, status_class=status_class(status)).inc()
        self.request_duration.labels(route=label).observe(max(0.0, seconds))

    def record_decisions(self, counts: Mapping[str, int]) -> None:
        for kind, count in counts.items():
            if count > 0:
                self.decisions.labels(kind=_bounded(kind, DECISION_KINDS)).inc(count)

    def record_upstream_error(self, method: str, code: grpc.StatusCode | str) -> None:
        name = code.name if isinstance(code, grpc.StatusCode) else code
        self.upstream_errors.labels(method=_bounded(method, UPSTREAM_METHODS), code=_bounded(name, STATUS_CODES)).inc()

    def set_active_sign_ins(self, count: int) -> None:
        self.active_sign_ins.set(max(0, count))

    def record_sign_in(self, outcome: str) -> None:
        self.sign_ins.labels(outcome=_bounded(outcome, SIGN_IN_OUTCOMES)).inc()

    def record_sign_out(self, reason: str) -> None:
        self.sign_outs.labels(reason=_bounded(reason, SIGN_OUT_REASONS)).inc()

    def record_cookie_refused(self) -> None:
        self.cookies_refused.inc()

    def exposition_registry(self) -> CollectorRegistry:
        """The registry to serve (one process: no multiprocess aggregation)."""
        return self.registry

    def render(self) -> str:
        return generate_latest(self.registry).decode("utf-8")
