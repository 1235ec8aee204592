"""The message receiver reads a call's message inside the chain, with time limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from healthai_server.domain.errors import InvalidRequest, MessageTimeout
from healthai_server.interceptors.chain import CallInfo
from healthai_server.interceptors.receive import MessageReceiver
from healthai_server.scope import RequestScope, current_scope, set_scope

UNARY = CallInfo("/healthai.v1.ClinicalExtractionService/ExtractClinicalData", False, False)
STREAM = CallInfo("/healthai.v1.ClinicalExtractionService/StreamExtractClinicalData", True, True)
CONTEXT: Any = object()


class Message:
    def __init__(self, size: int) -> None:
        self.size = size

    def ByteSize(self) -> int:
        return self.size


async def messages(*items: Any, pause_after: int | None = None, pause_s: float = 0.0) -> AsyncIterator[Any]:
    for index, item in enumerate(items):
        if index == pause_after:
            await asyncio.sleep(pause_s)
        yield item


async def never() -> AsyncIterator[Any]:
    await asyncio.Event().wait()
    yield None  # pragma: no cover


@pytest.fixture(autouse=True)
def scope() -> None:
    set_scope(RequestScope(audit_id="a", method=UNARY.method))


async def echo(request: Any, context: Any) -> Any:
    return request


async def collect(request: AsyncIterator[Any], context: Any) -> list[Any]:
    return [item async for item in request]


async def test_a_unary_call_gets_its_message_and_its_size_is_counted() -> None:
    message = Message(42)
    assert await MessageReceiver(1, 1).intercept(UNARY, messages(message), CONTEXT, echo) is message
    assert current_scope().request_bytes == 42


async def test_a_unary_call_whose_message_never_arrives_times_out_without_running_the_rest() -> None:
    ran = False

    async def rest(request: Any, context: Any) -> None:
        nonlocal ran
        ran = True

    with pytest.raises(MessageTimeout, match=r"no request message arrived within 0\.05 s"):
        await MessageReceiver(0.05, 1).intercept(UNARY, never(), CONTEXT, rest)
    assert not ran


async def test_a_unary_call_that_ends_without_a_message_is_invalid() -> None:
    with pytest.raises(InvalidRequest):
        await MessageReceiver(1, 1).intercept(UNARY, messages(), CONTEXT, echo)


async def test_a_message_gRPC_already_read_passes_through() -> None:
    message = Message(7)
    assert await MessageReceiver(1, 1).intercept(UNARY, message, CONTEXT, echo) is message


async def test_a_stream_passes_every_message_and_ends_with_the_callers_stream() -> None:
    items = [Message(1), Message(2), Message(3)]
    assert await MessageReceiver(1, 1).intercept(STREAM, messages(*items), CONTEXT, collect) == items
    assert await MessageReceiver(1, 1).intercept(STREAM, messages(), CONTEXT, collect) == []


async def test_an_idle_stream_ends_with_a_timeout_after_its_last_message() -> None:
    items = [Message(1), Message(2), Message(3)]
    seen: list[Any] = []

    async def rest(request: AsyncIterator[Any], context: Any) -> None:
        async for item in request:
            seen.append(item)

    receiver = MessageReceiver(1, stream_idle_timeout_s=0.05)
    with pytest.raises(MessageTimeout, match=r"the stream was idle for 0\.05 s"):
        await receiver.intercept(STREAM, messages(*items, pause_after=2, pause_s=5), CONTEXT, rest)
    assert seen == items[:2]


async def test_a_stream_that_never_sends_is_not_admitted() -> None:
    ran = False

    async def rest(request: Any, context: Any) -> None:
        nonlocal ran
        ran = True

    with pytest.raises(MessageTimeout):
        await MessageReceiver(1, stream_idle_timeout_s=0.05).intercept(STREAM, never(), CONTEXT, rest)
    assert not ran


async def test_slow_processing_between_messages_is_not_idleness() -> None:
    items = [Message(1), Message(2)]
    seen: list[Any] = []

    async def rest(request: AsyncIterator[Any], context: Any) -> None:
        async for item in request:
            await asyncio.sleep(0.1)  # the server works; the caller is not idle
            seen.append(item)

    await MessageReceiver(1, stream_idle_timeout_s=0.05).intercept(STREAM, messages(*items), CONTEXT, rest)
    assert seen == items
