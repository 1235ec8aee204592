"""Bounded concurrency: past the in-flight limit (overall or per tenant) a call is shed
at once with RESOURCE_EXHAUSTED and RetryInfo, instead of queueing until it times out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from grpc import aio

from healthai_server.auth.rbac import is_open_method
from healthai_server.domain.errors import Overloaded
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.scope import current_scope


class LoadShedInterceptor:
    def __init__(
        self, max_in_flight: int, max_per_tenant: int, on_shed: Callable[[str], None] = lambda _reason: None
    ) -> None:
        self._max_in_flight = max_in_flight
        self._max_per_tenant = max_per_tenant
        self._in_flight = 0
        self._per_tenant: Counter[str] = Counter()
        self._on_shed = on_shed

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if is_open_method(call.method):
            return await proceed(request, context)
        tenant = current_scope().principal.tenant
        if self._in_flight >= self._max_in_flight:
            self._on_shed("server")
            raise Overloaded("the server is at capacity; retry after the suggested delay")
        if self._per_tenant[tenant] >= self._max_per_tenant:
            self._on_shed("tenant")
            raise Overloaded("this tenant has too many calls in flight; retry after the suggested delay")
        self._in_flight += 1
        self._per_tenant[tenant] += 1
        try:
            return await proceed(request, context)
        finally:
            self._in_flight -= 1
            self._per_tenant[tenant] -= 1
            if not self._per_tenant[tenant]:
                del self._per_tenant[tenant]
