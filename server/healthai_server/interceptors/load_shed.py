"""Bounded concurrency: past the in-flight limit (overall or per tenant) a call is shed
at once with RESOURCE_EXHAUSTED and RetryInfo, instead of queueing until it times out.

The overall limit is an AdmissionGate in front of the whole chain: under overload most
calls are refused, and a refusal that first ran tracing, logging, auth and an audit
write cost the serving process as much as the work it protected, so it queued too. A
gate refusal is counted in metrics (shed, reason "server") but neither logged nor
audited: no note was read. The per-tenant limit needs the caller's identity, so it runs
after authentication, inside the chain, and is audited like any other outcome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from grpc import aio
from grpc_status import rpc_status

from healthai_server.auth.rbac import is_open_method
from healthai_server.domain.errors import Overloaded
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.interceptors.errors import to_status
from healthai_server.scope import current_scope

RETRY_AFTER_S = 0.5


class AdmissionGate:
    def __init__(self, max_in_flight: int, on_shed: Callable[[str], None] = lambda _reason: None) -> None:
        self._max_in_flight = max_in_flight
        self._on_shed = on_shed
        self.in_flight = 0
        error = Overloaded("the server is at capacity; retry after the suggested delay", retry_after_s=RETRY_AFTER_S)
        self._refusal = rpc_status.to_status(to_status(error, audit_id="")[1])

    def wrap(self, call: CallInfo, handler: Handler) -> Handler:
        if is_open_method(call.method):
            return handler

        async def admitted(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            if self.in_flight >= self._max_in_flight:
                self._on_shed("server")
                await context.abort(
                    self._refusal.code, self._refusal.details, trailing_metadata=self._refusal.trailing_metadata
                )
            self.in_flight += 1
            try:
                return await handler(request, context)
            finally:
                self.in_flight -= 1

        return admitted


class TenantLoadShedInterceptor:
    def __init__(self, max_per_tenant: int, on_shed: Callable[[str], None] = lambda _reason: None) -> None:
        self._max_per_tenant = max_per_tenant
        self._per_tenant: Counter[str] = Counter()
        self._on_shed = on_shed

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if is_open_method(call.method):
            return await proceed(request, context)
        tenant = current_scope().principal.tenant
        if self._per_tenant[tenant] >= self._max_per_tenant:
            self._on_shed("tenant")
            raise Overloaded("this tenant has too many calls in flight; retry after the suggested delay")
        self._per_tenant[tenant] += 1
        try:
            return await proceed(request, context)
        finally:
            self._per_tenant[tenant] -= 1
            if not self._per_tenant[tenant]:
                del self._per_tenant[tenant]
