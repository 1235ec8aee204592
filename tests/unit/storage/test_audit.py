"""The audit trail on both engines: chaining, concurrency, tamper detection, unavailability."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from healthai_server.domain.errors import StorageUnavailable
from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditEvent, AuditRepository
from healthai_server.storage.audit_keys import ChainKey, ChainKeyring
from healthai_server.storage.db import Database

KEYRING = ChainKeyring(ChainKey.from_secret(b"k" * 32))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database.engine)
    yield database
    database.close()


def _event(i: int, tenant: str = "t1") -> AuditEvent:
    return AuditEvent(
        audit_id=f"00000000-0000-4000-8000-{i:012d}",
        tenant=tenant,
        principal="svc",
        method="/healthai.v1.ClinicalExtractionService/ExtractClinicalData",
        status_code="OK",
        note_hmac="ab" * 32,
        details={"counts": {"conditions": i}},
    )


async def test_migrations_are_versioned_and_idempotent(db: Database) -> None:
    assert migrate.current_revision(db.engine) == migrate.head_revision()
    migrate.upgrade(db.engine)  # a second replica starting up changes nothing
    assert migrate.current_revision(db.engine) == migrate.head_revision()


async def test_concurrent_appends_form_one_gapless_chain_per_tenant(db: Database) -> None:
    repo = AuditRepository(db, KEYRING)
    seqs = await asyncio.gather(*(repo.append(_event(i, tenant=f"t{i % 3}")) for i in range(60)))
    assert sorted(seqs) == sorted([n for _ in range(3) for n in range(1, 21)])
    report = await repo.verify()
    assert report.ok and report.events_checked == 60 and report.tenants_checked == 3


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE audit_events SET status_code = 'PERMISSION_DENIED' WHERE seq = 3", "event content altered"),
        ("DELETE FROM audit_events WHERE seq = 3", "missing or reordered event"),
        ("DELETE FROM audit_events WHERE seq = 5", "events missing at the end of the chain"),
        ("UPDATE audit_events SET prev_hash = event_hash WHERE seq = 4", "previous-hash link broken"),
    ],
)
async def test_verify_reports_the_first_broken_link(db: Database, tamper: str, problem: str) -> None:
    repo = AuditRepository(db, KEYRING)
    for i in range(5):
        await repo.append(_event(i))
    with db.engine.begin() as conn:
        conn.execute(sa.text(tamper))
    report = await repo.verify()
    assert report.first_break is not None
    assert report.first_break.problem == problem
    assert report.first_break.tenant == "t1"


async def test_verify_is_per_tenant(db: Database) -> None:
    repo = AuditRepository(db, KEYRING)
    await repo.append(_event(1, "a"))
    await repo.append(_event(2, "b"))
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET principal = 'mallory' WHERE tenant = 'b'"))
    assert (await repo.verify("a")).ok
    assert not (await repo.verify("b")).ok


async def test_find_filters_by_tenant(db: Database) -> None:
    repo = AuditRepository(db, KEYRING)
    await repo.append(_event(7, "a"))
    assert len(await repo.find("a", _event(7).audit_id)) == 1
    assert await repo.find("b", _event(7).audit_id) == []


async def test_unreachable_database_raises_storage_unavailable() -> None:
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with pytest.raises(StorageUnavailable) as caught:
        await AuditRepository(db, KEYRING).append(_event(1))
    assert "nothing was written" in str(caught.value)
    db.close()


async def test_concurrent_appends_share_transactions_but_each_event_is_chained(db: Database) -> None:
    repo = AuditRepository(db, KEYRING)
    transactions = 0
    original_run = db.run

    async def counting_run(fn, operation="transaction"):  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        return await original_run(fn, operation)

    db.run = counting_run  # type: ignore[method-assign]
    await asyncio.gather(*(repo.append(_event(i, tenant=f"t{i % 2}")) for i in range(40)))
    assert transactions < 40  # group commit: waiting events ride the next transaction
    rows = await repo.find("t0", _event(0, "t0").audit_id)
    assert rows[0]["seq"] == 1
    assert (await repo.verify()).ok


async def test_a_failed_batch_fails_every_caller_in_it_and_later_appends_recover(db: Database) -> None:
    repo = AuditRepository(db, KEYRING)
    original_run = db.run
    failures = 1

    async def flaky_run(fn, operation="transaction"):  # type: ignore[no-untyped-def]
        nonlocal failures
        if failures:
            failures -= 1
            raise StorageUnavailable("the audit store is unreachable; nothing was written")
        return await original_run(fn, operation)

    db.run = flaky_run  # type: ignore[method-assign]
    outcomes = await asyncio.gather(*(repo.append(_event(i)) for i in range(5)), return_exceptions=True)
    assert all(isinstance(outcome, StorageUnavailable) for outcome in outcomes)
    assert await repo.append(_event(9)) == 1  # nothing from the failed batch was chained
    assert (await repo.verify()).ok
