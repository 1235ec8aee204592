"""Scheduled purges: expired rows actually go, and one failing job does not stop the others."""

from __future__ import annotations

import asyncio
import os

from healthai_server.housekeeping import Housekeeping, PurgeJob
from healthai_server.storage import migrate
from healthai_server.storage.crypto import FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.result_cache import SqlResultCache


async def test_expired_cache_rows_are_purged_on_both_engines(database_url: str) -> None:
    db = Database(database_url)
    migrate.upgrade(db.engine)
    cache = SqlResultCache(db, FieldEncryptor({"k1": os.urandom(32)}, "k1"))
    try:
        await cache.put("t1", "expired", b"payload", ttl_s=-1)
        await cache.put("t1", "fresh", b"payload", ttl_s=3600)
        purged: list[tuple[str, int]] = []
        housekeeping = Housekeeping(
            [PurgeJob("result_cache", cache.purge_expired)], 60, on_purged=lambda *a: purged.append(a)
        )
        assert await housekeeping.run_once() == {"result_cache": 1}
        assert purged == [("result_cache", 1)]
        assert await cache.get("t1", "fresh") == b"payload"
        assert await housekeeping.run_once() == {"result_cache": 0}
    finally:
        db.close()


async def test_a_failing_job_is_counted_and_the_others_still_run() -> None:
    ran: list[str] = []
    failed: list[str] = []

    async def broken() -> int:
        raise RuntimeError("database gone")

    async def fine() -> int:
        ran.append("fine")
        return 3

    housekeeping = Housekeeping(
        [PurgeJob("broken", broken), PurgeJob("fine", fine)], interval_s=0.01, on_failure=failed.append
    )
    housekeeping.start()
    for _ in range(100):
        if len(ran) >= 2:
            break
        await asyncio.sleep(0.01)
    await housekeeping.stop()
    assert len(ran) >= 2 and failed[:2] == ["broken", "broken"]
