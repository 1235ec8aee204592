"""One JSON access-log line per RPC: method, code, duration, ids, byte sizes. Never a payload."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from grpc import aio

from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.interceptors.outcome import message_size, status_name
from healthai_server.scope import RequestScope, current_scope

log = logging.getLogger("healthai.access")


class AccessLogInterceptor:
    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        scope = current_scope()
        if not call.request_streaming and not isinstance(request, AsyncIterator):
            scope.request_bytes = message_size(request)  # else the message receiver counts it
        error: BaseException | None = None
        response: Any = None
        try:
            response = await proceed(request, context)
            return response
        except BaseException as exc:
            error = exc
            raise
        finally:
            if not call.response_streaming:
                scope.response_bytes = message_size(response)
            if not scope.aggregated:  # else one line per window (interceptors/auth_failure_tally.py)
                self._log(call, scope, status_name(context, error))

    @staticmethod
    def _log(call: CallInfo, scope: RequestScope, code: str) -> None:
        log.info(
            "rpc",
            extra={
                "method": call.method,
                "code": code,
                "duration_ms": round(scope.elapsed_s() * 1000, 3),
                "audit_id": scope.audit_id,
                "tenant": scope.principal.tenant,
                "principal": scope.principal.subject,
                "request_bytes": scope.request_bytes,
                "response_bytes": scope.response_bytes,
            },
        )
