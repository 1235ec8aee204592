"""Review tasks on SQLite and PostgreSQL (SQLAlchemy Core).

Concurrency is decided by the database, not by the caller's reading: a claim or a decision
is one conditional UPDATE (on the task's etag, state, lease and holder); the row it changes
is the proof. Of two reviewers racing for one task exactly one UPDATE matches; the other
changes nothing and is told why (the row is read again only to name the reason).

Note text and content (the extracted data and the decisions) are encrypted with AES-GCM
under the result cache's key ring (key ids, rotation), bound to tenant, task and column.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from healthai_server.domain.clinical import EntityType, Span
from healthai_server.domain.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidRequest,
    NotFound,
    ReviewLeaseExpired,
    ReviewTaskClaimed,
    ReviewTaskCompleted,
)
from healthai_server.domain.review import (
    ItemDecision,
    ItemRef,
    NewReviewTask,
    ReviewDecisionKind,
    ReviewReason,
    ReviewTask,
    ReviewTaskContent,
    ReviewTaskState,
    TaskFilter,
)
from healthai_server.storage.crypto import FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.schema import review_tasks as t

Clock = Callable[[], datetime]
MAX_PAGE = 1000


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(value: datetime | None) -> datetime | None:
    """PostgreSQL returns aware datetimes, SQLite naive ones: compare in naive UTC."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _framed(values: Sequence[str]) -> str:
    return "," + ",".join(values) + "," if values else ","


def _unframe(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def _items_json(items: Sequence[ItemRef]) -> str:
    return json.dumps(
        [
            {
                "type": i.item_type.value,
                "index": i.index,
                "reasons": [r.value for r in i.reasons],
                "confidence": i.confidence,
            }
            for i in items
        ]
    )


def _items_from(raw: str) -> tuple[ItemRef, ...]:
    return tuple(
        ItemRef(
            EntityType(i["type"]), int(i["index"]), tuple(ReviewReason(r) for r in i["reasons"]), float(i["confidence"])
        )
        for i in json.loads(raw)
    )


def _decision_json(d: ItemDecision) -> dict[str, Any]:
    return {
        "kind": d.kind.value,
        "type": d.item_type.value,
        "index": d.index,
        "item": base64.b64encode(d.item_wire).decode(),
        "span": [d.span.start, d.span.end, d.span.text] if d.span else None,
        "changed": list(d.changed_fields),
    }


def _decision_from(raw: Mapping[str, Any]) -> ItemDecision:
    span = raw["span"]
    return ItemDecision(
        kind=ReviewDecisionKind(raw["kind"]),
        item_type=EntityType(raw["type"]),
        index=int(raw["index"]),
        item_wire=base64.b64decode(raw["item"]),
        span=Span(int(span[0]), int(span[1]), str(span[2])) if span else None,
        changed_fields=tuple(raw["changed"]),
    )


def decision_counts(decisions: Sequence[ItemDecision]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for d in decisions:
        per_type = counts.setdefault(d.item_type.value, {})
        per_type[d.kind.value] = per_type.get(d.kind.value, 0) + 1
    return counts


class ReviewTaskStore:
    def __init__(self, db: Database, encryptor: FieldEncryptor, clock: Clock = utc_now) -> None:
        self._db = db
        self._encryptor = encryptor
        self._clock = clock

    def _aad(self, tenant: str, task_id: str, column: str) -> bytes:
        return f"review_tasks|{tenant}|{task_id}|{column}".encode()

    # -- writes ----------------------------------------------------------------------------------

    async def create(self, new: NewReviewTask) -> ReviewTask:
        task_id = str(uuid.uuid4())
        now = self._clock()
        content = json.dumps({"data": base64.b64encode(new.data_wire).decode(), "decisions": []}).encode()
        values = {
            "id": task_id,
            "tenant": new.tenant,
            "note_id": new.note_id,
            "source_audit_id": new.source_audit_id,
            "state": ReviewTaskState.PENDING.value,
            "reasons": _framed([r.value for r in new.reasons]),
            "item_types": _framed(sorted({i.item_type.value for i in new.items})),
            "items": _items_json(new.items),
            "item_counts": json.dumps(new.item_counts),
            "backend": new.backend,
            "model": new.model,
            "prompt_version": new.prompt_version,
            "etag": secrets.token_hex(8),
            "claimed_by": "",
            "lease_expires_at": None,
            "created_at": now,
            "completed_at": None,
            "note_text": self._encryptor.encrypt(new.note_text.encode(), self._aad(new.tenant, task_id, "note_text")),
            "content": self._encryptor.encrypt(content, self._aad(new.tenant, task_id, "content")),
            "decision_counts": "{}",
        }
        await self._db.run(lambda conn: conn.execute(sa.insert(t).values(**values)), "review_create")
        return self._task(values)

    async def claim(self, tenant: str, task_id: str, reviewer: str, lease_s: float, etag: str = "") -> ReviewTask:
        """Claim one task; exactly one of several racing reviewers succeeds."""
        now = self._clock()
        new_etag = secrets.token_hex(8)
        claimable = sa.or_(
            t.c.state == ReviewTaskState.PENDING.value,
            sa.and_(
                t.c.state == ReviewTaskState.CLAIMED.value,
                sa.or_(t.c.lease_expires_at <= now, t.c.claimed_by == reviewer),
            ),
        )
        where = [t.c.tenant == tenant, t.c.id == task_id, claimable]
        if etag:
            where.append(t.c.etag == etag)
        statement = (
            sa.update(t)
            .where(*where)
            .values(
                state=ReviewTaskState.CLAIMED.value,
                claimed_by=reviewer,
                lease_expires_at=now + timedelta(seconds=lease_s),
                etag=new_etag,
            )
        )

        def run(conn: sa.Connection) -> dict[str, Any] | None:
            changed = conn.execute(statement).rowcount
            row = conn.execute(sa.select(t).where(t.c.tenant == tenant, t.c.id == task_id)).mappings().first()
            if row is None:
                return None
            return dict(row) | {"_changed": changed == 1}

        row = await self._db.run(run, "review_claim")
        if row is None:
            raise NotFound("no such review task")
        if not row["_changed"]:
            self._refuse(row, reviewer, etag, now)
        return self._task(row)

    async def claim_next(self, tenant: str, reviewer: str, lease_s: float, filters: TaskFilter) -> ReviewTask:
        """Claim the oldest claimable task matching the filters (the next one if another reviewer wins it)."""
        for _attempt in range(5):
            tasks, _token = await self.page(tenant, replace(filters, state=ReviewTaskState.PENDING), 5, "")
            if not tasks:
                break
            for task in tasks:
                try:
                    return await self.claim(tenant, task.id, reviewer, lease_s)
                except (FailedPrecondition, Aborted, NotFound):
                    continue
        raise NotFound("no review task is waiting")

    async def submit(
        self, tenant: str, task_id: str, reviewer: str, etag: str, decisions: Sequence[ItemDecision]
    ) -> ReviewTask:
        """Record decisions and complete the task, only under the caller's live lease and current etag."""
        now = self._clock()
        aad = self._aad(tenant, task_id, "content")

        def run(conn: sa.Connection) -> dict[str, Any] | None:
            row = conn.execute(sa.select(t).where(t.c.tenant == tenant, t.c.id == task_id)).mappings().first()
            if row is None:
                return None
            content = json.loads(self._encryptor.decrypt(row["content"], aad))
            content["decisions"] = [_decision_json(d) for d in decisions]
            new_values = {
                "state": ReviewTaskState.COMPLETED.value,
                "etag": secrets.token_hex(8),
                "completed_at": now,
                "lease_expires_at": None,
                "content": self._encryptor.encrypt(json.dumps(content).encode(), aad),
                "decision_counts": json.dumps(decision_counts(decisions)),
            }
            # The conditions are checked again by the UPDATE itself: between the read above and
            # here another transaction may have won (PostgreSQL re-evaluates after the row lock).
            changed = conn.execute(
                sa.update(t)
                .where(
                    t.c.tenant == tenant,
                    t.c.id == task_id,
                    t.c.etag == etag,
                    t.c.state == ReviewTaskState.CLAIMED.value,
                    t.c.claimed_by == reviewer,
                    t.c.lease_expires_at > now,
                )
                .values(**new_values)
            ).rowcount
            if changed != 1:
                return dict(row) | {"_changed": False}
            return dict(row) | new_values | {"_changed": True}

        row = await self._db.run(run, "review_submit")
        if row is None:
            raise NotFound("no such review task")
        if not row["_changed"]:
            self._refuse(row, reviewer, etag, now, submitting=True)
        return self._task(row)

    def _refuse(
        self, row: Mapping[str, Any], reviewer: str, etag: str, now: datetime, submitting: bool = False
    ) -> None:
        state = ReviewTaskState(row["state"])
        lease = _naive(row["lease_expires_at"])
        if state is ReviewTaskState.COMPLETED:
            raise ReviewTaskCompleted("the review task is already completed")
        if etag and row["etag"] != etag:
            raise Aborted("the review task changed since it was read (stale etag); read it again")
        live = state is ReviewTaskState.CLAIMED and lease is not None and lease > now
        if live and row["claimed_by"] != reviewer:
            raise ReviewTaskClaimed("the review task is claimed by another reviewer")
        if submitting and not live:
            raise ReviewLeaseExpired("the lease on the review task has expired or was never taken; claim it again")
        raise Aborted("the review task changed concurrently; read it again")

    # -- reads -----------------------------------------------------------------------------------

    async def get(self, tenant: str, task_id: str) -> ReviewTask:
        row = await self._db.run(
            lambda conn: conn.execute(sa.select(t).where(t.c.tenant == tenant, t.c.id == task_id)).mappings().first(),
            "review_get",
        )
        if row is None:
            raise NotFound("no such review task")
        return self._task(row)

    async def content(self, tenant: str, task_id: str) -> ReviewTaskContent:
        """The task with its note text, data and decisions, decrypted (a PHI read: the caller audits it)."""
        row = await self._db.run(
            lambda conn: conn.execute(sa.select(t).where(t.c.tenant == tenant, t.c.id == task_id)).mappings().first(),
            "review_content",
        )
        if row is None:
            raise NotFound("no such review task")
        return self._content(row)

    def _content(self, row: Any) -> ReviewTaskContent:
        tenant, task_id = row["tenant"], row["id"]
        text = ""
        if row["note_text"] is not None:
            text = self._encryptor.decrypt(row["note_text"], self._aad(tenant, task_id, "note_text")).decode()
        content = json.loads(self._encryptor.decrypt(row["content"], self._aad(tenant, task_id, "content")))
        return ReviewTaskContent(
            task=self._task(row),
            note_text=text,
            data_wire=base64.b64decode(content["data"]),
            decisions=tuple(_decision_from(d) for d in content["decisions"]),
        )

    async def page(
        self, tenant: str, filters: TaskFilter, page_size: int, page_token: str
    ) -> tuple[list[ReviewTask], str]:
        now = self._clock()
        where: list[Any] = [t.c.tenant == tenant]
        live_claim = sa.and_(t.c.state == ReviewTaskState.CLAIMED.value, t.c.lease_expires_at > now)
        if filters.state is ReviewTaskState.PENDING:
            # An expired lease is back in the queue.
            where.append(
                sa.or_(
                    t.c.state == ReviewTaskState.PENDING.value,
                    sa.and_(t.c.state == ReviewTaskState.CLAIMED.value, t.c.lease_expires_at <= now),
                )
            )
        elif filters.state is ReviewTaskState.CLAIMED:
            where.append(live_claim)
        elif filters.state is ReviewTaskState.COMPLETED:
            where.append(t.c.state == ReviewTaskState.COMPLETED.value)
        else:
            where.append(t.c.state != ReviewTaskState.COMPLETED.value)
        if filters.item_type is not None:
            where.append(t.c.item_types.like(f"%,{filters.item_type.value},%"))
        if filters.reason is not None:
            where.append(t.c.reasons.like(f"%,{filters.reason.value},%"))
        if filters.min_age_s > 0:
            where.append(t.c.created_at <= now - timedelta(seconds=filters.min_age_s))
        if page_token:
            created, last_id = decode_page_token(page_token)
            where.append(sa.or_(t.c.created_at > created, sa.and_(t.c.created_at == created, t.c.id > last_id)))
        size = min(page_size or 50, MAX_PAGE)
        query = sa.select(t).where(*where).order_by(t.c.created_at, t.c.id).limit(size + 1)
        rows = await self._db.run(lambda conn: list(conn.execute(query).mappings()), "review_list")
        tasks = [self._task(r) for r in rows[:size]]
        token = encode_page_token(tasks[-1]) if len(rows) > size else ""
        return tasks, token

    async def completed(self, tenant: str | None = None) -> list[ReviewTaskContent]:
        """Completed tasks with their content, oldest first (evaluation export)."""
        where = [t.c.state == ReviewTaskState.COMPLETED.value]
        if tenant is not None:
            where.append(t.c.tenant == tenant)
        query = sa.select(t).where(*where).order_by(t.c.created_at, t.c.id)
        rows = await self._db.run(lambda conn: list(conn.execute(query).mappings()), "review_completed")
        return [self._content(r) for r in rows]

    async def backlog(self) -> list[tuple[str, int, datetime | None]]:
        """Per tenant: tasks not completed, and the creation time of the oldest (for metrics)."""
        query = (
            sa.select(t.c.tenant, sa.func.count(), sa.func.min(t.c.created_at))
            .where(t.c.state != ReviewTaskState.COMPLETED.value)
            .group_by(t.c.tenant)
        )
        rows = await self._db.run(lambda conn: list(conn.execute(query)), "review_backlog")
        return [(str(r[0]), int(r[1]), _naive(r[2])) for r in rows]

    async def purge_expired(self, retention_s: float) -> int:
        """Retention: after it, note text is erased; tasks never decided are deleted (they
        cannot be reviewed without text); decided tasks keep their encrypted content as
        evaluation data. Returns rows changed."""
        cutoff = self._clock() - timedelta(seconds=retention_s)

        def run(conn: sa.Connection) -> int:
            deleted = conn.execute(
                sa.delete(t).where(t.c.created_at <= cutoff, t.c.state != ReviewTaskState.COMPLETED.value)
            ).rowcount
            erased = conn.execute(
                sa.update(t).where(t.c.created_at <= cutoff, t.c.note_text.is_not(None)).values(note_text=None)
            ).rowcount
            return int(deleted) + int(erased)

        return await self._db.run(run, "review_purge")

    # -- mapping ---------------------------------------------------------------------------------

    def _task(self, row: Any) -> ReviewTask:
        state = ReviewTaskState(row["state"])
        lease = _naive(row["lease_expires_at"])
        claimed_by = row["claimed_by"]
        if state is ReviewTaskState.CLAIMED and (lease is None or lease <= self._clock()):
            state, claimed_by, lease = ReviewTaskState.PENDING, "", None  # the lease ran out
        return ReviewTask(
            id=row["id"],
            tenant=row["tenant"],
            note_id=row["note_id"],
            source_audit_id=row["source_audit_id"],
            reasons=tuple(ReviewReason(r) for r in _unframe(row["reasons"])),
            items=_items_from(row["items"]),
            item_counts={str(k): int(v) for k, v in json.loads(row["item_counts"]).items()},
            state=state,
            etag=row["etag"],
            claimed_by=claimed_by,
            lease_expires_at=lease,
            created_at=_naive(row["created_at"]) or self._clock(),
            completed_at=_naive(row["completed_at"]),
            backend=row["backend"],
            model=row["model"],
            prompt_version=row["prompt_version"],
        )


def encode_page_token(task: ReviewTask) -> str:
    raw = json.dumps([task.created_at.isoformat(), task.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_page_token(token: str) -> tuple[datetime, str]:
    try:
        created, task_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(created), str(task_id)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(
            [FieldViolation("page_token", "not a page token this service issued")], "the page token is invalid"
        ) from exc
