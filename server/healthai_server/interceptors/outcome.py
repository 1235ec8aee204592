"""Work out how a call ended, for the interceptors that record it after the fact."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from grpc import aio


def status_name(context: aio.ServicerContext[Any, Any], error: BaseException | None) -> str:
    # A client that cancels a stream just ends the request iterator: the handler may return
    # normally, so the context is asked too.
    if isinstance(error, asyncio.CancelledError) or context.cancelled():
        return grpc.StatusCode.CANCELLED.name
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if error is not None:
        return grpc.StatusCode.UNKNOWN.name
    return grpc.StatusCode.OK.name


def message_size(message: Any) -> int:
    size = getattr(message, "ByteSize", None)
    return int(size()) if callable(size) else 0
