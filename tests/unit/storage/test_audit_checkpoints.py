"""Signed checkpoint files: the file chain, its tampering, the writer's triggers; legacy rows
and key rotation in the chain itself."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from healthai_server.storage import migrate
from healthai_server.storage.audit import (
    GENESIS_HASH,
    HASH_V1_SHA256,
    AuditEvent,
    AuditRepository,
    sha256_event_hash,
)
from healthai_server.storage.audit_checkpoints import (
    AuditCheckpointer,
    CheckpointStore,
    checkpoint_name,
    verify_checkpoints,
)
from healthai_server.storage.audit_keys import ChainKey, ChainKeyring, signing_key_id
from healthai_server.storage.db import Database
from healthai_server.storage.schema import audit_chain_heads, audit_events

KEY = ChainKey.from_secret(b"k" * 32)
SIGNER = Ed25519PrivateKey.generate()


def _public() -> dict[str, Ed25519PublicKey]:
    return {signing_key_id(SIGNER.public_key()): SIGNER.public_key()}


@pytest.fixture
def store(tmp_path: Path) -> CheckpointStore:
    return CheckpointStore(tmp_path / "checkpoints")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database.engine)
    yield database
    database.close()


def _event(i: int, tenant: str = "t1") -> AuditEvent:
    return AuditEvent(
        audit_id=f"00000000-0000-4000-8000-{i:012d}", tenant=tenant, principal="svc", method="/m", status_code="OK"
    )


def _write(store: CheckpointStore, *heads: dict[str, tuple[int, str]]) -> None:
    for head in heads:
        store.write(head, SIGNER, KEY.key_id)


def test_a_chain_of_files_verifies_and_pins_every_head(store: CheckpointStore) -> None:
    _write(store, {"a": (1, "1" * 64)}, {"a": (3, "3" * 64), "b": (1, "b" * 64)})
    report = verify_checkpoints(store, _public())
    assert report.problem is None
    assert [c.number for c in report.checkpoints] == [1, 2]
    assert report.checkpoints[1].previous_file == checkpoint_name(1)
    assert {t: sorted(p) for t, p in report.pins.items()} == {"a": [1, 3], "b": [1]}


def test_files_are_never_replaced(store: CheckpointStore) -> None:
    _write(store, {"a": (1, "1" * 64)})
    path = store.directory / checkpoint_name(1)
    before = path.read_bytes()
    _write(store, {"a": (2, "2" * 64)})
    assert path.read_bytes() == before
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # written read-only (root ignores modes)
    assert not list(store.directory.glob(".tmp-*"))


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("delete-middle", "checkpoint 2 is missing"),
        ("edit-heads", "bad signature"),
        ("swap-signer", "signed by unknown key"),
        ("rewrite-previous", "does not match the previous file"),
    ],
)
def test_tampered_checkpoint_files_are_caught(store: CheckpointStore, tamper: str, problem: str) -> None:
    _write(store, {"a": (1, "1" * 64)}, {"a": (2, "2" * 64)}, {"a": (3, "3" * 64)})
    second = store.directory / checkpoint_name(2)
    if tamper == "delete-middle":
        second.unlink()
    elif tamper == "edit-heads":
        document = json.loads(second.read_text())
        document["body"]["heads"]["a"]["seq"] = 1
        second.chmod(0o644)
        second.write_text(json.dumps(document))
    elif tamper == "swap-signer":
        (store.directory / checkpoint_name(3)).unlink()
        store.write({"a": (3, "3" * 64)}, Ed25519PrivateKey.generate(), KEY.key_id)
    elif tamper == "rewrite-previous":
        # Re-signed by the real key (an attacker cannot), but the file before it changed.
        first = store.directory / checkpoint_name(1)
        first.chmod(0o644)
        first.write_text(first.read_text().replace('"number": 1', '"number": 1 '))
    report = verify_checkpoints(store, _public())
    assert report.problem is not None and problem in report.problem


def test_a_head_that_goes_back_between_checkpoints_is_a_rewrite(store: CheckpointStore) -> None:
    # A writer keeps heads its own key already signed higher (see the replica race below), so
    # the first file of each pair comes from a second trusted key (a rotated signing key).
    rotated = Ed25519PrivateKey.generate()
    keys = {**_public(), signing_key_id(rotated.public_key()): rotated.public_key()}
    store.write({"a": (5, "5" * 64), "b": (1, "b" * 64)}, rotated, KEY.key_id)
    _write(store, {"a": (3, "3" * 64), "b": (1, "b" * 64)})
    assert "went back from seq 5" in (verify_checkpoints(store, keys).problem or "")
    other = CheckpointStore(store.directory.parent / "other")
    other.write({"a": (5, "5" * 64), "b": (1, "b" * 64)}, rotated, KEY.key_id)
    _write(other, {"a": (5, "5" * 64)})
    assert "tenant 'b' vanished" in (verify_checkpoints(other, keys).problem or "")
    edited = CheckpointStore(store.directory.parent / "edited")
    _write(edited, {"a": (5, "5" * 64)}, {"a": (5, "e" * 64)})  # same seq, another hash: rechained
    assert "seq 5 changed its hash since checkpoint 1" in (verify_checkpoints(edited, _public()).problem or "")


def test_pruned_oldest_files_are_allowed(store: CheckpointStore) -> None:
    _write(store, {"a": (1, "1" * 64)}, {"a": (2, "2" * 64)}, {"a": (3, "3" * 64)})
    (store.directory / checkpoint_name(1)).unlink()  # retention
    report = verify_checkpoints(store, _public())
    assert report.problem is None and [c.number for c in report.checkpoints] == [2, 3]


async def test_the_checkpointer_writes_every_n_events_and_on_stop(db: Database, store: CheckpointStore) -> None:
    repo_holder: list[AuditRepository] = []

    async def read_heads() -> dict[str, tuple[int, str]]:
        return await repo_holder[0].read_heads()

    checkpointer = AuditCheckpointer(read_heads, store, SIGNER, KEY.key_id, every_events=10, interval_s=0)
    repo = AuditRepository(db, ChainKeyring(KEY), on_committed=checkpointer.events_committed)
    repo_holder.append(repo)
    for i in range(25):
        await repo.append(_event(i))
    await asyncio.sleep(0.2)
    written = len(store.files())
    assert 1 <= written <= 3  # batches of appends may cross a multiple of 10 together
    final = await checkpointer.stop()
    assert final is not None and final.heads["t1"][0] == 25
    report = verify_checkpoints(store, _public())
    assert report.problem is None
    assert (await repo.verify(pins=report.pins)).ok


async def test_a_failing_checkpoint_write_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    failures: list[int] = []

    async def read_heads() -> dict[str, tuple[int, str]]:
        return {"a": (1, "1" * 64)}

    checkpointer = AuditCheckpointer(
        read_heads, CheckpointStore(blocker), SIGNER, KEY.key_id, on_failure=lambda: failures.append(1)
    )
    assert await checkpointer.checkpoint() is None
    assert failures == [1]


async def test_legacy_rows_still_verify_and_a_downgrade_after_keyed_rows_is_a_break(db: Database) -> None:
    """Rows from before migration 0003 (plain SHA-256, version 1) keep verifying; keyed rows
    continue their chain; a version-1 row after a keyed one is a break."""
    row = {
        "tenant": "t1",
        "audit_id": _event(0).audit_id,
        "occurred_at": "2026-11-30T10:00:00.000000+00:00",
        "principal": "svc",
        "method": "/m",
        "status_code": "OK",
        "note_hmac": "",
        "details": "{}",
    }
    digest = sha256_event_hash(GENESIS_HASH, 1, row)
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(audit_events).values(
                **row, seq=1, prev_hash=GENESIS_HASH, event_hash=digest, hash_version=HASH_V1_SHA256
            )
        )
        conn.execute(sa.insert(audit_chain_heads).values(tenant="t1", seq=1, event_hash=digest))
    repo = AuditRepository(db, ChainKeyring(KEY))
    assert await repo.append(_event(1)) == 2
    assert (await repo.verify()).ok
    with db.engine.begin() as conn:
        last = conn.execute(sa.select(audit_events).where(audit_events.c.seq == 2)).mappings().one()
        downgraded = sha256_event_hash(digest, 2, dict(last))
        conn.execute(
            sa.update(audit_events)
            .where(audit_events.c.seq == 2)
            .values(hash_version=HASH_V1_SHA256, key_id="", event_hash=downgraded)
        )
        conn.execute(sa.update(audit_chain_heads).values(event_hash=downgraded))
    # The version-1 row follows a version-1 row here, so only a checkpoint shows this one;
    # after a keyed row it is a break on its own:
    assert (await repo.verify()).ok
    await repo.append(_event(2))
    await repo.append(_event(3))
    with db.engine.begin() as conn:
        rows = list(conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).mappings())
        prev = rows[1]["event_hash"]
        for r in rows[2:]:
            prev_link = prev
            prev = sha256_event_hash(prev_link, r["seq"], dict(r)) if r["seq"] == 4 else r["event_hash"]
            if r["seq"] == 4:
                conn.execute(
                    sa.update(audit_events)
                    .where(audit_events.c.id == r["id"])
                    .values(hash_version=HASH_V1_SHA256, key_id="", event_hash=prev)
                )
        conn.execute(sa.update(audit_chain_heads).values(event_hash=prev))
    report = await repo.verify()
    assert report.first_break is not None and report.first_break.seq == 4
    assert "downgrade" in report.first_break.problem


async def test_rotated_keys_verify_old_rows_by_their_key_id(db: Database) -> None:
    old, new = KEY, ChainKey.from_secret(b"n" * 32)
    await AuditRepository(db, ChainKeyring(old)).append(_event(1))
    rotated = AuditRepository(db, ChainKeyring(new, [old]))
    await rotated.append(_event(2))
    assert (await rotated.verify()).ok
    report = await AuditRepository(db, ChainKeyring(new)).verify()  # the retired key not given
    assert report.first_break is not None and report.first_break.seq == 1
    assert old.key_id in report.first_break.problem
    assert repr(old) == f"ChainKey({old.key_id})"  # never the secret


async def test_rows_from_before_the_upgrade_verify_once_a_checkpoint_covers_them(
    database_url: str, store: CheckpointStore
) -> None:
    """Migration 0003 on a database with old rows: they keep hash_version 1 and verify; with
    checkpoints, an unkeyed row no checkpoint covers (forged after the upgrade) is a break."""
    db = Database(database_url)
    try:
        migrate.upgrade(db.engine, "0002_usage_and_cache")
        row = {
            "tenant": "t1",
            "audit_id": _event(0).audit_id,
            "occurred_at": "2026-11-30T10:00:00.000000+00:00",
            "principal": "svc",
            "method": "/m",
            "status_code": "OK",
            "note_hmac": "",
            "details": "{}",
        }
        digest = sha256_event_hash(GENESIS_HASH, 1, row)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (tenant, seq, audit_id, occurred_at, principal, method, status_code,"
                    " note_hmac, details, prev_hash, event_hash) VALUES (:tenant, 1, :audit_id, :occurred_at,"
                    " :principal, :method, :status_code, :note_hmac, :details, :prev, :hash)"
                ),
                {**row, "prev": GENESIS_HASH, "hash": digest},
            )
            conn.execute(sa.text("INSERT INTO audit_chain_heads VALUES ('t1', 1, :hash)"), {"hash": digest})
        migrate.upgrade(db.engine)
        repo = AuditRepository(db, ChainKeyring(KEY))
        assert (await repo.verify()).ok
        uncovered = await repo.verify(pins={})
        assert uncovered.first_break is not None and "not covered" in uncovered.first_break.problem
        _write(store, await repo.read_heads())  # what the server does at start-up
        await repo.append(_event(1))
        assert (await repo.verify(pins=verify_checkpoints(store, _public()).pins)).ok
    finally:
        db.close()


def test_a_replica_linking_older_heads_after_a_newer_file_does_not_fake_a_rewind(store: CheckpointStore) -> None:
    _write(store, {"a": (5, "5" * 64)})  # replica B read later but linked first
    _write(store, {"a": (4, "4" * 64), "b": (1, "b" * 64)})  # replica A read earlier
    report = verify_checkpoints(store, _public())
    assert report.problem is None
    assert report.latest is not None and report.latest.heads == {"a": (5, "5" * 64), "b": (1, "b" * 64)}


async def test_the_checkpointer_writes_on_its_interval(store: CheckpointStore) -> None:
    async def read_heads() -> dict[str, tuple[int, str]]:
        return {"a": (1, "1" * 64)}

    checkpointer = AuditCheckpointer(read_heads, store, SIGNER, KEY.key_id, every_events=0, interval_s=0.1)
    checkpointer.start()
    await asyncio.sleep(0.45)
    await checkpointer.stop()
    assert len(store.files()) >= 3  # a few ticks and the final one
    assert verify_checkpoints(store, _public()).problem is None
