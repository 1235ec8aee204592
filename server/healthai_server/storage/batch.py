"""Batch jobs in the store: the embedded queue (SQLite, one process) and the cluster queue
(PostgreSQL, several replicas) are the same tables and the same statements.

Claiming is a lease: one UPDATE marks up to N claimable items `running` under the caller's
owner id until `lease_expires_at` (on PostgreSQL the candidate rows are picked with
`FOR UPDATE SKIP LOCKED`, so replicas never wait on each other's claims; SQLite serialises
writers). An item whose lease expired (its consumer died) is claimable again, so a crash
loses nothing; its attempt counter already counted the crashed attempt, so a note that
kills its consumer every time ends as a dead letter instead of looping.

A result is written with `WHERE lease_owner = me AND state = 'running'`: a consumer whose
lease was taken over writes nothing, so every note has exactly one result (or one dead
letter), and the usage row for it is inserted in the same transaction as the result.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from healthai_server.domain.batch import (
    DeadLetter,
    ItemFailure,
    ItemState,
    Job,
    JobCounts,
    JobState,
    NoteInput,
    NoteResult,
    Page,
    WorkItem,
)
from healthai_server.domain.errors import FieldViolation, InvalidRequest
from healthai_server.storage.batch_tables import batch_items, batch_jobs, idempotency_keys
from healthai_server.storage.crypto import DecryptionError, FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.schema import usage_ledger
from healthai_server.storage.usage import UsageRecord, usage_row


def utcnow() -> datetime:
    """Naive UTC, so SQLite and PostgreSQL compare the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


# A page of results stays under gRPC's default 4 MiB receive limit, with room for framing.
RESULT_PAGE_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def shed_delay_s(self, rng: random.Random | None = None) -> float:
        """A shed note (the engine was busy) comes back soon: being shed is back-pressure, not a
        failure of the note, so it does not use up an attempt."""
        return (rng or random).uniform(0.05, 0.5)

    def delay_s(self, attempts: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with full jitter (AWS architecture blog's 'full jitter')."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** max(attempts - 1, 0))
        return (rng or random).uniform(ceiling / 2, ceiling)


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What became of one claimed item. Exactly one of `result` and `failure` is set."""

    item: WorkItem
    result: bytes | None = None
    failure: ItemFailure | None = None
    usage: UsageRecord | None = None


@dataclass(frozen=True, slots=True)
class WriteReport:
    succeeded: int = 0
    retried: int = 0
    dead_lettered: int = 0
    lost_lease: int = 0


@dataclass(frozen=True, slots=True)
class IdempotentAnswer:
    request_hash: str
    response: str


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int
    oldest_queued_age_s: float
    dead_letters: int


CLAIMABLE = (ItemState.QUEUED.value, ItemState.RETRY.value)


def _encode_token(after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def _decode_token(token: str) -> int:
    if not token:
        return -1
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["after"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest([FieldViolation("page_token", "is not a token this server issued")]) from exc


class BatchStore:
    def __init__(self, db: Database, encryptor: FieldEncryptor, retry: RetryPolicy | None = None) -> None:
        self._db = db
        self._encryptor = encryptor
        self.retry = retry or RetryPolicy()

    @property
    def dialect(self) -> str:
        return self._db.dialect

    @staticmethod
    def _aad(kind: str, tenant: str, job: str, seq: int) -> bytes:
        return f"batch_{kind}|{tenant}|{job}|{seq}".encode()

    # -- creating a job ---------------------------------------------------------------------

    async def create_staging(
        self, name: str, tenant: str, principal: str, display_name: str, retention: timedelta
    ) -> None:
        now = utcnow()
        row = {
            "name": name,
            "tenant": tenant,
            "principal": principal,
            "display_name": display_name,
            "state": JobState.STAGING.value,
            "total_notes": 0,
            "max_attempts": self.retry.max_attempts,
            "created_at": now,
            "expires_at": now + retention,
        }
        await self._db.run(lambda conn: conn.execute(sa.insert(batch_jobs).values(**row)), "batch_create")

    async def stage_notes(self, name: str, tenant: str, first_seq: int, notes: Sequence[NoteInput]) -> None:
        now = utcnow()
        rows = [
            {
                "job": name,
                "seq": first_seq + i,
                "tenant": tenant,
                "note_id": note.note_id,
                "state": ItemState.STAGED.value,
                "attempts": 0,
                "available_at": now,
                "payload": self._encryptor.encrypt(note.payload, self._aad("note", tenant, name, first_seq + i)),
            }
            for i, note in enumerate(notes)
        ]
        if rows:
            await self._db.run(lambda conn: conn.execute(sa.insert(batch_items), rows), "batch_stage")

    async def finalize(self, name: str, tenant: str, total: int) -> None:
        """Make a staged job claimable: its notes become queued in one transaction."""

        def apply(conn: sa.Connection) -> None:
            conn.execute(
                sa.update(batch_items)
                .where(batch_items.c.job == name, batch_items.c.tenant == tenant)
                .values(state=ItemState.QUEUED.value, available_at=utcnow())
            )
            conn.execute(
                sa.update(batch_jobs)
                .where(batch_jobs.c.name == name, batch_jobs.c.tenant == tenant)
                .values(state=JobState.QUEUED.value, total_notes=total)
            )

        await self._db.run(apply, "batch_finalize")

    async def discard(self, name: str, tenant: str) -> None:
        """Remove a job and its items (a create that failed, or a delete)."""

        def apply(conn: sa.Connection) -> None:
            conn.execute(sa.delete(batch_items).where(batch_items.c.job == name, batch_items.c.tenant == tenant))
            conn.execute(sa.delete(batch_jobs).where(batch_jobs.c.name == name, batch_jobs.c.tenant == tenant))

        await self._db.run(apply, "batch_discard")

    # -- idempotency (AIP-155) ----------------------------------------------------------------

    async def remember(
        self, tenant: str, method: str, request_id: str, request_hash: str, response: str, *, ttl: timedelta
    ) -> IdempotentAnswer:
        """Store the first answer for a request id; when one is already stored (a concurrent or
        earlier call), return that one instead, and leave it unchanged."""

        def apply(conn: sa.Connection) -> IdempotentAnswer:
            key = (
                idempotency_keys.c.tenant == tenant,
                idempotency_keys.c.method == method,
                idempotency_keys.c.request_id == request_id,
            )
            conn.execute(sa.delete(idempotency_keys).where(*key, idempotency_keys.c.expires_at <= utcnow()))
            found = conn.execute(
                sa.select(idempotency_keys.c.request_hash, idempotency_keys.c.response).where(*key)
            ).one_or_none()
            if found is not None:
                return IdempotentAnswer(found.request_hash, found.response)
            conn.execute(
                sa.insert(idempotency_keys).values(
                    tenant=tenant,
                    method=method,
                    request_id=request_id,
                    request_hash=request_hash,
                    response=response,
                    expires_at=utcnow() + ttl,
                )
            )
            return IdempotentAnswer(request_hash, response)

        if self.dialect == "postgresql":
            # Two replicas racing on one key: the loser's insert fails; read the winner's row.
            try:
                return await self._db.run(apply, "idempotency_remember")
            except sa.exc.IntegrityError:
                return await self._db.run(apply, "idempotency_remember")
        return await self._db.run(apply, "idempotency_remember")

    async def recall(self, tenant: str, method: str, request_id: str) -> IdempotentAnswer | None:
        query = sa.select(idempotency_keys.c.request_hash, idempotency_keys.c.response).where(
            idempotency_keys.c.tenant == tenant,
            idempotency_keys.c.method == method,
            idempotency_keys.c.request_id == request_id,
            idempotency_keys.c.expires_at > utcnow(),
        )
        row = await self._db.run(lambda conn: conn.execute(query).one_or_none(), "idempotency_recall")
        return None if row is None else IdempotentAnswer(row.request_hash, row.response)

    # -- reading jobs ------------------------------------------------------------------------

    async def get(self, name: str, tenant: str) -> Job | None:
        def read(conn: sa.Connection) -> Job | None:
            row = conn.execute(
                sa.select(batch_jobs).where(
                    batch_jobs.c.name == name,
                    batch_jobs.c.tenant == tenant,
                    batch_jobs.c.state != JobState.STAGING.value,
                )
            ).one_or_none()
            return None if row is None else self._job(row, self._counts(conn, [name])[name])

        return await self._db.run(read, "batch_get")

    async def list_jobs(self, tenant: str, page_size: int, page_token: str, done: bool | None) -> Page[Job]:
        offset = max(_decode_token(page_token), 0)

        def read(conn: sa.Connection) -> list[Job]:
            query = sa.select(batch_jobs).where(
                batch_jobs.c.tenant == tenant, batch_jobs.c.state != JobState.STAGING.value
            )
            if done is not None:
                finished = batch_jobs.c.state.in_([JobState.SUCCEEDED.value, JobState.CANCELLED.value])
                query = query.where(finished if done else sa.not_(finished))
            rows = list(
                conn.execute(
                    query.order_by(batch_jobs.c.created_at.desc(), batch_jobs.c.name)
                    .offset(offset)
                    .limit(page_size + 1)
                )
            )
            counts = self._counts(conn, [r.name for r in rows])
            return [self._job(r, counts[r.name]) for r in rows]

        jobs = await self._db.run(read, "batch_list")
        token = _encode_token(offset + page_size) if len(jobs) > page_size else ""
        return Page(jobs[:page_size], token)

    @staticmethod
    def _counts(conn: sa.Connection, names: list[str]) -> dict[str, JobCounts]:
        found: dict[str, dict[str, int]] = {name: {} for name in names}
        if names:
            rows = conn.execute(
                sa.select(batch_items.c.job, batch_items.c.state, sa.func.count())
                .where(batch_items.c.job.in_(names))
                .group_by(batch_items.c.job, batch_items.c.state)
            )
            for job, state, count in rows:
                found[job][state] = int(count)
        return {
            name: JobCounts(
                queued=c.get("queued", 0),
                running=c.get("running", 0),
                succeeded=c.get("succeeded", 0),
                failed=c.get("retry", 0),
                dead_lettered=c.get("dead", 0),
                cancelled=c.get("cancelled", 0),
            )
            for name, c in found.items()
        }

    @staticmethod
    def _job(row: Any, counts: JobCounts) -> Job:
        return Job(
            name=row.name,
            tenant=row.tenant,
            display_name=row.display_name,
            state=JobState(row.state),
            total_notes=row.total_notes,
            created_at=row.created_at,
            counts=counts,
            started_at=row.started_at,
            ended_at=row.ended_at,
        )

    # -- the queue -----------------------------------------------------------------------------

    async def claim(self, owner: str, limit: int, lease: timedelta) -> list[WorkItem]:
        def apply(conn: sa.Connection) -> list[WorkItem]:
            now = utcnow()
            claimable = sa.or_(
                sa.and_(batch_items.c.state.in_(CLAIMABLE), batch_items.c.available_at <= now),
                sa.and_(batch_items.c.state == ItemState.RUNNING.value, batch_items.c.lease_expires_at < now),
            )
            pick = sa.select(batch_items.c.id).where(claimable).order_by(batch_items.c.id).limit(limit)
            if self.dialect == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = [row.id for row in conn.execute(pick)]
            if not ids:
                return []
            rows = conn.execute(
                sa.update(batch_items)
                .where(batch_items.c.id.in_(ids))
                .values(
                    state=ItemState.RUNNING.value,
                    lease_owner=owner,
                    lease_expires_at=now + lease,
                    attempts=batch_items.c.attempts + 1,
                )
                .returning(
                    batch_items.c.id,
                    batch_items.c.job,
                    batch_items.c.seq,
                    batch_items.c.tenant,
                    batch_items.c.note_id,
                    batch_items.c.attempts,
                    batch_items.c.payload,
                )
            ).all()
            jobs = {row.job for row in rows}
            conn.execute(
                sa.update(batch_jobs)
                .where(batch_jobs.c.name.in_(jobs), batch_jobs.c.state == JobState.QUEUED.value)
                .values(state=JobState.RUNNING.value, started_at=now)
            )
            return [self._work_item(row) for row in sorted(rows, key=lambda r: r.id)]

        return await self._db.run(apply, "batch_claim")

    def _work_item(self, row: Any) -> WorkItem:
        payload = b""
        if row.payload is not None:
            try:
                payload = self._encryptor.decrypt(row.payload, self._aad("note", row.tenant, row.job, row.seq))
            except DecryptionError:
                payload = b""  # the consumer dead-letters an unreadable note
        return WorkItem(row.id, row.job, row.seq, row.tenant, row.note_id, row.attempts, payload)

    async def extend(self, owner: str, ids: Sequence[int], lease: timedelta) -> None:
        statement = (
            sa.update(batch_items)
            .where(batch_items.c.id.in_(list(ids)), batch_items.c.lease_owner == owner)
            .values(lease_expires_at=utcnow() + lease)
        )
        await self._db.run(lambda conn: conn.execute(statement), "batch_extend")

    async def write(self, owner: str, outcomes: Sequence[ItemOutcome]) -> WriteReport:
        """Record a chunk's outcomes in one transaction; an item whose lease this owner no longer
        holds is skipped (another consumer has it). The held rows are locked first, then updated
        with one statement per kind of outcome (executemany), so a chunk costs a few round trips."""
        max_attempts = {row.name: row.max_attempts for row in await self._max_attempts(outcomes)}
        by_id = {outcome.item.id: outcome for outcome in outcomes}

        def apply(conn: sa.Connection) -> WriteReport:
            now = utcnow()
            held_query = sa.select(batch_items.c.id).where(
                batch_items.c.id.in_(list(by_id)),
                batch_items.c.lease_owner == owner,
                batch_items.c.state == ItemState.RUNNING.value,
            )
            if self.dialect == "postgresql":
                held_query = held_query.with_for_update()
            held = {row.id for row in conn.execute(held_query)}
            done: list[dict[str, Any]] = []
            failed: list[dict[str, Any]] = []
            usage: list[dict[str, Any]] = []
            retried = dead = 0
            for item_id in sorted(held):
                outcome = by_id[item_id]
                item = outcome.item
                if outcome.result is not None:
                    sealed = self._encryptor.encrypt(
                        outcome.result, self._aad("result", item.tenant, item.job, item.seq)
                    )
                    done.append({"b_id": item_id, "b_result": sealed})
                    if outcome.usage is not None:
                        usage.append(usage_row(outcome.usage))
                    continue
                failure = outcome.failure
                assert failure is not None
                attempts = item.attempts if failure.counts_as_attempt else item.attempts - 1
                final = not failure.retryable or attempts >= max_attempts.get(item.job, 1)
                if final:
                    dead += 1
                    state, available = ItemState.DEAD.value, now
                else:
                    retried += 1
                    delay = self.retry.delay_s(attempts) if failure.counts_as_attempt else self.retry.shed_delay_s()
                    state, available = ItemState.RETRY.value, now + timedelta(seconds=delay)
                failed.append(
                    {
                        "b_id": item_id,
                        "b_state": state,
                        "b_attempts": attempts,
                        "b_available": available,
                        "b_finished": now if final else None,
                        "b_code": failure.code,
                        "b_reason": failure.reason[:64],
                        "b_message": failure.message[:512],
                    }
                )
            if done:
                conn.execute(
                    sa.update(batch_items)
                    .where(batch_items.c.id == sa.bindparam("b_id"))
                    .values(
                        state=ItemState.SUCCEEDED.value,
                        result=sa.bindparam("b_result"),
                        payload=None,
                        finished_at=now,
                        lease_owner=None,
                        lease_expires_at=None,
                        error_code=None,
                    ),
                    done,
                )
            if failed:
                conn.execute(
                    sa.update(batch_items)
                    .where(batch_items.c.id == sa.bindparam("b_id"))
                    .values(
                        state=sa.bindparam("b_state"),
                        attempts=sa.bindparam("b_attempts"),
                        available_at=sa.bindparam("b_available"),
                        finished_at=sa.bindparam("b_finished"),
                        error_code=sa.bindparam("b_code"),
                        error_reason=sa.bindparam("b_reason"),
                        error_message=sa.bindparam("b_message"),
                        lease_owner=None,
                        lease_expires_at=None,
                    ),
                    failed,
                )
            if usage:
                conn.execute(sa.insert(usage_ledger), usage)
            return WriteReport(len(done), retried, dead, len(outcomes) - len(held))

        return await self._db.run(apply, "batch_write")

    async def _max_attempts(self, outcomes: Sequence[ItemOutcome]) -> list[Any]:
        jobs = list({o.item.job for o in outcomes})
        query = sa.select(batch_jobs.c.name, batch_jobs.c.max_attempts).where(batch_jobs.c.name.in_(jobs))
        return await self._db.run(lambda conn: list(conn.execute(query)), "batch_attempts")

    async def complete_finished_jobs(self) -> list[str]:
        """Mark running jobs with nothing left to do as succeeded; returns their names."""

        def apply(conn: sa.Connection) -> list[str]:
            pending = (
                sa.select(batch_items.c.id)
                .where(
                    batch_items.c.job == batch_jobs.c.name,
                    batch_items.c.state.in_([ItemState.QUEUED.value, ItemState.RUNNING.value, ItemState.RETRY.value]),
                )
                .exists()
            )
            names = [
                row.name
                for row in conn.execute(
                    sa.select(batch_jobs.c.name).where(
                        batch_jobs.c.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]), ~pending
                    )
                )
            ]
            if names:
                conn.execute(
                    sa.update(batch_jobs)
                    .where(batch_jobs.c.name.in_(names))
                    .values(state=JobState.SUCCEEDED.value, ended_at=utcnow())
                )
            return names

        return await self._db.run(apply, "batch_complete")

    async def cancel(self, name: str, tenant: str) -> bool:
        """Cancel a job: notes not started are not processed. False when it was already done."""

        def apply(conn: sa.Connection) -> bool:
            changed = conn.execute(
                sa.update(batch_jobs)
                .where(
                    batch_jobs.c.name == name,
                    batch_jobs.c.tenant == tenant,
                    batch_jobs.c.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]),
                )
                .values(state=JobState.CANCELLED.value, ended_at=utcnow())
            ).rowcount
            conn.execute(
                sa.update(batch_items)
                .where(
                    batch_items.c.job == name,
                    batch_items.c.tenant == tenant,
                    batch_items.c.state.in_([*CLAIMABLE, ItemState.RUNNING.value]),
                )
                .values(state=ItemState.CANCELLED.value, payload=None, lease_owner=None, finished_at=utcnow())
            )
            return bool(changed)

        return await self._db.run(apply, "batch_cancel")

    async def results(
        self, name: str, tenant: str, page_size: int, page_token: str, max_bytes: int = RESULT_PAGE_BYTES
    ) -> Page[NoteResult]:
        """Up to page_size results, fewer when they would pass max_bytes (AIP-158 allows a
        short page): a page of 1,000 dense results is larger than a client's default 4 MiB."""
        after = _decode_token(page_token)
        query = (
            sa.select(batch_items.c.seq, batch_items.c.note_id, batch_items.c.attempts, batch_items.c.result)
            .where(
                batch_items.c.job == name,
                batch_items.c.tenant == tenant,
                batch_items.c.state == ItemState.SUCCEEDED.value,
                batch_items.c.seq > after,
            )
            .order_by(batch_items.c.seq)
            .limit(page_size + 1)
        )
        rows = await self._db.run(lambda conn: list(conn.execute(query)), "batch_results")
        results: list[NoteResult] = []
        size = 0
        for r in rows[:page_size]:
            payload = self._encryptor.decrypt(r.result, self._aad("result", tenant, name, r.seq))
            if results and size + len(payload) > max_bytes:
                break
            results.append(NoteResult(r.note_id, r.attempts, payload))
            size += len(payload)
        more = len(rows) > len(results)
        token = _encode_token(rows[len(results) - 1].seq) if more else ""
        return Page(results, token)

    async def dead_letters(self, name: str, tenant: str, page_size: int, page_token: str) -> Page[DeadLetter]:
        after = _decode_token(page_token)
        query = (
            sa.select(batch_items)
            .where(
                batch_items.c.job == name,
                batch_items.c.tenant == tenant,
                batch_items.c.state == ItemState.DEAD.value,
                batch_items.c.seq > after,
            )
            .order_by(batch_items.c.seq)
            .limit(page_size + 1)
        )
        rows = await self._db.run(lambda conn: list(conn.execute(query)), "batch_dead_letters")
        letters = [
            DeadLetter(
                r.note_id,
                r.attempts,
                ItemFailure(r.error_code or 0, r.error_reason or "", r.error_message or "", retryable=False),
                r.finished_at,
            )
            for r in rows[:page_size]
        ]
        token = _encode_token(rows[page_size - 1].seq) if len(rows) > page_size else ""
        return Page(letters, token)

    async def replay(self, name: str, tenant: str, note_ids: Sequence[str]) -> int:
        """Queue dead letters again with a fresh attempt budget; the job runs again."""

        def apply(conn: sa.Connection) -> int:
            which = sa.and_(
                batch_items.c.job == name,
                batch_items.c.tenant == tenant,
                batch_items.c.state == ItemState.DEAD.value,
                batch_items.c.payload.is_not(None),
            )
            if note_ids:
                which = sa.and_(which, batch_items.c.note_id.in_(list(note_ids)))
            count = conn.execute(
                sa.update(batch_items)
                .where(which)
                .values(state=ItemState.QUEUED.value, attempts=0, available_at=utcnow(), finished_at=None)
            ).rowcount
            if count:
                conn.execute(
                    sa.update(batch_jobs)
                    .where(batch_jobs.c.name == name, batch_jobs.c.tenant == tenant)
                    .values(state=JobState.RUNNING.value, ended_at=None)
                )
            return int(count)

        return await self._db.run(apply, "batch_replay")

    async def stats(self) -> QueueStats:
        def read(conn: sa.Connection) -> QueueStats:
            depth, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(batch_items.c.available_at)).where(
                    batch_items.c.state.in_(CLAIMABLE)
                )
            ).one()
            dead = conn.execute(
                sa.select(sa.func.count()).where(batch_items.c.state == ItemState.DEAD.value)
            ).scalar_one()
            age = max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
            return QueueStats(int(depth), age, int(dead))

        return await self._db.run(read, "batch_stats")

    async def purge(self) -> int:
        """Delete expired jobs, abandoned staging jobs, expired idempotency keys."""

        def apply(conn: sa.Connection) -> int:
            now = utcnow()
            stale_staging = now - timedelta(hours=1)
            names = [
                r.name
                for r in conn.execute(
                    sa.select(batch_jobs.c.name).where(
                        sa.or_(
                            batch_jobs.c.expires_at <= now,
                            sa.and_(
                                batch_jobs.c.state == JobState.STAGING.value,
                                batch_jobs.c.created_at <= stale_staging,
                            ),
                        )
                    )
                )
            ]
            if names:
                conn.execute(sa.delete(batch_items).where(batch_items.c.job.in_(names)))
                conn.execute(sa.delete(batch_jobs).where(batch_jobs.c.name.in_(names)))
            keys = conn.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)).rowcount
            return len(names) + int(keys)

        return await self._db.run(apply, "batch_purge")
