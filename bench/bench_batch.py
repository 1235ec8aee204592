"""make bench-batch: notes/s of one batch job against unary calls at concurrency 8, in the same
run, on the same notes (the golden and real-text notes, cycled), on a real server.

Default 2,000 notes on the embedded default (SQLite, one process); `--notes 20000` for the
issue's size; `--postgres` adds PostgreSQL with one and with two server processes consuming
the same job (CPU seconds per note of each process reported, so the shared parts are seen).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server"), str(ROOT / "clients/python")]

import grpc  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from google.longrunning import operations_pb2, operations_pb2_grpc  # noqa: E402
from google.protobuf import duration_pb2  # noqa: E402
from grpc import aio  # noqa: E402
from healthai.v1 import batch_service_pb2, batch_service_pb2_grpc, extraction_service_pb2, extraction_service_pb2_grpc  # noqa: E402

from tests.e2e.server import ServerProcess, engine_worker_pids, server_env  # noqa: E402

ADMIN_URL = os.environ.get("HEALTHAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CORPUS = [ROOT / "data/golden/clinical/notes", Path("/work/shared/corpora/mtsamples-dev")]


def load_notes(count: int) -> list[tuple[str, str]]:
    texts = [p.read_text(errors="ignore") for d in CORPUS if d.is_dir() for p in sorted(d.rglob("*.txt"))]
    texts = [t[:20_000] for t in texts if t.strip()]
    return [(f"n{i}", texts[i % len(texts)]) for i in range(count)]


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children still alive (engine workers), from /proc."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for p in [pid, *engine_worker_pids(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError):
            pass
    return total


async def unary(addr: str, token: str, notes: list[tuple[str, str]], concurrency: int = 8) -> float:
    async with aio.insecure_channel(addr) as channel:
        stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
        metadata = (("authorization", f"Bearer {token}"),)
        queue = list(reversed(notes))

        async def worker() -> None:
            while queue:
                note_id, text = queue.pop()
                request = extraction_service_pb2.ExtractClinicalDataRequest(note_id=note_id, text=text)
                for _attempt in range(20):  # shed calls come back with RetryInfo: retry like a client would
                    try:
                        await stub.ExtractClinicalData(request, metadata=metadata, timeout=60)
                        break
                    except aio.AioRpcError as error:
                        if error.code() not in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE):
                            raise
                        await asyncio.sleep(0.05)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(notes) / (time.perf_counter() - started)


def batch(addr: str, token: str, notes: list[tuple[str, str]], pids: list[int]) -> tuple[float, float, list[float]]:
    channel = grpc.insecure_channel(addr, options=[("grpc.max_send_message_length", 64 << 20)])
    metadata = (("authorization", f"Bearer {token}"),)
    stub = batch_service_pb2_grpc.BatchServiceStub(channel)
    operations = operations_pb2_grpc.OperationsStub(channel)

    def messages() -> Iterator[batch_service_pb2.CreateBatchJobRequest]:
        yield batch_service_pb2.CreateBatchJobRequest(
            settings=batch_service_pb2.BatchJobSettings(request_id=f"bench-{uuid.uuid4()}")
        )
        for note_id, text in notes:
            yield batch_service_pb2.CreateBatchJobRequest(note=batch_service_pb2.BatchNote(note_id=note_id, text=text))

    cpu_before = [cpu_seconds(pid) for pid in pids]
    started = time.perf_counter()
    operation = stub.CreateBatchJob(messages(), metadata=metadata, timeout=600)
    uploaded = time.perf_counter() - started
    while not operation.done:
        operation = operations.WaitOperation(
            operations_pb2.WaitOperationRequest(name=operation.name, timeout=duration_pb2.Duration(seconds=10)),
            metadata=metadata,
            timeout=20,
        )
    elapsed = time.perf_counter() - started
    meta = batch_service_pb2.BatchJobMetadata()
    operation.metadata.Unpack(meta)
    assert meta.succeeded == len(notes), meta
    cpu = [(cpu_seconds(pid) - before) / len(notes) * 1000 for pid, before in zip(pids, cpu_before, strict=True)]
    channel.close()
    return len(notes) / elapsed, uploaded, cpu


def postgres_database() -> str:
    name = f"healthai_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def run_setup(label: str, notes: list[tuple[str, str]], processes: int, database_url: str = "") -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    servers: list[ServerProcess] = []
    try:
        settings = {"database_url": database_url} if database_url else {}
        servers.append(ServerProcess(root / "s0", server_env(root / "s0", None, **settings)).start())
        for index in range(1, processes):
            shutil.copytree(root / "s0" / "dev", root / f"s{index}" / "dev")
            servers.append(ServerProcess(root / f"s{index}", server_env(root / f"s{index}", None, **settings)).start())
        first = servers[0]
        pids = [s.process.pid for s in servers if s.process is not None]
        unary_notes = notes[: max(len(notes) // 4, 200)]
        cpu_before = cpu_seconds(pids[0])
        unary_rate = asyncio.run(unary(first.addr, first.dev_token, unary_notes))
        unary_cpu = (cpu_seconds(pids[0]) - cpu_before) / len(unary_notes) * 1000
        rate, uploaded, cpu = batch(first.addr, first.dev_token, notes, pids)
        cpu_text = ", ".join(f"{c:.1f}" for c in cpu)
        print(
            f"{label:<34} batch {rate:7.1f} notes/s (upload {uploaded:5.1f} s)  unary c=8 {unary_rate:7.1f} notes/s  "
            f"ratio {rate / unary_rate:4.2f}x  CPU ms/note: unary {unary_cpu:.1f}, batch per server process "
            f"(+workers) {cpu_text}",
            flush=True,
        )
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=2000, help="notes in the job (default 2,000; the issue: 20,000)")
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL with one and two server processes")
    args = parser.parse_args()
    notes = load_notes(args.notes)
    chars = sum(len(t) for _n, t in notes) / len(notes)
    print(f"{len(notes):,} notes, {chars:,.0f} characters on average; machine: {os.cpu_count()} cores", flush=True)
    run_setup("embedded (SQLite, 1 process)", notes, 1)
    if args.postgres:
        for processes in (1, 2):
            url = postgres_database()
            try:
                run_setup(f"PostgreSQL, {processes} process(es)", notes, processes, url)
            finally:
                drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
