"""Hostile clients for the denial-of-service tests and bench/bench_stall.py: calls that open
and then never send (a unary call's headers without its message, an idle stream).

Every call is bounded: the caller cancels what it opened, and each one carries a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

EXTRACT = "/healthai.v1.ClinicalExtractionService/ExtractClinicalData"
STREAM_EXTRACT = "/healthai.v1.ClinicalExtractionService/StreamExtractClinicalData"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _silence(stop: asyncio.Event) -> AsyncIterator[bytes]:
    """A request stream that sends nothing until the test is over."""
    await stop.wait()
    return
    yield b""  # pragma: no cover - makes this an async generator


@dataclass
class StalledCalls:
    """`calls` calls spread round-robin over `connections` separate HTTP/2 connections. For a
    unary method the client sends the call's headers and never its message (served through a
    client-streaming stub, so nothing is sent until the iterator yields, and it never does).

    With `reopen`, each of the `calls` slots opens a new call as soon as its last one ended
    (a persistent attacker keeps `calls` open), up to `max_total` calls in all."""

    addr: str
    calls: int
    connections: int
    method: str = EXTRACT
    metadata: Sequence[tuple[str, str]] = ()
    deadline_s: float = 120.0
    reopen: bool = False
    max_total: int = 200_000
    codes: Counter[str] = field(default_factory=Counter)
    _channels: list[aio.Channel] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    opened: int = 0

    async def open(self) -> StalledCalls:
        self._channels = [
            # A local subchannel pool per channel: each is its own TCP connection.
            aio.insecure_channel(self.addr, options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range(self.connections)
        ]
        for channel in self._channels:
            await asyncio.wait_for(channel.channel_ready(), 10)
        for index in range(self.calls):
            self._tasks.append(asyncio.create_task(self._slot(self._channels[index % self.connections])))
        return self

    async def _slot(self, channel: aio.Channel) -> None:
        while not self._stop.is_set() and self.opened < self.max_total:
            self.opened += 1
            open_call: Any = channel.stream_stream(self.method)  # raw bytes both ways
            call = open_call(_silence(self._stop), metadata=tuple(self.metadata), timeout=self.deadline_s)
            await self._hold(call)
            if not self.reopen:
                return

    async def _hold(self, call: aio.StreamStreamCall[bytes, bytes]) -> None:
        try:
            async for _ in call:
                pass
            self.codes[(await call.code()).name] += 1
        except aio.AioRpcError as error:
            self.codes[error.code().name] += 1
        except asyncio.CancelledError:
            self.codes["held until the end"] += 1
            call.cancel()
            raise

    @property
    def still_open(self) -> int:
        return sum(not task.done() for task in self._tasks)

    async def close(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self._channels:
            await channel.close()


async def health_status(addr: str, timeout_s: float = 2.0) -> str:
    """The overall health of the server at `addr`, or the status code of the failed check."""
    async with aio.insecure_channel(addr) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except aio.AioRpcError as error:
            return error.code().name
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def percentile_ms(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def elapsed_since(started: float) -> float:
    return time.perf_counter() - started
