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
    """One editable attribute of an item, as the correction form shows it. `path` is the field's
    path in the item message (`dose.value`), which a correction names in its update mask."""

    path: str
    label: str
    value: str
    choices: tuple[str, ...] = ()  # a closed set (an enum): the form offers a select


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """An extracted item, with its span in the note; `reasons` is empty for an item the task did
    not flag (a reviewer may still decide on it)."""

    item_type: str  # condition, medication, vital_sign, allergy
    index: int  # position in its list of the task's data
    start: int
    end: int
    text: str
    confidence: float
    reasons: tuple[str, ...]
    fields: tuple[ItemField, ...]
    flagged: bool = False

    @property
    def key(self) -> str:
        return f"{self.item_type}/{self.index}"


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """A row of the queue: no note text."""

    name: str  # tenants/{tenant}/reviewTasks/{task}
    tenant: str
    reasons: tuple[str, ...]
    item_types: tuple[str, ...]
    item_count: int
    created_at: datetime | None
    state: str  # pending, claimed, completed
    etag: str = ""
    claimed_by: str = ""
    lease_expires_at: datetime | None = None
    note_id: str = ""
    backend: str = ""

    @property
    def short_id(self) -> str:
        return self.name.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class TaskDetail:
    """A task with its note and items, and the etag a decision must carry. `snapshot` is the
    extraction as the service sent it (opaque here): a correction starts from the original item."""

    summary: TaskSummary
    note_text: str
    items: tuple[ReviewItem, ...]
    snapshot: bytes = b""


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """The queue's filters (all optional)."""

    item_type: str = ""
    reason: str = ""
    min_age_minutes: int = 0


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: tuple[TaskSummary, ...]
    next_page_token: str = ""


@dataclass(frozen=True, slots=True)
class ItemDecision:
    """The decision on one existing item; `changes` only for CORRECT (field path -> new value)."""

    item_type: str
    index: int
    decision: Decision
    changes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AddedItem:
    """An item the system missed, with its span in the note (code-point offsets)."""

    item_type: str
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
