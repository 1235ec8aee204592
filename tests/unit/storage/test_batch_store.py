"""The batch queue on both engines: leases, exactly-once results, retries, dead letters,
replay, cancel, idempotency keys, purge."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from healthai_server.domain.batch import ItemFailure, JobState, NoteInput
from healthai_server.domain.errors import InvalidRequest
from healthai_server.domain.provenance import TokenUsage
from healthai_server.storage import migrate
from healthai_server.storage.batch import BatchStore, ItemOutcome, RetryPolicy, utcnow
from healthai_server.storage.batch_tables import batch_items
from healthai_server.storage.crypto import FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.schema import usage_ledger
from healthai_server.storage.usage import UsageRecord

LEASE = timedelta(seconds=30)
TRANSIENT = ItemFailure(14, "BACKEND_UNAVAILABLE", "engine worker died", retryable=True)
PERMANENT = ItemFailure(3, "INVALID_ARGUMENT", "text too long", retryable=False)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database.engine)
    yield database
    database.close()


def _store(db: Database, max_attempts: int = 3) -> BatchStore:
    return BatchStore(db, FieldEncryptor({"k1": os.urandom(32)}, "k1"), RetryPolicy(max_attempts, 0.0, 0.0))


async def _job(store: BatchStore, name: str, tenant: str = "t1", notes: int = 3) -> None:
    await store.create_staging(name, tenant, "svc", "nightly", timedelta(days=1))
    await store.stage_notes(name, tenant, 0, [NoteInput(f"n{i}", f"note {i}".encode()) for i in range(notes)])
    await store.finalize(name, tenant, notes)


def _usage(tenant: str, audit_id: str) -> UsageRecord:
    return UsageRecord(tenant, "batch", audit_id, "anthropic", "m", TokenUsage(10, 2, 0, 0), 500)


async def test_claim_decrypts_and_results_are_written_once(db: Database) -> None:
    store = _store(db)
    await _job(store, "batch-a")
    items = await store.claim("owner-1", 10, LEASE)
    assert [(i.note_id, i.payload, i.attempts) for i in items] == [(f"n{i}", f"note {i}".encode(), 1) for i in range(3)]
    assert await store.claim("owner-2", 10, LEASE) == []  # all leased
    report = await store.write(
        "owner-1", [ItemOutcome(item, result=b"r-" + item.note_id.encode(), usage=_usage("t1", "a1")) for item in items]
    )
    assert report.succeeded == 3
    # Written again (a duplicate delivery): nothing changes, no second usage row.
    again = await store.write("owner-1", [ItemOutcome(items[0], result=b"other", usage=_usage("t1", "a1"))])
    assert again.lost_lease == 1
    rows = await db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(usage_ledger)).scalar_one())
    assert rows == 3
    page = await store.results("batch-a", "t1", 2, "")
    assert [r.payload for r in page.items] == [b"r-n0", b"r-n1"]
    rest = await store.results("batch-a", "t1", 2, page.next_page_token)
    assert [r.note_id for r in rest.items] == ["n2"] and rest.next_page_token == ""
    # The note text is erased once the note has its result.
    texts = await db.run(lambda c: c.execute(sa.select(batch_items.c.payload)).scalars().all())
    assert texts == [None, None, None]
    assert await store.complete_finished_jobs() == ["batch-a"]
    job = await store.get("batch-a", "t1")
    assert job is not None and job.state is JobState.SUCCEEDED and job.counts.succeeded == 3
    assert await store.get("batch-a", "t2") is None  # another tenant sees nothing


async def test_a_results_page_stops_at_its_byte_budget_and_the_token_resumes_after_it(db: Database) -> None:
    store = _store(db)
    await _job(store, "batch-big", notes=5)
    items = await store.claim("o", 10, LEASE)
    await store.write("o", [ItemOutcome(item, result=item.note_id.encode() * 100) for item in items])
    first = await store.results("batch-big", "t1", 10, "", max_bytes=450)  # 200 bytes a result
    assert [r.note_id for r in first.items] == ["n0", "n1"] and first.next_page_token
    second = await store.results("batch-big", "t1", 10, first.next_page_token, max_bytes=450)
    assert [r.note_id for r in second.items] == ["n2", "n3"]
    last = await store.results("batch-big", "t1", 10, second.next_page_token, max_bytes=150)
    assert [r.note_id for r in last.items] == ["n4"] and last.next_page_token == ""  # one always fits
    one = await store.results("batch-big", "t1", 1, "", max_bytes=10)
    assert [r.note_id for r in one.items] == ["n0"] and one.next_page_token


async def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_write(db: Database) -> None:
    store = _store(db)
    await _job(store, "batch-b", notes=1)
    (first,) = await store.claim("dead-owner", 10, timedelta(seconds=-1))  # lease already expired
    (second,) = await store.claim("live-owner", 10, LEASE)
    assert second.attempts == 2
    assert (await store.write("dead-owner", [ItemOutcome(first, result=b"late")])).lost_lease == 1
    assert (await store.write("live-owner", [ItemOutcome(second, result=b"ok")])).succeeded == 1
    assert [r.payload for r in (await store.results("batch-b", "t1", 10, "")).items] == [b"ok"]


async def test_retries_then_dead_letter_then_replay(db: Database) -> None:
    store = _store(db, max_attempts=2)
    await _job(store, "batch-c", notes=2)
    items = await store.claim("o", 10, LEASE)
    report = await store.write(
        "o", [ItemOutcome(items[0], failure=TRANSIENT), ItemOutcome(items[1], failure=PERMANENT)]
    )
    assert (report.retried, report.dead_lettered) == (1, 1)
    job = await store.get("batch-c", "t1")
    assert job is not None and (job.counts.failed, job.counts.dead_lettered) == (1, 1)
    (retry,) = await store.claim("o", 10, LEASE)
    assert retry.note_id == "n0" and retry.attempts == 2
    assert (await store.write("o", [ItemOutcome(retry, failure=TRANSIENT)])).dead_lettered == 1
    letters = await store.dead_letters("batch-c", "t1", 10, "")
    assert [(d.note_id, d.attempts, d.error.reason) for d in letters.items] == [
        ("n0", 2, "BACKEND_UNAVAILABLE"),
        ("n1", 1, "INVALID_ARGUMENT"),
    ]
    assert await store.complete_finished_jobs() == ["batch-c"]
    assert await store.replay("batch-c", "t1", ["n1"]) == 1
    job = await store.get("batch-c", "t1")
    assert job is not None and job.state is JobState.RUNNING
    (again,) = await store.claim("o", 10, LEASE)
    assert (again.note_id, again.attempts, again.payload) == ("n1", 1, b"note 1")
    assert await store.replay("batch-c", "t1", []) == 1  # the other one
    assert (await store.stats()).dead_letters == 0


async def test_cancel_stops_unstarted_notes(db: Database) -> None:
    store = _store(db)
    await _job(store, "batch-d", notes=4)
    (running,) = await store.claim("o", 1, LEASE)
    assert await store.cancel("batch-d", "t1") is True
    assert await store.cancel("batch-d", "t1") is False
    assert await store.claim("o", 10, LEASE) == []
    assert (await store.write("o", [ItemOutcome(running, result=b"x")])).lost_lease == 1
    job = await store.get("batch-d", "t1")
    assert job is not None and job.state is JobState.CANCELLED and job.counts.cancelled == 4


async def test_idempotency_keys_keep_the_first_answer_and_expire(db: Database) -> None:
    store = _store(db)
    first = await store.remember("t1", "Create", "req-1", "h1", "batch-1", ttl=timedelta(days=1))
    second = await store.remember("t1", "Create", "req-1", "h2", "batch-2", ttl=timedelta(days=1))
    assert (first.response, second.response, second.request_hash) == ("batch-1", "batch-1", "h1")
    other_tenant = await store.remember("t2", "Create", "req-1", "h2", "batch-2", ttl=timedelta(days=1))
    assert other_tenant.response == "batch-2"
    await store.remember("t1", "Cancel", "req-old", "h", "x", ttl=timedelta(seconds=-1))
    assert await store.recall("t1", "Cancel", "req-old") is None
    assert await store.purge() >= 1


async def test_listing_paging_stats_and_purge(db: Database) -> None:
    store = _store(db)
    for name in ("batch-e1", "batch-e2", "batch-e3"):
        await _job(store, name, notes=1)
    await store.create_staging("batch-staging", "t1", "svc", "", timedelta(days=1))
    page = await store.list_jobs("t1", 2, "", None)
    assert len(page.items) == 2 and page.next_page_token
    rest = await store.list_jobs("t1", 2, page.next_page_token, None)
    assert len(rest.items) == 1  # the staging job is never listed
    assert (await store.list_jobs("t1", 10, "", True)).items == []
    with pytest.raises(InvalidRequest):
        await store.list_jobs("t1", 10, "not-a-token", None)
    stats = await store.stats()
    assert stats.depth == 3 and stats.oldest_queued_age_s >= 0
    await db.run(lambda c: c.execute(sa.text("UPDATE batch_jobs SET expires_at = :t"), {"t": utcnow()}))
    assert await store.purge() == 4
    assert (await store.stats()).depth == 0


async def test_two_consumers_never_claim_the_same_note(db: Database) -> None:
    """Several replicas on one job: every note claimed once (SKIP LOCKED on PostgreSQL)."""
    store = _store(db)
    await _job(store, "batch-f", notes=200)
    claimed: list[str] = []

    async def consume(owner: str) -> None:
        while items := await store.claim(owner, 7, LEASE):
            claimed.extend(i.note_id for i in items)
            await store.write(owner, [ItemOutcome(i, result=b"ok") for i in items])
            await asyncio.sleep(random.random() / 100)

    await asyncio.gather(*(consume(f"o{i}") for i in range(4)))
    assert sorted(claimed) == sorted(f"n{i}" for i in range(200))


async def test_a_shed_note_does_not_use_up_an_attempt(db: Database) -> None:
    store = _store(db, max_attempts=1)
    await _job(store, "batch-g", notes=1)
    shed = ItemFailure(8, "OVERLOADED", "engine busy", retryable=True, counts_as_attempt=False)
    for _round in range(3):  # shed again and again: never a dead letter
        (item,) = await store.claim("o", 10, LEASE)
        assert item.attempts == 1
        assert (await store.write("o", [ItemOutcome(item, failure=shed)])).retried == 1
        await db.run(lambda c: c.execute(sa.update(batch_items).values(available_at=utcnow())))
    (item,) = await store.claim("o", 10, LEASE)
    assert (await store.write("o", [ItemOutcome(item, failure=TRANSIENT)])).dead_lettered == 1
