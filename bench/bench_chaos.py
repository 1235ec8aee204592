"""make bench-chaos: traffic against a real server on PostgreSQL while faults are injected.

Faults, on a schedule over `--duration` seconds:
  * `kill -9` of one engine worker, every `--worker-kill-every` seconds;
  * the database "restarts": every server connection to its database is terminated
    (pg_terminate_backend; `--restart-cluster` restarts the whole PostgreSQL cluster
    instead, which also disturbs anything else using it);
  * `kill -9` of the server once, then a restart on the same port and database.

Every call sends its own id (x-audit-id, kept as the audit event's correlation id), so the
audit trail can be compared with what each client got. Reported: client OKs missing from the
audit (must be 0), audit rows whose status differs from the client's (must be 0; calls the
client saw fail because the server died are not comparable and counted apart), time to the
first success after each fault, and the server tree's RSS over time. Loopback only; bounded
in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server"), str(ROOT / "clients/python")]

import sqlalchemy as sa  # noqa: E402
from bench_load import free_port, tree_rss_mb  # noqa: E402
from grpc import aio  # noqa: E402
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc  # noqa: E402
from notes import three_kb_note  # noqa: E402

from tests.e2e.server import ServerProcess, engine_worker_pids, server_env  # noqa: E402

ADMIN_URL = os.environ.get("HEALTHAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass
class Fault:
    kind: str
    at: float
    recovered_after_s: float | None = None


@dataclass
class Run:
    client: dict[str, str] = field(default_factory=dict)  # audit id -> status the client got
    codes: Counter[str] = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)
    last_ok: float = 0.0


async def traffic(run: Run, addr: list[str], token: str, stop: asyncio.Event, concurrency: int) -> None:
    note = three_kb_note()
    metadata_base = (("authorization", f"Bearer {token}"),)

    async def worker() -> None:
        channel_addr = ""
        channel: aio.Channel | None = None
        while not stop.is_set():
            if channel is None or channel_addr != addr[0]:
                if channel is not None:
                    await channel.close()
                channel_addr = addr[0]
                channel = aio.insecure_channel(channel_addr)
            stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
            audit_id = str(uuid.uuid4())
            request = extraction_service_pb2.ExtractClinicalDataRequest(note_id="chaos", text=note)
            try:
                await stub.ExtractClinicalData(request, metadata=(*metadata_base, ("x-audit-id", audit_id)), timeout=5)
                code = "OK"
                run.last_ok = time.monotonic()
            except aio.AioRpcError as error:
                code = error.code().name
                await asyncio.sleep(0.05)
            run.client[audit_id] = code
            run.codes[code] += 1
        if channel is not None:
            await channel.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def recovered(run: Run, fault: Fault, timeout_s: float = 60) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if run.last_ok > fault.at:
            fault.recovered_after_s = run.last_ok - fault.at
            return
        await asyncio.sleep(0.02)


def terminate_connections(database: str) -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        )
    admin.dispose()


def restart_cluster(_database: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["/usr/bin/pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)


async def chaos(args: argparse.Namespace, state: Path, database: str, url: str) -> Run:
    port = free_port()
    env = server_env(state, database_url=url, listen_addr=f"127.0.0.1:{port}", health_check_interval_s="0.5")
    server = ServerProcess(state, env).start()
    run = Run()
    addr = [server.addr]
    stop = asyncio.Event()
    load = asyncio.create_task(traffic(run, addr, server.dev_token, stop, args.concurrency))
    began = time.monotonic()
    rng = random.Random(7)
    server_killed = db_restarted = False
    next_worker_kill = args.worker_kill_every
    try:
        while (elapsed := time.monotonic() - began) < args.duration:
            await asyncio.sleep(0.25)
            assert server.process is not None
            if int(elapsed) % 5 == 0 and (not run.rss or elapsed - run.rss[-1][0] >= 4.5):
                run.rss.append((elapsed, tree_rss_mb(server.process.pid)))
            if elapsed >= next_worker_kill:
                next_worker_kill += args.worker_kill_every
                workers = engine_worker_pids(server.process.pid)
                if workers:
                    os.kill(rng.choice(workers), signal.SIGKILL)
                    fault = Fault("worker kill -9", time.monotonic())
                    run.faults.append(fault)
                    await recovered(run, fault)
            if not db_restarted and elapsed >= args.duration * 0.4:
                db_restarted = True
                await asyncio.to_thread(restart_cluster if args.restart_cluster else terminate_connections, database)
                fault = Fault("database restart", time.monotonic())
                run.faults.append(fault)
                await recovered(run, fault)
            if not server_killed and elapsed >= args.duration * 0.7:
                server_killed = True
                server.process.kill()
                server.process.wait()
                fault = Fault("server kill -9", time.monotonic())
                run.faults.append(fault)
                restart_began = time.monotonic()
                server = ServerProcess(state, env).start()
                print(f"server restarted (start-up {time.monotonic() - restart_began:.1f} s)", flush=True)
                addr[0] = server.addr
                await recovered(run, fault)
    finally:
        stop.set()
        await load
        server.stop()
    return run


def compare_with_audit(run: Run, url: str) -> tuple[int, Counter[str], int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT details, status_code FROM audit_events")).all()
    # The audit id is the server's own; the id each client sent is kept as its correlation id.
    audited: dict[str, str] = {}
    for details, status in rows:
        correlation = json.loads(details).get("correlation_id")
        if correlation:
            audited[str(correlation)] = str(status)
    engine.dispose()
    missing = sum(1 for audit_id, code in run.client.items() if code == "OK" and audit_id not in audited)
    comparable = {a: c for a, c in run.client.items() if a in audited}
    differing = Counter(
        f"client {code} / audit {audited[audit_id]}"
        for audit_id, code in comparable.items()
        if audited[audit_id] != code
    )
    return missing, differing, len(run.client) - len(comparable)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--worker-kill-every", type=float, default=15.0)
    parser.add_argument("--restart-cluster", action="store_true", help="restart PostgreSQL itself (disruptive)")
    args = parser.parse_args()
    database = f"healthai_chaos_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    try:
        with tempfile.TemporaryDirectory() as state:
            run = asyncio.run(chaos(args, Path(state), database, url))
            missing, differing, not_audited = compare_with_audit(run, url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
    print(f"calls: {sum(run.codes.values())}  by status: {dict(run.codes)}")
    print(f"client OKs missing from the audit: {missing}  (must be 0)")
    print(
        f"audit rows whose status differs from the client's: {sum(differing.values())}  (must be 0) {dict(differing)}"
    )
    print(f"calls with no audit row (refused before the chain, or cut off by the server's death): {not_audited}")
    for fault in run.faults:
        after = f"{fault.recovered_after_s:.2f} s" if fault.recovered_after_s is not None else "not within 60 s"
        print(f"  {fault.kind:<18} first success after {after}")
    print("RSS of server + workers (MB) over time: " + ", ".join(f"{t:.0f}s={mb:.0f}" for t, mb in run.rss))
    return 0 if missing == 0 and not differing else 1


if __name__ == "__main__":
    raise SystemExit(main())
