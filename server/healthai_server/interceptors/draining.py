"""Shutdown without surprises: once draining starts, new calls get UNAVAILABLE with
RetryInfo (reason SHUTTING_DOWN), which every gRPC client may retry on another replica,
while calls already running finish. gRPC's own stop would answer them CANCELLED, which
a client cannot tell from its own cancellation and must not retry blindly."""

from __future__ import annotations

import asyncio
from typing import Any

from grpc import aio

from healthai_server.domain.errors import ShuttingDown
from healthai_server.interceptors.chain import CallInfo, Handler

RETRY_AFTER_S = 1.0


class DrainingInterceptor:
    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if self.draining:
            raise ShuttingDown("the server is shutting down; retry on another replica", retry_after_s=RETRY_AFTER_S)
        self.in_flight += 1
        self._idle.clear()
        try:
            return await proceed(request, context)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def drain(self, timeout_s: float) -> bool:
        """Refuse new calls from now on; wait for running ones. True when all finished in time."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=timeout_s)
        except TimeoutError:
            return False
        return True
