"""Issue 12 item 5 on PostgreSQL: a chain-head row locked by another session (a stuck replica,
an operator's open transaction) must stall only its own tenant, and only for a bounded time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy as sa
from healthai_server.domain.errors import StorageUnavailable
from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditEvent, AuditRepository
from healthai_server.storage.audit_keys import ChainKey, ChainKeyring
from healthai_server.storage.db import Database

KEYRING = ChainKeyring(ChainKey.from_secret(b"k" * 32))


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[Database]:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    database = Database(postgres_url)
    migrate.upgrade(database.engine)
    yield database
    database.close()


def _event(i: int, tenant: str, deadline: float | None = None) -> AuditEvent:
    return AuditEvent(
        audit_id=f"00000000-0000-4000-8000-{i:012d}",
        tenant=tenant,
        principal="svc",
        method="/healthai.v1.ClinicalExtractionService/ExtractClinicalData",
        status_code="OK",
        deadline=deadline,
    )


@pytest.fixture
def lock_head(db: Database) -> Iterator[object]:
    """Hold tenant `stuck`'s chain-head row FOR UPDATE in another session until released."""
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        with db.engine.connect() as conn, conn.begin():
            conn.execute(sa.text("SELECT seq FROM audit_chain_heads WHERE tenant = 'stuck' FOR UPDATE"))
            locked.set()
            release.wait(30)

    thread = threading.Thread(target=hold, daemon=True)

    def start() -> None:
        thread.start()
        assert locked.wait(5)

    yield start
    release.set()
    thread.join(10)


async def test_a_locked_head_does_not_stall_other_tenants(db: Database, lock_head: object) -> None:
    repo = AuditRepository(db, KEYRING)
    await repo.append(_event(0, "stuck"))  # creates the head row
    lock_head()  # type: ignore[operator]
    stuck = asyncio.ensure_future(repo.append(_event(1, "stuck")))
    await asyncio.sleep(0.1)  # the stuck tenant's write is now waiting on the lock
    started = time.monotonic()
    assert await asyncio.wait_for(repo.append(_event(2, "other")), timeout=3) == 1
    assert time.monotonic() - started < 1.0
    stuck.cancel()


async def test_a_locked_head_fails_its_own_tenant_after_the_lock_timeout(db: Database, lock_head: object) -> None:
    repo = AuditRepository(db, KEYRING, lock_timeout_ms=300)
    await repo.append(_event(0, "stuck"))
    lock_head()  # type: ignore[operator]
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await asyncio.wait_for(repo.append(_event(1, "stuck")), timeout=5)
    assert 0.25 < time.monotonic() - started < 2.0
    assert (await repo.verify()).ok  # nothing half-written


async def test_an_event_committed_after_its_deadline_records_deadline_exceeded(db: Database) -> None:
    """The caller gave up at its deadline while the head was locked: the event must not say OK."""
    repo = AuditRepository(db, KEYRING, lock_timeout_ms=5000)
    await repo.append(_event(0, "stuck"))
    release = threading.Event()

    def hold() -> None:
        with db.engine.connect() as conn, conn.begin():
            conn.execute(sa.text("SELECT seq FROM audit_chain_heads WHERE tenant = 'stuck' FOR UPDATE"))
            release.wait(10)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    await asyncio.sleep(0.2)
    late = asyncio.ensure_future(repo.record(_event(1, "stuck", deadline=time.monotonic() + 0.3)))
    in_time = asyncio.ensure_future(repo.record(_event(2, "stuck", deadline=time.monotonic() + 30)))
    await asyncio.sleep(1.0)
    release.set()
    recorded_late, recorded_in_time = await asyncio.gather(late, in_time)
    thread.join(5)
    assert recorded_late.status_code == "DEADLINE_EXCEEDED"
    assert recorded_in_time.status_code == "OK"
    rows = await repo.find("stuck", _event(1, "stuck").audit_id)
    assert rows[0]["status_code"] == "DEADLINE_EXCEEDED"
    assert rows[0]["details"]["status_before_deadline"] == "OK"
    assert (await repo.verify()).ok
