"""Validate unary requests against their protovalidate rules before the servicer runs.
Streaming servicers validate each item themselves (a bad item must not end the stream)."""

from __future__ import annotations

from typing import Any

from grpc import aio

from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.validation_rules import RequestValidator


class ValidationInterceptor:
    def __init__(self, validator: RequestValidator) -> None:
        self._validator = validator

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if not call.request_streaming:
            self._validator.check(request)
        return await proceed(request, context)
