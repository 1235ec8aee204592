"""RPC metrics: rate, status codes, latency and in-flight calls per method, plus the PHI
findings by type the de-identification servicer left in the request scope (backend-level
metrics come from the resilience layer's observer).
Labels are bounded by the Metrics object; nothing here reads request content."""

from __future__ import annotations

from typing import Any

from grpc import aio

from healthai_server.domain.phi import PhiType
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.interceptors.outcome import status_name
from healthai_server.observability.metrics import Metrics
from healthai_server.scope import RequestScope, current_scope


class MetricsInterceptor:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        scope = current_scope()
        error: BaseException | None = None
        self._metrics.rpc_started(call.method)
        try:
            return await proceed(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._metrics.rpc_finished(call.method)
            self._metrics.observe_rpc(call.method, status_name(context, error), scope.elapsed_s())
            self._record_details(scope)

    def _record_details(self, scope: RequestScope) -> None:
        details = scope.details
        for phi_type, count in details.get("phi_findings", {}).items():
            self._metrics.record_phi_findings(PhiType[phi_type], int(count))
