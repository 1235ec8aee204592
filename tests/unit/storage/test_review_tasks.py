"""Review tasks on both engines: encryption at rest, the queue's filters and pages, claims
racing, leases expiring, etags going stale, retention, and the queue's decision checks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from healthai_server.domain.clinical import EntityType, Span
from healthai_server.domain.errors import (
    Aborted,
    FailedPrecondition,
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
    ReviewTaskState,
    TaskFilter,
)
from healthai_server.review.queue import Reviewer, ReviewQueue
from healthai_server.storage import migrate
from healthai_server.storage.crypto import FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.review_tasks import ReviewTaskStore
from healthai_server.storage.schema import review_tasks

NOTE = "Patient takes metformin 500 mg daily. Denies chest pain."
KEY_A, KEY_B = os.urandom(32), os.urandom(32)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 12, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database.engine)
    yield database
    database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db: Database, clock: Clock) -> ReviewTaskStore:
    return ReviewTaskStore(db, FieldEncryptor({"a": KEY_A}, "a"), clock)


def new_task(
    tenant: str = "t1", *, reasons: tuple[ReviewReason, ...] = (ReviewReason.LOW_CONFIDENCE,)
) -> NewReviewTask:
    return NewReviewTask(
        tenant=tenant,
        note_id="n1",
        source_audit_id="00000000-0000-0000-0000-000000000001",
        reasons=reasons,
        items=(ItemRef(EntityType.MEDICATION, 0, (ReviewReason.LOW_CONFIDENCE,), 0.4),),
        item_counts={"condition": 1, "medication": 1, "vital_sign": 0, "allergy": 0},
        backend="local",
        model="engine-1",
        prompt_version="",
        note_text=NOTE,
        data_wire=b"\x0a\x00",
    )


async def test_note_text_and_content_are_encrypted_and_bound_to_their_row(store: ReviewTaskStore, db: Database) -> None:
    task = await store.create(new_task())
    raw = await db.run(lambda c: c.execute(sa.select(review_tasks)).mappings().one())
    assert "metformin" not in raw["note_text"] and raw["note_text"].startswith("a:")
    content = await store.content("t1", task.id)
    assert content.note_text == NOTE and content.data_wire == b"\x0a\x00"
    # Rotation: a ring with a new active key still reads rows sealed under the old one.
    rotated = ReviewTaskStore(db, FieldEncryptor({"a": KEY_A, "b": KEY_B}, "b"))
    assert (await rotated.content("t1", task.id)).note_text == NOTE
    with pytest.raises(NotFound):
        await store.content("t2", task.id)  # another tenant's task does not exist for it


async def test_filters_and_pages(store: ReviewTaskStore, clock: Clock) -> None:
    first = await store.create(new_task())
    clock.advance(60)
    second = await store.create(new_task(reasons=(ReviewReason.DEGRADED,)))
    clock.advance(60)
    await store.create(new_task(tenant="t2"))
    page, token = await store.page("t1", TaskFilter(), 1, "")
    assert [t.id for t in page] == [first.id] and token
    page, token = await store.page("t1", TaskFilter(), 1, token)
    assert [t.id for t in page] == [second.id] and token == ""
    assert [t.id for t in (await store.page("t1", TaskFilter(reason=ReviewReason.DEGRADED), 10, ""))[0]] == [second.id]
    assert (await store.page("t1", TaskFilter(item_type=EntityType.ALLERGY), 10, ""))[0] == []
    assert [t.id for t in (await store.page("t1", TaskFilter(min_age_s=100), 10, ""))[0]] == [first.id]
    with pytest.raises(InvalidRequest):
        await store.page("t1", TaskFilter(), 10, "not-a-token")


async def test_two_reviewers_racing_for_one_task_exactly_one_wins(store: ReviewTaskStore) -> None:
    task = await store.create(new_task())
    results = await asyncio.gather(
        *(store.claim("t1", task.id, f"reviewer-{n}", 300, task.etag) for n in range(4)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and winners[0].state is ReviewTaskState.CLAIMED
    assert all(isinstance(e, Aborted | FailedPrecondition) for e in losers)
    # Without an etag the loser is told the task is held.
    with pytest.raises(ReviewTaskClaimed):
        await store.claim("t1", task.id, "someone-else", 300)


async def test_an_expired_lease_returns_the_task_to_the_queue(store: ReviewTaskStore, clock: Clock) -> None:
    task = await store.create(new_task())
    claimed = await store.claim("t1", task.id, "alice", 300)
    assert (await store.page("t1", TaskFilter(state=ReviewTaskState.PENDING), 10, ""))[0] == []
    clock.advance(301)
    assert (await store.get("t1", task.id)).state is ReviewTaskState.PENDING
    assert [t.id for t in (await store.page("t1", TaskFilter(state=ReviewTaskState.PENDING), 10, ""))[0]] == [task.id]
    decision = [ItemDecision(ReviewDecisionKind.ACCEPT, EntityType.MEDICATION, 0)]
    with pytest.raises(ReviewLeaseExpired):
        await store.submit("t1", task.id, "alice", claimed.etag, decision)  # the lease ran out
    bob = await store.claim_next("t1", "bob", 300, TaskFilter())
    assert bob.id == task.id and bob.claimed_by == "bob"
    with pytest.raises(Aborted):
        await store.submit("t1", task.id, "bob", claimed.etag, decision)  # alice's etag is stale
    done = await store.submit("t1", task.id, "bob", bob.etag, decision)
    assert done.state is ReviewTaskState.COMPLETED and done.completed_at == clock.now
    with pytest.raises(ReviewTaskCompleted):
        await store.claim("t1", task.id, "carol", 300)
    with pytest.raises(NotFound):
        await store.claim_next("t1", "carol", 300, TaskFilter())
    content = await store.content("t1", task.id)
    assert content.decisions == tuple(decision)


async def test_retention_erases_text_and_drops_undecided_tasks(store: ReviewTaskStore, clock: Clock) -> None:
    decided = await store.create(new_task())
    claim = await store.claim("t1", decided.id, "alice", 300)
    await store.submit(
        "t1", decided.id, "alice", claim.etag, [ItemDecision(ReviewDecisionKind.ACCEPT, EntityType.MEDICATION, 0)]
    )
    undecided = await store.create(new_task())
    clock.advance(10)
    assert await store.purge_expired(3600) == 0
    clock.advance(3600)
    assert await store.purge_expired(3600) == 2
    assert (await store.content("t1", decided.id)).note_text == ""
    assert (await store.content("t1", decided.id)).decisions  # evaluation data stays
    with pytest.raises(NotFound):
        await store.get("t1", undecided.id)


async def test_the_queue_refuses_bad_decisions_and_writes_nothing(store: ReviewTaskStore) -> None:
    queue = ReviewQueue(store, lease_s=300)
    alice = Reviewer("t1", "alice")
    await store.create(new_task())
    task = await queue.claim(alice, "", "", TaskFilter())
    start = NOTE.index("metformin")
    bad = [
        ItemDecision(ReviewDecisionKind.CORRECT, EntityType.MEDICATION, 0, span=Span(start, start + 9, "Metformin")),
        ItemDecision(ReviewDecisionKind.ADD, EntityType.CONDITION, span=Span(0, 7, "Patient"), changed_fields=()),
        ItemDecision(ReviewDecisionKind.REJECT, EntityType.CONDITION, 5),
        ItemDecision(ReviewDecisionKind.ACCEPT, EntityType.PROBLEM_LIST, 0),
    ]
    with pytest.raises(InvalidRequest) as raised:
        await queue.submit(alice, task.id, task.etag, bad)
    fields = {v.field for v in raised.value.violations}
    assert {
        "decisions[0].item.span",
        "decisions[0].update_mask",
        "decisions[2].index",
        "decisions[3].item_type",
    } <= fields
    assert (await store.get("t1", task.id)).state is ReviewTaskState.CLAIMED  # nothing written
    with pytest.raises(InvalidRequest):
        await queue.submit(
            alice, task.id, task.etag, [ItemDecision(ReviewDecisionKind.ACCEPT, EntityType.CONDITION, 0)]
        )
    good = [
        ItemDecision(
            ReviewDecisionKind.CORRECT,
            EntityType.MEDICATION,
            0,
            span=Span(start, start + 9, "metformin"),
            changed_fields=("dose.value",),
        ),
        ItemDecision(
            ReviewDecisionKind.ADD,
            EntityType.CONDITION,
            span=Span(NOTE.index("chest"), NOTE.index("chest") + 10, "chest pain"),
        ),
    ]
    decided: list[str] = []
    queue = ReviewQueue(store, lease_s=300, on_decided=lambda t, d: decided.append(t.id))
    done = await queue.submit(alice, task.id, task.etag, good)
    assert done.state is ReviewTaskState.COMPLETED and decided == [task.id]
    listed, _ = await queue.list(alice, TaskFilter(state=ReviewTaskState.COMPLETED), 10, "")
    assert [t.id for t in listed] == [task.id]
    assert (await queue.read(alice, task.id)).decisions[0].changed_fields == ("dose.value",)


async def test_backlog_metrics_and_decision_metrics(store: ReviewTaskStore, clock: Clock) -> None:
    from healthai_server.observability.metrics import Metrics
    from healthai_server.review.monitor import ReviewBacklogMonitor, decisions_recorder
    from prometheus_client import CollectorRegistry

    metrics = Metrics(CollectorRegistry(), process_metrics=False)
    monitor = ReviewBacklogMonitor(store, metrics, interval_s=3600, clock=clock)
    assert await monitor.refresh() == (0, 0.0)
    task = await store.create(new_task())
    await store.create(new_task(tenant="t2"))
    clock.advance(90)
    assert await monitor.refresh() == (2, 90.0)
    monitor.start()
    await monitor.close()
    queue = ReviewQueue(store, 300, on_decided=decisions_recorder(metrics, clock))
    alice = Reviewer("t1", "alice")
    claim = await queue.claim(alice, task.id, "", TaskFilter())
    await queue.submit(alice, task.id, claim.etag, [ItemDecision(ReviewDecisionKind.REJECT, EntityType.MEDICATION, 0)])
    text = metrics.render()
    labels = 'backend="local",decision="reject",item_type="medication",prompt_version=""'
    assert f"healthai_review_decisions_total{{{labels}}} 1.0" in text
    assert "healthai_review_oldest_task_age_seconds 90.0" in text
    assert "healthai_review_time_to_decision_seconds_count 1.0" in text
