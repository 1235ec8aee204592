"""Adapter: the resilience layer's observer callbacks -> Prometheus metrics."""

from __future__ import annotations

from healthai_server.domain.provenance import TokenUsage
from healthai_server.observability.metrics import Metrics


class MetricsObserver:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def on_retry(self, backend: str, reason: str) -> None:
        self._metrics.record_retry(backend, reason)

    def on_breaker_state(self, backend: str, state: str) -> None:
        self._metrics.set_breaker_state(backend, state)

    def on_fallback(self, reason: str) -> None:
        self._metrics.record_fallback(reason)

    def on_grounding_dropped(self, backend: str, n: int) -> None:
        self._metrics.record_grounding_drops(backend, n)

    def on_tokens(self, model: str, usage: TokenUsage, cost_micros: int, *, tenant: str) -> None:
        self._metrics.add_tokens(model, "input", usage.input_tokens)
        self._metrics.add_tokens(model, "output", usage.output_tokens)
        self._metrics.add_tokens(model, "cache_read", usage.cache_read_input_tokens)
        self._metrics.add_tokens(model, "cache_write", usage.cache_creation_input_tokens)
        self._metrics.add_cost(tenant, model, cost_micros)

    def on_backend_call(self, backend: str, outcome: str, seconds: float) -> None:
        self._metrics.observe_backend(backend, outcome, seconds)

    def on_cache(self, hit: bool) -> None:
        self._metrics.record_cache_lookup(hit)
