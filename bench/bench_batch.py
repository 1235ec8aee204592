"""make bench-batch: notes/s of one batch job against unary calls at concurrency 8, in the same
run, on the same notes (the golden and real-text notes, cycled), on a real server.

Default 2,000 notes on the embedded default (SQLite, one process); `--notes 20000` for the
issue's size; `--postgres` adds PostgreSQL with one and with two server processes consuming
the same job. CPU ms per note is reported apart for each server process, its engine workers and
(on PostgreSQL) the database's backends serving the run, so a shared part that would cap a
cluster before the engines do shows up as its own column.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import threading
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


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process, from /proc (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children still alive (engine workers), from /proc."""
    return sum(process_cpu_s(p) for p in [pid, *engine_worker_pids(pid)])


class PostgresCpu:
    """CPU seconds of the PostgreSQL backends serving one database during a run.

    Backends are sampled from pg_stat_activity every 0.2 s (a pooled connection's backend lives
    for the run; one opened mid-run counts from zero) and read from /proc, so the shared
    database's cost per note is seen next to the servers' own. Needs the server on this machine
    (the bench's 127.0.0.1) and permission to read its /proc entries."""

    def __init__(self, database_url: str) -> None:
        self._database = database_url.rsplit("/", 1)[1]
        self._admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1)
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False

    def _pids(self) -> list[int]:
        with self._admin.connect() as conn:
            rows = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self._database})
            return [int(row.pid) for row in rows]

    def _sample(self) -> None:
        for pid in self._pids():
            cpu = process_cpu_s(pid)
            # A backend already there when the run starts counts from its CPU then; a new one from zero.
            self._first.setdefault(pid, cpu if not self._started else 0.0)
            self._last[pid] = max(cpu, self._last.get(pid, 0.0))

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> PostgresCpu:
        self._sample()
        self._started = True
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self._admin.dispose()

    @property
    def seconds(self) -> float:
        return sum(self._last[pid] - first for pid, first in self._first.items())


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


def batch(addr: str, token: str, notes: list[tuple[str, str]]) -> tuple[float, float]:
    """notes/s of one job from the first message of its upload to done, and the upload's seconds."""
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
    channel.close()
    return len(notes) / elapsed, uploaded


class CpuMeter:
    """CPU ms per note over one run: each server process alone, its engine workers, PostgreSQL."""

    def __init__(self, pids: list[int], database_url: str) -> None:
        self._pids = pids
        self._workers = {pid: engine_worker_pids(pid) for pid in pids}
        self._database_url = database_url
        self._pg: PostgresCpu | None = None

    def _read(self) -> list[tuple[float, float]]:
        return [(process_cpu_s(pid), sum(process_cpu_s(w) for w in self._workers[pid])) for pid in self._pids]

    def __enter__(self) -> CpuMeter:
        self._before = self._read()
        if self._database_url:
            self._pg = PostgresCpu(self._database_url).__enter__()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._after = self._read()
        if self._pg is not None:
            self._pg.__exit__()

    def per_note(self, notes: int) -> tuple[list[tuple[float, float]], float | None]:
        """[(server ms, its workers ms) per process], PostgreSQL ms (None on SQLite)."""
        parts = [
            ((a_main - b_main) / notes * 1000, (a_work - b_work) / notes * 1000)
            for (b_main, b_work), (a_main, a_work) in zip(self._before, self._after, strict=True)
        ]
        return parts, (self._pg.seconds / notes * 1000 if self._pg is not None else None)


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


def run_setup(
    label: str, notes: list[tuple[str, str]], processes: int, database_url: str = "", env: dict[str, str] | None = None
) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    servers: list[ServerProcess] = []
    try:
        settings = {"database_url": database_url} if database_url else {}
        servers.append(ServerProcess(root / "s0", server_env(root / "s0", env, **settings)).start())
        for index in range(1, processes):
            shutil.copytree(root / "s0" / "dev", root / f"s{index}" / "dev")
            servers.append(ServerProcess(root / f"s{index}", server_env(root / f"s{index}", env, **settings)).start())
        first = servers[0]
        pids = [s.process.pid for s in servers if s.process is not None]
        unary_notes = notes[: max(len(notes) // 4, 200)]
        with CpuMeter(pids[:1], database_url) as unary_cpu:
            unary_rate = asyncio.run(unary(first.addr, first.dev_token, unary_notes))
        with CpuMeter(pids, database_url) as batch_cpu:
            rate, uploaded = batch(first.addr, first.dev_token, notes)
        (unary_parts, unary_pg) = unary_cpu.per_note(len(unary_notes))
        (batch_parts, batch_pg) = batch_cpu.per_note(len(notes))
        unary_total = sum(m + w for m, w in unary_parts) + (unary_pg or 0.0)
        batch_total = sum(m + w for m, w in batch_parts) + (batch_pg or 0.0)

        def parts(split: list[tuple[float, float]], pg: float | None) -> str:
            text = " | ".join(f"server {m:.2f} + workers {w:.2f}" for m, w in split)
            return text + (f" | postgres {pg:.2f}" if pg is not None else "")

        print(
            f"{label:<30} batch {rate:6.1f} notes/s (upload {uploaded:4.1f} s)  unary c=8 {unary_rate:6.1f} notes/s  "
            f"ratio {rate / unary_rate:4.2f}x  load {os.getloadavg()[0]:.1f}\n"
            f"{'':<30} CPU ms/note  unary {unary_total:5.2f} ({parts(unary_parts, unary_pg)})\n"
            f"{'':<30}              batch {batch_total:5.2f} ({parts(batch_parts, batch_pg)})",
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
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE", help="server setting")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the embedded (SQLite) row")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.server_env)
    notes = load_notes(args.notes)
    chars = sum(len(t) for _n, t in notes) / len(notes)
    print(f"{len(notes):,} notes, {chars:,.0f} characters on average; machine: {os.cpu_count()} cores", flush=True)
    if not args.no_sqlite:
        run_setup("embedded (SQLite, 1 process)", notes, 1, env=env)
    if args.postgres:
        for processes in (1, 2):
            url = postgres_database()
            try:
                run_setup(f"PostgreSQL, {processes} process(es)", notes, processes, url, env)
            finally:
                drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
