"""What the console shows and sends, as plain dataclasses: the gRPC mapping lives in `api.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Decision(StrEnum):
    """What a reviewer decided about one item."""

    ACCEPT = "accept"
    REJECT = "reject"
    CORRECT = "correct"


@dataclass(frozen=True, slots=True)
class ItemField:
    """One editable attribute of an item, as the correction form shows it."""

    name: str
    label: str
    value: str
    choices: tuple[str, ...] = ()  # a closed set (an enum): the form offers a select


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """An extracted item waiting for a decision, with its span in the note."""

    item_id: str
    entity_type: str
    start: int
    end: int
    text: str
    confidence: float
    reasons: tuple[str, ...]
    fields: tuple[ItemField, ...]


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """A row of the queue: no note text."""

    task_id: str
    tenant: str
    reasons: tuple[str, ...]
    entity_types: tuple[str, ...]
    item_count: int
    created_at: datetime
    state: str
    claimed_by: str = ""
    lease_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TaskDetail:
    """A claimed task with its note and items, and the etag a decision must carry."""

    summary: TaskSummary
    note_text: str
    items: tuple[ReviewItem, ...]
    etag: str


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """The queue's filters (all optional)."""

    entity_type: str = ""
    reason: str = ""
    min_age_minutes: int = 0


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: tuple[TaskSummary, ...]
    next_page_token: str = ""


@dataclass(frozen=True, slots=True)
class ItemDecision:
    """The decision on one existing item; `changes` only for CORRECT (field name -> new value)."""

    item_id: str
    decision: Decision
    changes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AddedItem:
    """An item the system missed, with its span in the note."""

    entity_type: str
    start: int
    end: int
    text: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reviewer:
    """Who signed in, from the token's claims (shown on every page; never the token)."""

    subject: str
    tenant: str


@dataclass
class ApiError(Exception):
    """A failed ReviewService call, in the console's words: `kind` picks the message and status."""

    kind: str  # see ERROR_KINDS in views
    message: str
    reason: str = ""
    field_violations: list[tuple[str, str]] = field(default_factory=list)
    audit_id: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"
