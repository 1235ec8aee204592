"""Human review: tasks, the items they flag, and reviewers' decisions (no gRPC types here)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from healthai_server.domain.clinical import EntityType, Span


class ReviewReason(enum.Enum):
    LOW_CONFIDENCE = "low_confidence"
    VALIDATION_FINDING = "validation_finding"
    UNGROUNDED = "ungrounded"
    DEGRADED = "degraded"
    REQUESTED = "requested"


class ReviewTaskState(enum.Enum):
    PENDING = "pending"
    CLAIMED = "claimed"
    COMPLETED = "completed"


class ReviewDecisionKind(enum.Enum):
    ACCEPT = "accept"
    CORRECT = "correct"
    REJECT = "reject"
    ADD = "add"


# Problem-list entries are derived from conditions: reviewers decide on the rest.
REVIEWABLE_TYPES = (EntityType.CONDITION, EntityType.MEDICATION, EntityType.VITAL_SIGN, EntityType.ALLERGY)


@dataclass(frozen=True, slots=True)
class ItemRef:
    item_type: EntityType
    index: int
    reasons: tuple[ReviewReason, ...]
    confidence: float


@dataclass(frozen=True, slots=True)
class NewReviewTask:
    """What routing hands to the store. `note_text` and `data_wire` are PHI: encrypted at rest."""

    tenant: str
    note_id: str
    source_audit_id: str
    reasons: tuple[ReviewReason, ...]
    items: tuple[ItemRef, ...]
    item_counts: dict[str, int]  # per EntityType value: how many items of each type the answer has
    backend: str
    model: str
    prompt_version: str
    note_text: str
    data_wire: bytes  # the extracted ClinicalData, serialized as healthai.v1.ClinicalData


@dataclass(frozen=True, slots=True)
class ReviewTask:
    id: str
    tenant: str
    note_id: str
    source_audit_id: str
    reasons: tuple[ReviewReason, ...]
    items: tuple[ItemRef, ...]
    item_counts: dict[str, int]
    state: ReviewTaskState
    etag: str
    claimed_by: str
    lease_expires_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    backend: str
    model: str
    prompt_version: str

    @property
    def name(self) -> str:
        return f"tenants/{self.tenant}/reviewTasks/{self.id}"


@dataclass(frozen=True, slots=True)
class ReviewTaskContent:
    """A task's PHI, decrypted for a reviewer (text is "" once retention has passed)."""

    task: ReviewTask
    note_text: str
    data_wire: bytes
    decisions: tuple[ItemDecision, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemDecision:
    kind: ReviewDecisionKind
    item_type: EntityType
    index: int = 0
    # CORRECT and ADD: the reviewer's item as sent (healthai.v1.ReviewedItem wire), its span,
    # and for CORRECT the changed fields.
    item_wire: bytes = b""
    span: Span | None = None
    changed_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskFilter:
    state: ReviewTaskState | None = None  # None: pending or claimed
    item_type: EntityType | None = None
    reason: ReviewReason | None = None
    min_age_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ReviewThresholds:
    """Per item type, the confidence under which an item goes to review."""

    by_type: dict[EntityType, float] = field(default_factory=dict)
    default: float = 0.0

    def threshold(self, item_type: EntityType) -> float:
        return self.by_type.get(item_type, self.default)
