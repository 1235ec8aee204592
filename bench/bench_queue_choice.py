"""The queue's own cost per note, without extraction: PgQueuer 1.6.0 against the batch store's
SKIP LOCKED leases, on the same PostgreSQL, with no-op work, one and two consumers.

    .venv/bin/python bench/bench_queue_choice.py --impl store
    python -m venv /tmp/pgq && /tmp/pgq/bin/pip install pgqueuer==1.6.0 asyncpg
    /tmp/pgq/bin/python bench/bench_queue_choice.py --impl pgqueuer

PgQueuer is not a dependency of the service: it runs from its own venv here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADMIN = os.environ.get("HEALTHAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


async def with_database(run: Any) -> float:
    import psycopg

    name = f"queue_bench_{uuid.uuid4().hex[:8]}"
    plain = ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return float(await run(plain.rsplit("/", 1)[0] + f"/{name}"))
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def pgqueuer_run(url: str, notes: int, consumers: int) -> float:
    import asyncpg
    from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
    from pgqueuer.core.qm import QueueManager
    from pgqueuer.queries import Queries
    from pgqueuer.types import QueueExecutionMode

    setup = await asyncpg.connect(url)
    await Queries(AsyncpgDriver(setup)).install()
    await Queries(AsyncpgDriver(setup)).enqueue(["note"] * notes, [b"x" * 64] * notes, [0] * notes)
    done = 0

    async def consumer() -> None:
        nonlocal done
        connection = await asyncpg.connect(url)
        manager = QueueManager(Queries(AsyncpgDriver(connection)))

        @manager.entrypoint("note")  # type: ignore[untyped-decorator]
        async def note(_job: Any) -> None:
            nonlocal done
            done += 1

        await manager.run(mode=QueueExecutionMode.drain, batch_size=32, dequeue_timeout=timedelta(seconds=1))
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(consumer() for _ in range(consumers)))
    elapsed = time.perf_counter() - started
    await setup.close()
    assert done >= notes, done
    return notes / elapsed


async def store_run(url: str, notes: int, consumers: int) -> float:
    sys.path[:0] = [str(ROOT / "server"), str(ROOT / "clients/python")]
    from healthai_server.domain.batch import NoteInput
    from healthai_server.storage import migrate
    from healthai_server.storage.batch import BatchStore, ItemOutcome
    from healthai_server.storage.crypto import FieldEncryptor
    from healthai_server.storage.db import Database

    db = Database(url.replace("postgresql://", "postgresql+psycopg://"))
    migrate.upgrade(db.engine)
    store = BatchStore(db, FieldEncryptor({"k": os.urandom(32)}, "k"))
    await store.create_staging("batch-bench", "t", "p", "", timedelta(days=1))
    for first in range(0, notes, 500):
        chunk = [NoteInput(f"n{i}", b"x" * 64) for i in range(first, min(first + 500, notes))]
        await store.stage_notes("batch-bench", "t", first, chunk)
    await store.finalize("batch-bench", "t", notes)

    async def consumer(owner: str) -> None:
        while items := await store.claim(owner, 32, timedelta(seconds=60)):
            await store.write(owner, [ItemOutcome(item, result=b"r") for item in items])

    started = time.perf_counter()
    await asyncio.gather(*(consumer(f"c{i}") for i in range(consumers)))
    elapsed = time.perf_counter() - started
    db.close()
    return notes / elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=["pgqueuer", "store"], required=True)
    parser.add_argument("--notes", type=int, default=5000)
    args = parser.parse_args()
    run = pgqueuer_run if args.impl == "pgqueuer" else store_run
    for consumers in (1, 2):
        rate = asyncio.run(with_database(lambda url, c=consumers: run(url, args.notes, c)))
        print(
            f"{args.impl:<9} {consumers} consumer(s): {rate:8.0f} notes/s (no-op work, {args.notes} notes)", flush=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
