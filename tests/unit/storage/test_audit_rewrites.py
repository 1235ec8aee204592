"""Issue 12 item 4: the four rewrites an attacker with database access can make, each of which
`verify` must detect against a signed checkpoint. The attacker here holds the HMAC chain key
too (the worst case: with it every rewritten chain is internally consistent), so only the
checkpoint written outside the database can show the rewrite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditEvent, AuditRepository, VerifyReport, keyed_event_hash
from healthai_server.storage.audit_checkpoints import CheckpointStore, verify_checkpoints
from healthai_server.storage.audit_keys import ChainKey, ChainKeyring, signing_key_id
from healthai_server.storage.db import Database
from healthai_server.storage.schema import audit_chain_heads, audit_events

GENESIS = "0" * 64
KEY = ChainKey.from_secret(b"k" * 32)
SIGNER = Ed25519PrivateKey.generate()


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


async def _checkpoint(repo: AuditRepository, store: CheckpointStore) -> None:
    store.write(await repo.read_heads(), SIGNER, KEY.key_id)


async def _verify(repo: AuditRepository, store: CheckpointStore) -> VerifyReport:
    checkpoints = verify_checkpoints(store, {signing_key_id(SIGNER.public_key()): SIGNER.public_key()})
    assert checkpoints.problem is None
    return await repo.verify(pins=checkpoints.pins)


@pytest.fixture
def store(tmp_path: Path) -> CheckpointStore:
    return CheckpointStore(tmp_path / "checkpoints")


def _rechain(conn: sa.Connection, tenant: str) -> None:
    """What an attacker does after tampering: renumber from 1, recompute every hash, rewrite the head."""
    rows = conn.execute(
        sa.select(audit_events).where(audit_events.c.tenant == tenant).order_by(audit_events.c.seq)
    ).mappings()
    prev, seq = GENESIS, 0
    for row in list(rows):
        seq += 1
        digest = keyed_event_hash(KEY, prev, seq, dict(row))
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


async def test_a_dropped_tail_with_a_rewound_head_is_detected(db: Database, store: CheckpointStore) -> None:
    repo = AuditRepository(db, ChainKeyring(KEY))
    await _fill(repo, {"t1": 10})
    await _checkpoint(repo, store)
    assert (await _verify(repo, store)).ok
    with db.engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.tenant == "t1", audit_events.c.seq > 7))
        _rechain(conn, "t1")
    assert (await repo.verify()).ok  # the chain alone is consistent again
    report = await _verify(repo, store)
    assert report.first_break is not None, report


async def test_an_edited_row_with_recomputed_hashes_is_detected(db: Database, store: CheckpointStore) -> None:
    repo = AuditRepository(db, ChainKeyring(KEY))
    await _fill(repo, {"t1": 10})
    await _checkpoint(repo, store)
    assert (await _verify(repo, store)).ok
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(audit_events)
            .where(audit_events.c.tenant == "t1", audit_events.c.seq == 4)
            .values(status_code="PERMISSION_DENIED")
        )
        _rechain(conn, "t1")
    assert (await repo.verify()).ok  # the chain alone is consistent again
    report = await _verify(repo, store)
    assert report.first_break is not None, report


async def test_a_hundred_deleted_rows_renumbered_are_detected(db: Database, store: CheckpointStore) -> None:
    repo = AuditRepository(db, ChainKeyring(KEY))
    await _fill(repo, {"t1": 250})
    await _checkpoint(repo, store)
    assert (await _verify(repo, store)).ok
    with db.engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.tenant == "t1", audit_events.c.seq.between(101, 200)))
        _rechain(conn, "t1")
    assert (await repo.verify()).ok  # the chain alone is consistent again
    report = await _verify(repo, store)
    assert report.first_break is not None, report


async def test_a_tenant_deleted_with_its_head_row_is_detected(db: Database, store: CheckpointStore) -> None:
    repo = AuditRepository(db, ChainKeyring(KEY))
    await _fill(repo, {"t1": 3, "victim": 3})
    await _checkpoint(repo, store)
    assert (await _verify(repo, store)).ok
    with db.engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.tenant == "victim"))
        conn.execute(sa.delete(audit_chain_heads).where(audit_chain_heads.c.tenant == "victim"))
    assert (await repo.verify()).ok  # the chain alone is consistent again
    report = await _verify(repo, store)
    assert report.first_break is not None, report
    assert report.first_break.tenant == "victim"
    assert "tenant deleted" in report.first_break.problem


async def test_without_the_key_an_edit_cannot_be_rehashed(db: Database, store: CheckpointStore) -> None:
    repo = AuditRepository(db, ChainKeyring(KEY))
    await _fill(repo, {"t1": 5})
    forged = ChainKey(KEY.key_id, b"x" * 32)  # the right id, a guessed secret
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(audit_events)
            .where(audit_events.c.tenant == "t1", audit_events.c.seq == 2)
            .values(status_code="PERMISSION_DENIED")
        )
        rows = list(conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).mappings())
        prev = GENESIS
        for row in rows:
            digest = keyed_event_hash(forged, prev, row["seq"], dict(row))
            conn.execute(
                sa.update(audit_events).where(audit_events.c.id == row["id"]).values(prev_hash=prev, event_hash=digest)
            )
            prev = digest
        conn.execute(sa.update(audit_chain_heads).values(seq=5, event_hash=prev))
    report = await repo.verify()
    assert report.first_break is not None and report.first_break.seq == 1
    assert report.first_break.problem == "event content altered"


async def test_each_rewrite_is_named(db: Database, store: CheckpointStore) -> None:
    """What an operator reads for each rewrite (one database, four tenants, one checkpoint)."""
    repo = AuditRepository(db, ChainKeyring(KEY))
    await _fill(repo, {"tail": 10, "edit": 10, "renumber": 250, "victim": 3})
    await _checkpoint(repo, store)
    with db.engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.tenant == "tail", audit_events.c.seq > 7))
        _rechain(conn, "tail")
        conn.execute(
            sa.update(audit_events)
            .where(audit_events.c.tenant == "edit", audit_events.c.seq == 4)
            .values(status_code="PERMISSION_DENIED")
        )
        _rechain(conn, "edit")
        conn.execute(
            sa.delete(audit_events).where(audit_events.c.tenant == "renumber", audit_events.c.seq.between(101, 200))
        )
        _rechain(conn, "renumber")
        conn.execute(sa.delete(audit_events).where(audit_events.c.tenant == "victim"))
        conn.execute(sa.delete(audit_chain_heads).where(audit_chain_heads.c.tenant == "victim"))
    problems = {}
    for tenant in ("tail", "edit", "renumber", "victim"):
        checkpoints = verify_checkpoints(store, {signing_key_id(SIGNER.public_key()): SIGNER.public_key()})
        report = await repo.verify(tenant, checkpoints.pins)
        assert report.first_break is not None
        problems[tenant] = (report.first_break.seq, report.first_break.problem)
    assert problems == {
        "tail": (7, "signed checkpoint 1 recorded seq 10, the chain ends at 7 (events removed)"),
        # With the key the rewritten chain is consistent up to the pinned head, where it differs.
        "edit": (10, "differs from signed checkpoint 1 (chain rewritten)"),
        "renumber": (150, "signed checkpoint 1 recorded seq 250, the chain ends at 150 (events removed)"),
        "victim": (0, "signed checkpoint 1 recorded seq 3, the chain ends at 0 (tenant deleted)"),
    }
