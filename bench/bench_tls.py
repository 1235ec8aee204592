"""make bench-tls: what TLS and mTLS cost against plaintext, on one real server per transport.

1. Connection set-up: a fresh channel (TCP + TLS handshake + HTTP/2 settings) and its first
   health call, N times per transport: p50/p95 ms.
2. Warm unary calls on one channel: a health check (transport and chain only) and a small
   ExtractClinicalData (the real path with auth and audit), sequential: p50/p95/p99 ms.
Servers are subprocesses on 127.0.0.1 with one engine worker and SQLite; certificates come
from a throwaway CA (ECDSA P-256), as in the tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server"), str(ROOT / "clients/python")]

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc  # noqa: E402

from tests.e2e.server import ServerProcess, server_env  # noqa: E402
from tests.pki import TestCA  # noqa: E402

SPIFFE = "spiffe://bench/ns/bench/sa/client"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        ca = TestCA()
        ca_file = ca.write(base / "pki")
        cert, key = ca.server().write(base / "pki", "server")
        client_cert, client_key = ca.issue("bench", uris=(SPIFFE,), client=True).write(base / "pki", "client")
        tls = {"tls_cert_file": str(cert), "tls_key_file": str(key)}
        transports: dict[str, tuple[dict[str, str], grpc.ChannelCredentials | None]] = {
            "plaintext": ({}, None),
            "tls": (tls, grpc.ssl_channel_credentials(ca_file.read_bytes())),
            "mtls": (
                {
                    **tls,
                    "tls_client_ca_file": str(ca_file),
                    "tls_peer_principals": json.dumps({SPIFFE: {"tenant": "bench", "roles": ["service"]}}),
                },
                grpc.ssl_channel_credentials(ca_file.read_bytes(), client_key.read_bytes(), client_cert.read_bytes()),
            ),
        }
        print(f"{args.connections} fresh connections and {args.calls} warm calls per transport, loopback")
        print(
            f"{'transport':<10} {'connect p50':>11} {'p95':>7} | {'health p50':>10} {'p99':>6} | "
            f"{'extract p50':>11} {'p95':>7} {'p99':>7}"
        )
        for name, (settings, credentials) in transports.items():
            state = base / name
            server = ServerProcess(state, server_env(state, None, engine_workers="1", **settings)).start()
            try:
                token = server.dev_token if name != "mtls" else ""  # mTLS: the mapped certificate is the principal
                connects, checks, extracts = measure(server.addr, credentials, token, args.connections, args.calls)
            finally:
                server.stop()
            print(
                f"{name:<10} {statistics.median(connects):>9.2f}ms {percentile(connects, 0.95):>7.2f} | "
                f"{statistics.median(checks):>8.3f}ms {percentile(checks, 0.99):>6.3f} | "
                f"{statistics.median(extracts):>9.2f}ms {percentile(extracts, 0.95):>7.2f} "
                f"{percentile(extracts, 0.99):>7.2f}"
            )


def measure(
    addr: str, credentials: grpc.ChannelCredentials | None, token: str, connections: int, calls: int
) -> tuple[list[float], list[float], list[float]]:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def channel() -> grpc.Channel:
        return grpc.insecure_channel(addr) if credentials is None else grpc.secure_channel(addr, credentials)

    def connect_and_check() -> None:
        with channel() as fresh:
            health_pb2_grpc.HealthStub(fresh).Check(health_pb2.HealthCheckRequest(), timeout=10)

    timed(connect_and_check, 10)  # warm imports and the server's first handshakes
    connects = timed(connect_and_check, connections)
    with channel() as warm:
        health = health_pb2_grpc.HealthStub(warm)
        extract = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(warm)
        request = extraction_service_pb2.ExtractClinicalDataRequest(text="BP 120/80, HR 72.")
        timed(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=10), 200)
        checks = timed(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=10), calls)
        extracts = timed(lambda: extract.ExtractClinicalData(request, metadata=metadata, timeout=10), calls // 4)
    return connects, checks, extracts


if __name__ == "__main__":
    main()
