"""Read the request message inside the chain, after authentication, with time limits.

gRPC-Python reads a unary call's message before any handler runs, with no time limit, and
counts the call against its own concurrency cap from the moment its headers arrive. A client
that sends headers and never the message therefore held a slot, unseen by our chain, logs and
audit, until its connection was closed (up to 330 s: max connection age plus grace); 81 such
calls without a token refused every caller. The chain now serves every method as
request-streaming (chain.py, `message_in_chain`), so it runs when the headers arrive:
authentication refuses a caller without a valid token before anything is read, and this
interceptor, placed after it, reads the message. The admission gate after it counts only
authenticated calls whose message has arrived.

A unary call whose message does not arrive within `message_timeout_s`, and a stream whose next
message does not arrive within `stream_idle_timeout_s` (its first one included), end with
DEADLINE_EXCEEDED, reason DEADLINE_EXCEEDED, and are audited like any other outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from grpc import aio

from healthai_server.domain.errors import FieldViolation, InvalidRequest, MessageTimeout
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.interceptors.outcome import message_size
from healthai_server.scope import current_scope


async def _next(messages: AsyncIterator[Any], timeout_s: float, late: str) -> Any:
    """The next message, StopAsyncIteration at the end of the stream, MessageTimeout when late."""
    try:
        return await asyncio.wait_for(anext(messages), timeout_s)
    except TimeoutError:
        raise MessageTimeout(late) from None


async def _no_messages() -> AsyncIterator[Any]:
    return
    yield  # pragma: no cover - makes this an async generator


class MessageReceiver:
    def __init__(self, message_timeout_s: float, stream_idle_timeout_s: float) -> None:
        self._message_timeout_s = message_timeout_s
        self._stream_idle_timeout_s = stream_idle_timeout_s

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if not isinstance(request, AsyncIterator):  # gRPC already read it (chain without message_in_chain)
            return await proceed(request, context)
        if call.request_streaming:
            # A stream is admitted once its first message is here, like a unary call.
            try:
                first = await _next(request, self._stream_idle_timeout_s, self._idle_message())
            except StopAsyncIteration:
                return await proceed(_no_messages(), context)
            return await proceed(self._idle_limited(first, request), context)
        try:
            message = await _next(
                request,
                self._message_timeout_s,
                f"no request message arrived within {self._message_timeout_s:g} s of the call's headers",
            )
        except StopAsyncIteration:
            raise InvalidRequest([FieldViolation("", "the call carried no request message")]) from None
        current_scope().request_bytes = message_size(message)
        return await proceed(message, context)

    def _idle_message(self) -> str:
        return (
            f"the stream was idle for {self._stream_idle_timeout_s:g} s (no next message); "
            "send notes without long pauses, or open a new stream when there is more to send"
        )

    async def _idle_limited(self, first: Any, messages: AsyncIterator[Any]) -> AsyncIterator[Any]:
        yield first
        late = self._idle_message()
        while True:
            try:
                message = await _next(messages, self._stream_idle_timeout_s, late)
            except StopAsyncIteration:
                return
            yield message
