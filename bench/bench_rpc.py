"""make bench-rpc: latency and throughput of ExtractClinicalData with a ~3 KB note.

The server runs in its own process (spawned), the async client here. Rows:
  full/pool   the real server: every interceptor, SQLite audit trail, engine process pool
  bare/pool   the same servicer and engine pool with no interceptors (only the request scope)
  full/inline the real server with the engine run on the event loop (the baseline for the pool)
The chain's cost is full/pool minus bare/pool at the same concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server"), str(ROOT / "clients/python")]

import grpc  # noqa: E402
from grpc import aio  # noqa: E402
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc  # noqa: E402
from notes import three_kb_note  # noqa: E402


async def _serve(mode: str, engine_workers: int, state_dir: str, ready: Any) -> None:
    from healthai_server.app import build_application
    from healthai_server.auth.dev import token_path
    from healthai_server.config import load_settings
    from healthai_server.observability.logging import configure_logging

    configure_logging("INFO", open(os.devnull, "w"))  # noqa: SIM115, ASYNC230 - logging cost stays in
    settings = load_settings(
        {},
        state_dir=Path(state_dir),
        listen_addr="127.0.0.1:0",
        engine_workers=engine_workers,
        max_concurrent_rpcs=1024,
        plaintext=True,
    )
    if mode == "full":
        app = await build_application(settings)
        ready.send((app.port, token_path(settings).read_text().strip()))
        await asyncio.Event().wait()
    await _serve_bare(settings, ready)


async def _serve_bare(settings: Any, ready: Any) -> None:
    from healthai_server.backends.local import LocalBackend
    from healthai_server.engine import ENGINE_VERSION
    from healthai_server.interceptors.chain import ChainInterceptor
    from healthai_server.pipeline.extraction import ExtractionPipeline
    from healthai_server.pipeline.hashing import NoteHasher
    from healthai_server.scope import RequestScope, set_scope
    from healthai_server.services.extraction import ClinicalExtractionServicer
    from healthai_server.storage.audit import AuditRepository
    from healthai_server.storage.audit_keys import ChainKey, ChainKeyring
    from healthai_server.storage.db import Database
    from healthai_server.validation_rules import RequestValidator
    from healthai_server.workers import CpuWorkers

    class ScopeOnly:
        async def intercept(self, call: Any, request: Any, context: Any, proceed: Any) -> Any:
            set_scope(RequestScope(audit_id="bench", method=call.method))
            return await proceed(request, context)

    workers = CpuWorkers(settings.engine_workers, b"k" * 32)
    await workers.warm_up()
    pipeline = ExtractionPipeline(LocalBackend(workers, ENGINE_VERSION), lambda *_: "")
    db = Database(f"sqlite:///{settings.state_dir}/unused.db")
    audit = AuditRepository(db, ChainKeyring(ChainKey.from_secret(b"k" * 32)))
    servicer = ClinicalExtractionServicer(pipeline, NoteHasher(b"k" * 32), RequestValidator(100_000), audit, 30.0)
    server = aio.server(interceptors=[ChainInterceptor([ScopeOnly()])])
    extraction_service_pb2_grpc.add_ClinicalExtractionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    ready.send((port, ""))
    await asyncio.Event().wait()


def _server_main(mode: str, engine_workers: int, state_dir: str, ready: Any) -> None:
    asyncio.run(_serve(mode, engine_workers, state_dir, ready))


async def _load(port: int, token: str, note: str, concurrency: int, total: int) -> tuple[list[float], float, int]:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    request = extraction_service_pb2.ExtractClinicalDataRequest(text=note)
    latencies: list[float] = []
    errors = 0
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
        for _ in range(20):  # warm-up: connection, caches, workers
            await stub.ExtractClinicalData(request, metadata=metadata, timeout=30)
        remaining = total

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                try:
                    await stub.ExtractClinicalData(request, metadata=metadata, timeout=30)
                except grpc.RpcError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, errors


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600, help="calls per row")
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    note = three_kb_note()
    levels = [int(c) for c in args.concurrency.split(",")]
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for mode, workers in (("full", 0), ("bare", 0), ("full", -1)):
        with tempfile.TemporaryDirectory() as state_dir:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_server_main, args=(mode, workers, state_dir, child))
            process.start()
            if not parent.poll(120):
                process.terminate()
                raise SystemExit(f"the {mode} server did not start (exit code {process.exitcode})")
            port, token = parent.recv()
            for concurrency in levels:
                latencies, elapsed, errors = asyncio.run(_load(port, token, note, concurrency, args.requests))
                rows.append(
                    (
                        f"{mode}/{'inline' if workers < 0 else 'pool'}",
                        concurrency,
                        _pct(latencies, 0.5),
                        _pct(latencies, 0.95),
                        _pct(latencies, 0.99),
                        len(latencies) / elapsed,
                        errors,
                    )
                )
            process.terminate()
            process.join()
    print(f"ExtractClinicalData, {len(note.encode())}-byte note, {args.requests} calls per row, {os.cpu_count()} CPUs")
    print(f"{'server':<12} {'conc':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'calls/s':>8} {'errors':>6}")
    for name, conc, p50, p95, p99, rate, errors in rows:
        print(f"{name:<12} {conc:>4} {p50:>8.2f} {p95:>8.2f} {p99:>8.2f} {rate:>8.0f} {errors:>6}")
    full = {r[1]: r for r in rows if r[0] == "full/pool"}
    bare = {r[1]: r for r in rows if r[0] == "bare/pool"}
    for conc in levels:
        print(
            f"chain overhead at concurrency {conc}: p50 {full[conc][2] - bare[conc][2]:+.2f} ms, "
            f"p95 {full[conc][3] - bare[conc][3]:+.2f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
