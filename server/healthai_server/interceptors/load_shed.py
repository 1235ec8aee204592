"""Bounded concurrency: past the in-flight limit (overall or per tenant) a call is shed
at once with RESOURCE_EXHAUSTED and RetryInfo, instead of queueing until it times out.

Both limits count only calls that are authenticated and whose request message has arrived:
they sit after authentication and the message receiver (interceptors/receive.py). A call
that sends its headers and then nothing, or comes without a valid token, can therefore never
hold a slot that a real caller needs. gRPC's own `maximum_concurrent_rpcs` stays only as a
far-away memory bound (Settings.max_open_calls).

Refusals run through the chain and are logged and audited like any other outcome, with the
tenant that was refused. The per-tenant limit defaults to a fair share of the overall one, so
one tenant's calls (idle streams included) cannot take every slot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from grpc import aio

from healthai_server.auth.rbac import is_open_method
from healthai_server.domain.errors import Overloaded
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.scope import current_scope

RETRY_AFTER_S = 0.5
# Without an explicit per-tenant limit, one tenant may hold at most this share of the overall one.
TENANT_FAIR_SHARE = 0.5


def per_tenant_limit(configured: int, max_in_flight: int) -> int:
    """The configured per-tenant limit (capped by the overall one), or the fair share when 0."""
    if configured:
        return min(configured, max_in_flight)
    return max(1, int(max_in_flight * TENANT_FAIR_SHARE))


class AdmissionGate:
    """The overall in-flight limit (shed reason "server"); health and reflection are never gated."""

    def __init__(self, max_in_flight: int, on_shed: Callable[[str], None] = lambda _reason: None) -> None:
        self._max_in_flight = max_in_flight
        self._on_shed = on_shed
        self.in_flight = 0

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if is_open_method(call.method):
            return await proceed(request, context)
        if self.in_flight >= self._max_in_flight:
            self._on_shed("server")
            raise Overloaded("the server is at capacity; retry after the suggested delay", retry_after_s=RETRY_AFTER_S)
        self.in_flight += 1
        try:
            return await proceed(request, context)
        finally:
            self.in_flight -= 1


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
            raise Overloaded(
                "this tenant has too many calls in flight; retry after the suggested delay",
                retry_after_s=RETRY_AFTER_S,
            )
        self._per_tenant[tenant] += 1
        try:
            return await proceed(request, context)
        finally:
            self._per_tenant[tenant] -= 1
            if not self._per_tenant[tenant]:
                del self._per_tenant[tenant]
