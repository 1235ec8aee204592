"""Issue 12 item 4: the four rewrites an attacker with database access (and, for the worst
case, the HMAC key) can make, each of which `verify` must detect against a signed checkpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditEvent, AuditRepository, event_hash
from healthai_server.storage.db import Database
from healthai_server.storage.schema import audit_chain_heads, audit_events

GENESIS = "0" * 64
# Fails on the unkeyed chain: every rewrite below passes verify (issue 12 item 4).
pytestmark = pytest.mark.xfail(strict=True, reason="issue 12 item 4: rewrites pass verify")


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
        details={"i": i},
    )


async def _fill(repo: AuditRepository, tenants: dict[str, int]) -> None:
    for tenant, count in tenants.items():
        for i in range(count):
            await repo.append(_event(i, tenant))


def _rechain(conn: sa.Connection, tenant: str) -> None:
    """What an attacker does after tampering: renumber from 1, recompute every hash, rewrite the head."""
    rows = conn.execute(
        sa.select(audit_events).where(audit_events.c.tenant == tenant).order_by(audit_events.c.seq)
    ).mappings()
    prev, seq = GENESIS, 0
    for row in list(rows):
        seq += 1
        digest = event_hash(prev, seq, dict(row))
        conn.execute(
            sa.update(audit_events)
            .where(audit_events.c.id == row["id"])
            .values(seq=-seq)  # negative first: the unique (tenant, seq) constraint
        )
        conn.execute(
            sa.update(audit_events)
            .where(audit_events.c.id == row["id"])
            .values(seq=seq, prev_hash=prev, event_hash=digest)
        )
        prev = digest
    conn.execute(
        sa.update(audit_chain_heads).where(audit_chain_heads.c.tenant == tenant).values(seq=seq, event_hash=prev)
    )


async def test_a_dropped_tail_with_a_rewound_head_is_detected(db: Database) -> None:
    repo = AuditRepository(db)
    await _fill(repo, {"t1": 10})
    with db.engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.tenant == "t1", audit_events.c.seq > 7))
        _rechain(conn, "t1")
    report = await repo.verify()
    assert not report.ok


async def test_an_edited_row_with_recomputed_hashes_is_detected(db: Database) -> None:
    repo = AuditRepository(db)
    await _fill(repo, {"t1": 10})
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(audit_events)
            .where(audit_events.c.tenant == "t1", audit_events.c.seq == 4)
            .values(status_code="PERMISSION_DENIED")
        )
        _rechain(conn, "t1")
    report = await repo.verify()
    assert not report.ok


async def test_a_hundred_deleted_rows_renumbered_are_detected(db: Database) -> None:
    repo = AuditRepository(db)
    await _fill(repo, {"t1": 250})
    with db.engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.tenant == "t1", audit_events.c.seq.between(101, 200)))
        _rechain(conn, "t1")
    report = await repo.verify()
    assert not report.ok


async def test_a_tenant_deleted_with_its_head_row_is_detected(db: Database) -> None:
    repo = AuditRepository(db)
    await _fill(repo, {"t1": 3, "victim": 3})
    with db.engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.tenant == "victim"))
        conn.execute(sa.delete(audit_chain_heads).where(audit_chain_heads.c.tenant == "victim"))
    report = await repo.verify()
    assert not report.ok
