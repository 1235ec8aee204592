"""Usage ledger and the encrypted result cache on both engines."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from healthai_server.domain.errors import InvalidRequest
from healthai_server.domain.provenance import TokenUsage
from healthai_server.storage import migrate
from healthai_server.storage.crypto import DecryptionError, FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.result_cache import SqlResultCache
from healthai_server.storage.usage import UsageGrouping, UsageLedger, UsageRecord

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database.engine)
    yield database
    database.close()


def _record(tenant: str, model: str, day: int, cost: int, hit: bool = False) -> UsageRecord:
    return UsageRecord(
        tenant=tenant,
        principal="svc",
        audit_id=f"a-{day}-{cost}",
        backend="anthropic",
        model=model,
        usage=TokenUsage(100, 20, 5, 1),
        cost_micros=cost,
        prompt_id="extract",
        prompt_version="v1",
        cache_hit=hit,
        occurred_at=T0 + timedelta(days=day),
    )


async def test_spend_and_grouped_report_are_per_tenant(db: Database) -> None:
    ledger = UsageLedger(db)
    for record in [
        _record("a", "m1", 0, 100),
        _record("a", "m2", 1, 250),
        _record("a", "m1", 2, 50, hit=True),
        _record("b", "m1", 0, 9999),
    ]:
        await ledger.record(record)
    assert await ledger.spent_micros("a", T0) == 400
    assert await ledger.spent_micros("a", T0 + timedelta(days=1)) == 300
    page = await ledger.summarize("a", T0, T0 + timedelta(days=30), UsageGrouping.MODEL)
    assert [(g.key, g.requests, g.cost_micros, g.cache_hits) for g in page.groups] == [
        ("m1", 2, 150, 1),
        ("m2", 1, 250, 0),
    ]
    assert page.total.cost_micros == 400 and page.total.usage.input_tokens == 300
    days = await ledger.summarize("a", T0, T0 + timedelta(days=30), UsageGrouping.DAY)
    assert [g.key for g in days.groups] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    prompts = await ledger.summarize("a", T0, T0 + timedelta(days=30), UsageGrouping.PROMPT_VERSION)
    assert [g.key for g in prompts.groups] == ["extract@v1"]


async def test_report_pages_through_groups(db: Database) -> None:
    ledger = UsageLedger(db)
    for day in range(5):
        await ledger.record(_record("a", "m", day, 10))
    first = await ledger.summarize("a", T0, T0 + timedelta(days=9), UsageGrouping.DAY, page_size=2)
    second = await ledger.summarize(
        "a", T0, T0 + timedelta(days=9), UsageGrouping.DAY, page_size=2, page_token=first.next_page_token
    )
    third = await ledger.summarize(
        "a", T0, T0 + timedelta(days=9), UsageGrouping.DAY, page_size=2, page_token=second.next_page_token
    )
    keys = [g.key for page in (first, second, third) for g in page.groups]
    assert keys == sorted(set(keys)) and len(keys) == 5 and third.next_page_token == ""
    with pytest.raises(InvalidRequest):
        await ledger.summarize("a", T0, T0, UsageGrouping.DAY, page_token="garbage!")


async def test_result_cache_is_encrypted_bound_and_expires(db: Database) -> None:
    keys = {"k1": os.urandom(32)}
    cache = SqlResultCache(db, FieldEncryptor(keys, "k1"))
    await cache.put("a", "f" * 64, b'{"secret": "Jane Doe"}', ttl_s=60)
    assert await cache.get("a", "f" * 64) == b'{"secret": "Jane Doe"}'
    assert await cache.get("b", "f" * 64) is None
    with db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT payload FROM result_cache")).scalar_one()
    assert "Jane" not in stored and stored.startswith("k1:")
    with db.engine.begin() as conn:  # a row copied into another tenant does not decrypt
        conn.execute(
            sa.text(
                "INSERT INTO result_cache (tenant, cache_key, expires_at, payload) "
                "SELECT 'b', cache_key, expires_at, payload FROM result_cache"
            )
        )
    assert await cache.get("b", "f" * 64) is None
    await cache.put("a", "e" * 64, b"x", ttl_s=-1)
    assert await cache.get("a", "e" * 64) is None
    assert await cache.purge_expired() == 1


def test_key_rotation_keeps_old_values_readable() -> None:
    old = FieldEncryptor({"k1": b"1" * 32}, "k1")
    sealed = old.encrypt(b"payload", b"aad")
    rotated = FieldEncryptor({"k1": b"1" * 32, "k2": b"2" * 32}, "k2")
    assert rotated.decrypt(sealed, b"aad") == b"payload"
    assert rotated.encrypt(b"p", b"aad").startswith("k2:")
    with pytest.raises(DecryptionError):
        FieldEncryptor({"k2": b"2" * 32}, "k2").decrypt(sealed, b"aad")
    with pytest.raises(DecryptionError):
        rotated.decrypt(sealed, b"other-row")
