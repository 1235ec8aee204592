"""make bench-stall: an authenticated caller's latency while hostile clients hold calls open
that never send their message (issue 12, item 2).

A real server (subprocess, two engine workers, SQLite, auth on, a probe port) gets
`--stalled` unary calls over `--connections` connections that send their headers and then
nothing (no token by default; with --reopen each one the server ends is replaced at once),
then one authenticated caller of another tenant sends `--calls` small notes one after
another. Printed: its status codes and p50/p95/p99, the stalled calls' own outcomes, and
health on the serving and probe ports. Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server"), str(ROOT / "clients/python")]

from grpc import aio  # noqa: E402
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc  # noqa: E402
from healthai_server.auth.tokens import mint_token  # noqa: E402

from tests.e2e.server import ServerProcess, server_env  # noqa: E402
from tests.e2e.stalling import StalledCalls, free_port, health_status, percentile_ms  # noqa: E402


def token(server: ServerProcess, tenant: str) -> str:
    private = (server.state_dir / "dev" / "jwt-private.pem").read_bytes()
    return mint_token(
        private, subject=f"svc-{tenant}", tenant=tenant, roles=["clinician"], issuer="healthai-dev", audience="healthai"
    )


async def measure(server: ServerProcess, probe_addr: str, args: argparse.Namespace) -> None:
    metadata: tuple[tuple[str, str], ...] = ()
    if args.attacker == "bad-token":
        metadata = (("authorization", "Bearer not-a-jwt"),)
    elif args.attacker == "valid-token":
        metadata = (("authorization", f"Bearer {token(server, 'hosp-stall')}"),)
    request = extraction_service_pb2.ExtractClinicalDataRequest(text="BP 142/91, HR 78. Hypertension.")
    caller = (("authorization", f"Bearer {token(server, 'hosp-real')}"),)
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    async with aio.insecure_channel(server.addr) as channel:
        stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
        for _ in range(20):  # warm up
            await stub.ExtractClinicalData(request, metadata=caller, timeout=10)
        stalled = await StalledCalls(
            server.addr, args.stalled, args.connections, metadata=metadata, reopen=args.reopen
        ).open()
        try:
            await asyncio.sleep(0.5)
            open_after_warmup = stalled.still_open
            for _ in range(args.calls):
                started = time.perf_counter()
                try:
                    await stub.ExtractClinicalData(request, metadata=caller, timeout=10)
                except aio.AioRpcError as error:
                    codes[error.code().name] += 1
                else:
                    codes["OK"] += 1
                latencies.append(time.perf_counter() - started)
            main_health = await health_status(server.addr)
            probe_health = await health_status(probe_addr)
            still_open = stalled.still_open
            opened = stalled.opened
        finally:
            await stalled.close()
    print(
        f"stalled calls: {args.stalled} over {args.connections} connections, attacker {args.attacker}"
        + (", each replaced as soon as it ends" if args.reopen else "")
    )
    print(f"  slots still holding a call 0.5 s after opening: {open_after_warmup}; at the end: {still_open}")
    print(f"  calls opened in all: {opened}")
    print(f"  their outcomes: {dict(stalled.codes)}")
    print(f"authenticated caller, {args.calls} sequential calls (every call timed, whatever its status):")
    print(
        f"  codes {dict(codes)}  p50 {percentile_ms(latencies, 0.5):.1f} ms"
        f"  p95 {percentile_ms(latencies, 0.95):.1f} ms  p99 {percentile_ms(latencies, 0.99):.1f} ms"
        f"  max {max(latencies) * 1000:.1f} ms"
    )
    print(f"health: serving port {main_health}, probe port {probe_health}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stalled", type=int, default=200)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument(
        "--reopen", action="store_true", help="replace each stalled call the server ends at once (a call flood)"
    )
    parser.add_argument("--attacker", choices=["no-token", "bad-token", "valid-token"], default="no-token")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        probe_port = free_port()
        server = ServerProcess(Path(state), server_env(Path(state), probe_port=str(probe_port))).start()
        try:
            asyncio.run(measure(server, f"127.0.0.1:{probe_port}", args))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
