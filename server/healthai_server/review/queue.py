"""The review queue's rules, between the servicer and the store: who may claim what, which
decisions are valid, and what a reviewer's read of note text leaves in the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from healthai_server.domain.clinical import EntityType
from healthai_server.domain.errors import FieldViolation, InvalidRequest, NoteTextPurged
from healthai_server.domain.review import (
    REVIEWABLE_TYPES,
    ItemDecision,
    ReviewDecisionKind,
    ReviewTask,
    ReviewTaskContent,
    TaskFilter,
)
from healthai_server.storage.review_tasks import ReviewTaskStore

# Called once per decided task: (task, decisions) -> metrics.
DecidedHook = Callable[[ReviewTask, Sequence[ItemDecision]], None]


@dataclass(frozen=True, slots=True)
class Reviewer:
    tenant: str
    subject: str


class ReviewQueue:
    def __init__(self, store: ReviewTaskStore, lease_s: float, on_decided: DecidedHook | None = None) -> None:
        self._store = store
        self._lease_s = lease_s
        self._on_decided = on_decided

    @property
    def store(self) -> ReviewTaskStore:
        return self._store

    async def list(
        self, reviewer: Reviewer, filters: TaskFilter, page_size: int, page_token: str
    ) -> tuple[list[ReviewTask], str]:
        return await self._store.page(reviewer.tenant, filters, page_size, page_token)

    async def read(self, reviewer: Reviewer, task_id: str) -> ReviewTaskContent:
        """The task with its note text: the servicer records the read in the call's audit event."""
        return await self._store.content(reviewer.tenant, task_id)

    async def claim(self, reviewer: Reviewer, task_id: str, etag: str, filters: TaskFilter) -> ReviewTask:
        if task_id:
            return await self._store.claim(reviewer.tenant, task_id, reviewer.subject, self._lease_s, etag)
        return await self._store.claim_next(reviewer.tenant, reviewer.subject, self._lease_s, filters)

    async def submit(
        self, reviewer: Reviewer, task_id: str, etag: str, decisions: Sequence[ItemDecision]
    ) -> ReviewTask:
        content = await self._store.content(reviewer.tenant, task_id)
        check_decisions(content, decisions)
        task = await self._store.submit(reviewer.tenant, task_id, reviewer.subject, etag, decisions)
        if self._on_decided is not None:
            self._on_decided(task, decisions)
        return task


def check_decisions(content: ReviewTaskContent, decisions: Sequence[ItemDecision]) -> None:
    """Every violation at once, as field violations; nothing is written when there is one."""
    task = content.task
    violations: list[FieldViolation] = []
    decided: set[tuple[EntityType, int]] = set()
    for number, decision in enumerate(decisions):
        at = f"decisions[{number}]"
        if decision.item_type not in REVIEWABLE_TYPES:
            violations.append(
                FieldViolation(f"{at}.item_type", "must be a condition, medication, vital sign or allergy")
            )
            continue
        if decision.kind is not ReviewDecisionKind.ADD:
            count = task.item_counts.get(decision.item_type.value, 0)
            if not 0 <= decision.index < count:
                violations.append(FieldViolation(f"{at}.index", f"the task has {count} items of this type"))
            key = (decision.item_type, decision.index)
            if key in decided:
                violations.append(FieldViolation(f"{at}.index", "this item already has a decision"))
            decided.add(key)
        if decision.kind in (ReviewDecisionKind.CORRECT, ReviewDecisionKind.ADD):
            if decision.span is None:
                violations.append(
                    FieldViolation(f"{at}.item", "must hold an item of the decision's type with its span")
                )
            elif not content.note_text:
                raise NoteTextPurged("the note text is past its retention period: spans cannot be checked")
            else:
                span = decision.span
                if not (0 <= span.start < span.end <= len(content.note_text)) or (
                    content.note_text[span.start : span.end] != span.text
                ):
                    violations.append(FieldViolation(f"{at}.item.span", "the span's text is not the note's text there"))
        if decision.kind is ReviewDecisionKind.CORRECT and not decision.changed_fields:
            violations.append(FieldViolation(f"{at}.update_mask", "a correction must name the fields it changes"))
    missing = [ref for ref in task.items if (ref.item_type, ref.index) not in decided]
    if missing:
        names = ", ".join(f"{ref.item_type.value}/{ref.index}" for ref in missing[:10])
        violations.append(FieldViolation("decisions", f"every flagged item needs a decision; missing: {names}"))
    if violations:
        raise InvalidRequest(violations, "the review decision is invalid; nothing was recorded")
