"""make bench-load: capacity and overload behaviour of a real server (subprocess, local engine,
SQLite, auth on) under an async gRPC load generator on loopback.

1. Closed loop at fixed concurrency (default 1, 8, 32): p50/p95/p99, notes/s, errors.
2. Open loop at a fixed rate of 4x the measured capacity for a few seconds: how many calls
   are shed (RESOURCE_EXHAUSTED/UNAVAILABLE) and how fast, the latency of accepted calls,
   server RSS before/after, and health checks during the overload.
Every loop is bounded in count and time and talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server"), str(ROOT / "clients/python")]

import grpc  # noqa: E402
from grpc import aio  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from healthai.errors import from_rpc_error  # noqa: E402
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc  # noqa: E402
from notes import three_kb_note  # noqa: E402

from tests.e2e.server import ServerProcess, server_env  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_rss_mb(pid: int) -> float:
    """RSS of the server and its engine workers."""
    total = rss_mb(pid)
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for child_pid in child.read_text().split():
            total += rss_mb(int(child_pid))
    return total


SHED_CODES = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)


@dataclass
class Outcomes:
    """Latencies of accepted calls, answer times of shed ones, and every status code."""

    accepted: list[float] = field(default_factory=list)
    shed: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)

    async def call(self, stub: Any, request: Any, metadata: Any, deadline_s: float) -> aio.AioRpcError | None:
        started = time.perf_counter()
        try:
            await stub.ExtractClinicalData(request, metadata=metadata, timeout=deadline_s)
        except aio.AioRpcError as error:
            self.codes[error.code().name] += 1
            if error.code() in SHED_CODES:
                self.shed.append(time.perf_counter() - started)
            return error
        self.accepted.append(time.perf_counter() - started)
        self.codes["OK"] += 1
        return None


async def closed_loop(
    addr: str, token: str, concurrency: int, total: int
) -> tuple[list[float], float, Counter[str], list[float]]:
    """`concurrency` clients, each sending its next call when the last one ends. A shed call
    (RESOURCE_EXHAUSTED) is retried after the server's RetryInfo delay, as a well-behaved
    client does; it counts in the codes and the shed answer time, not in the latencies."""
    request = extraction_service_pb2.ExtractClinicalDataRequest(text=three_kb_note())
    metadata = (("authorization", f"Bearer {token}"),)
    outcomes = Outcomes()
    async with aio.insecure_channel(addr) as channel:
        stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
        for _ in range(10):
            await stub.ExtractClinicalData(request, metadata=metadata, timeout=30)
        remaining = total

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                while (error := await outcomes.call(stub, request, metadata, 30)) is not None:
                    if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                        break
                    await asyncio.sleep(from_rpc_error(error).retry_after_s or 0.05)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return outcomes.accepted, time.perf_counter() - started, outcomes.codes, outcomes.shed


async def open_loop(
    addr: str, probe_addr: str, token: str, *, rate: float, seconds: float, pid: int
) -> dict[str, object]:
    request = extraction_service_pb2.ExtractClinicalDataRequest(text=three_kb_note())
    metadata = (("authorization", f"Bearer {token}"),)
    outcomes = Outcomes()
    health_codes: Counter[str] = Counter()
    probe_codes: Counter[str] = Counter()
    rss_before = tree_rss_mb(pid)
    async with (
        aio.insecure_channel(addr) as channel,
        aio.insecure_channel(addr) as health_channel,
        aio.insecure_channel(probe_addr) as probe_channel,
    ):
        stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
        health = health_pb2_grpc.HealthStub(health_channel)
        probe = health_pb2_grpc.HealthStub(probe_channel)

        async def one() -> None:
            await outcomes.call(stub, request, metadata, 5)

        async def probe_health(stub: health_pb2_grpc.HealthStub, codes: Counter[str]) -> None:
            while True:
                try:
                    reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    codes[health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)] += 1
                except aio.AioRpcError as error:
                    codes[error.code().name] += 1
                await asyncio.sleep(0.25)

        probers = [
            asyncio.create_task(probe_health(health, health_codes)),
            asyncio.create_task(probe_health(probe, probe_codes)),
        ]
        tasks = []
        started = time.perf_counter()
        interval = 1.0 / rate
        sent = 0
        while (elapsed := time.perf_counter() - started) < seconds:
            due = int(elapsed / interval) + 1
            while sent < due:
                tasks.append(asyncio.create_task(one()))
                sent += 1
            await asyncio.sleep(interval / 2)
        await asyncio.gather(*tasks)
        for prober in probers:
            prober.cancel()
        duration = time.perf_counter() - started
    return {
        "sent": sent,
        "duration": duration,
        "codes": dict(outcomes.codes),
        "accepted": outcomes.accepted,
        "shed_latency": outcomes.shed,
        "rss_before": rss_before,
        "rss_after": tree_rss_mb(pid),
        "health": dict(health_codes),
        "probe": dict(probe_codes),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests", type=int, default=1000, help="calls per closed-loop row")
    parser.add_argument("--overload-seconds", type=float, default=8.0)
    parser.add_argument("--overload-factor", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        probe_port = free_port()
        server = ServerProcess(Path(state), server_env(Path(state), probe_port=str(probe_port))).start()
        try:
            assert server.process is not None
            pid = server.process.pid
            print(f"server pid {pid}, RSS {tree_rss_mb(pid):.0f} MB (server + engine workers), 3 KB note")
            print("closed loop: N clients, next call when the last ends; shed calls retried after RetryInfo")
            print(
                f"{'concurrency':>11} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'notes/s':>8} {'shed':>6} "
                f"{'shed p99 ms':>11}  codes"
            )
            capacity = 0.0
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                latencies, elapsed, codes, shed_times = asyncio.run(
                    closed_loop(server.addr, server.dev_token, concurrency, args.requests)
                )
                rate = len(latencies) / elapsed
                capacity = max(capacity, rate)
                print(
                    f"{concurrency:>11} {pct(latencies, 0.5):>8.1f} {pct(latencies, 0.95):>8.1f} "
                    f"{pct(latencies, 0.99):>8.1f} {rate:>8.0f} {len(shed_times):>6} "
                    f"{pct(shed_times, 0.99):>11.1f}  {dict(codes)}"
                )
            rate = capacity * args.overload_factor
            result = asyncio.run(
                open_loop(
                    server.addr,
                    f"127.0.0.1:{probe_port}",
                    server.dev_token,
                    rate=rate,
                    seconds=args.overload_seconds,
                    pid=pid,
                )
            )
            accepted = result["accepted"]
            shed = result["shed_latency"]
            assert isinstance(accepted, list) and isinstance(shed, list)
            print(
                f"\noverload: open loop at {rate:.0f} calls/s ({args.overload_factor:g}x capacity) "
                f"for {result['duration']:.1f} s, {result['sent']} calls"
            )
            print(f"  outcomes: {result['codes']}")
            print(
                f"  accepted: {len(accepted)} calls, p50 {pct(accepted, 0.5):.1f} ms, p95 {pct(accepted, 0.95):.1f} ms,"
                f" p99 {pct(accepted, 0.99):.1f} ms"
            )
            print(
                f"  shed:     {len(shed)} calls, answered in p50 {pct(shed, 0.5):.1f} ms, p99 {pct(shed, 0.99):.1f} ms"
            )
            print(f"  RSS:      {result['rss_before']:.0f} MB before, {result['rss_after']:.0f} MB after")
            print(f"  health on the serving port: {result['health']}")
            print(f"  health on the probe port (kubelet's): {result['probe']}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
