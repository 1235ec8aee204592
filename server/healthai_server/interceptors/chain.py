"""Compose interceptor classes into one grpc.aio.ServerInterceptor.

grpc.aio's own interceptors only see handler lookup; ours wrap the call itself. Every
handler is normalised to `async (request_or_iterator, context) -> response | None`
(stream responses are written with context.write), so one chain serves unary and
streaming RPCs alike.

With `message_in_chain`, a method whose request is a single message is served as
request-streaming too: gRPC then runs the chain as soon as the call's headers arrive, and
`request` is the call's message iterator until an interceptor (interceptors/receive.py)
reads the message. Otherwise gRPC reads the message first, with no time limit and before
any of our code runs (see receive.py for why that matters).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from grpc import aio

from healthai_server.validation_rules import tolerant_deserializer

Handler = Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class CallInfo:
    method: str
    request_streaming: bool
    response_streaming: bool


class Interceptor(Protocol):
    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any: ...


def _innermost(behavior: Callable[..., Any], response_streaming: bool) -> Handler:
    async def invoke(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        result = behavior(request, context)
        if response_streaming and inspect.isasyncgen(result):
            async for item in result:
                await context.write(item)
            return None
        return await result

    return invoke


def _compose(interceptors: Sequence[Interceptor], call: CallInfo, innermost: Handler) -> Handler:
    handler = innermost
    for interceptor in reversed(interceptors):
        handler = _bind(interceptor, call, handler)
    return handler


def _bind(interceptor: Interceptor, call: CallInfo, proceed: Handler) -> Handler:
    async def invoke(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        return await interceptor.intercept(call, request, context, proceed)

    return invoke


class ChainInterceptor(aio.ServerInterceptor):
    def __init__(self, interceptors: Sequence[Interceptor], *, message_in_chain: bool = False) -> None:
        self._interceptors = list(interceptors)
        self._message_in_chain = message_in_chain
        # One composed handler per method: the chain is the same for every call of a method.
        self._handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        cached = self._handlers.get(handler_call_details.method)
        if cached is not None:
            return cached
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        call = CallInfo(
            method=handler_call_details.method,
            request_streaming=handler.request_streaming,
            response_streaming=handler.response_streaming,
        )
        behavior: Any = {
            (False, False): handler.unary_unary,
            (False, True): handler.unary_stream,
            (True, False): handler.stream_unary,
            (True, True): handler.stream_stream,
        }[(call.request_streaming, call.response_streaming)]
        wrapped = _compose(self._interceptors, call, _innermost(behavior, call.response_streaming))
        # Same bytes on the wire either way: only when gRPC hands the call to us changes.
        served_as_streaming = call.request_streaming or self._message_in_chain
        factory = {
            (False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler,
        }[(served_as_streaming, call.response_streaming)]
        composed: grpc.RpcMethodHandler[Any, Any] = factory(
            wrapped,
            request_deserializer=tolerant_deserializer(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
        self._handlers[handler_call_details.method] = composed
        return composed
