"""Batch jobs as the domain sees them: plain dataclasses, no gRPC or SQL types."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


class JobState(enum.Enum):
    STAGING = "STAGING"  # notes still arriving; nothing is claimable
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    CANCELLED = "CANCELLED"


class ItemState(enum.Enum):
    STAGED = "staged"
    QUEUED = "queued"
    RUNNING = "running"
    RETRY = "retry"  # the last attempt failed; waits for its backoff
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"


TERMINAL_ITEM_STATES = frozenset({ItemState.SUCCEEDED, ItemState.DEAD, ItemState.CANCELLED})


@dataclass(frozen=True, slots=True)
class NoteInput:
    """One note of a job as submitted. `payload` is the encoded note (text, options, context)."""

    note_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class JobCounts:
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    dead_lettered: int = 0
    cancelled: int = 0

    @property
    def finished(self) -> int:
        return self.succeeded + self.dead_lettered + self.cancelled

    @property
    def pending(self) -> int:
        return self.queued + self.running + self.failed


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    tenant: str
    display_name: str
    state: JobState
    total_notes: int
    created_at: datetime
    counts: JobCounts = field(default_factory=JobCounts)
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.CANCELLED)


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A claimed note: processed under `lease_owner` until its lease expires."""

    id: int
    job: str
    seq: int
    tenant: str
    note_id: str
    attempts: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class ItemFailure:
    code: int  # gRPC status code number
    reason: str
    message: str  # never note text
    retryable: bool
    # False when the note was turned away before any work (shed, server shutting down): the
    # attempt is given back, so back-pressure never dead-letters a note.
    counts_as_attempt: bool = True


@dataclass(frozen=True, slots=True)
class NoteResult:
    note_id: str
    attempts: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    note_id: str
    attempts: int
    error: ItemFailure
    last_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str
