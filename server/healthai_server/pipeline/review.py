"""Stage 4, review routing: the hook through which answers that need a person reach the review queue.

The pipeline calls the router after validation, with the validated result; the router
decides (per-type confidence thresholds, validation findings, a degraded answer, or the
caller's request) and returns the name of the task it created, or "" when none was needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from healthai_server.backends.base import BackendRequest, BackendResult
from healthai_server.domain.clinical import (
    Allergy,
    ClinicalData,
    Condition,
    EncodedClinicalData,
    EntityType,
    Medication,
    VitalSign,
    as_domain,
)
from healthai_server.domain.review import ItemRef, NewReviewTask, ReviewReason, ReviewTask, ReviewThresholds


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str
    principal: str
    audit_id: str


class ReviewRouter(Protocol):
    @property
    def needs_objects(self) -> bool:
        """True when routing reads items, so the local engine must ship its object graph."""
        ...

    async def route(self, request: BackendRequest, result: BackendResult, caller: Caller | None) -> str: ...


class NoReview:
    """Routing off: nothing is queued (the default without a review store)."""

    @property
    def needs_objects(self) -> bool:
        return False

    async def route(self, request: BackendRequest, result: BackendResult, caller: Caller | None) -> str:
        return ""


class TaskSink(Protocol):
    async def create(self, new: NewReviewTask) -> ReviewTask: ...


class ThresholdRouter:
    """Queues an answer when an item's confidence is under its type's threshold, when
    validation flagged an item or dropped ungrounded ones, when the answer is degraded, or
    when the caller asked. Only answers with a caller (tenant, audit id) are queued."""

    def __init__(
        self,
        sink: TaskSink,
        thresholds: ReviewThresholds,
        encode: Callable[[ClinicalData], bytes],
        on_routed: Callable[[str, tuple[ReviewReason, ...]], None] = lambda _tenant, _reasons: None,
    ) -> None:
        self._sink = sink
        self._thresholds = thresholds
        self._encode = encode
        self._on_routed = on_routed

    @property
    def needs_objects(self) -> bool:
        return True

    def decide(
        self, request: BackendRequest, result: BackendResult
    ) -> tuple[tuple[ReviewReason, ...], tuple[ItemRef, ...]]:
        data = as_domain(result.data)
        items: list[ItemRef] = []
        requested = request.options.request_review
        for item_type, values in _reviewable(data):
            threshold = self._thresholds.threshold(item_type)
            for index, item in enumerate(values):
                reasons: list[ReviewReason] = []
                if item.confidence < threshold:
                    reasons.append(ReviewReason.LOW_CONFIDENCE)
                if item.findings:
                    reasons.append(ReviewReason.VALIDATION_FINDING)
                if requested and not reasons:
                    reasons.append(ReviewReason.REQUESTED)
                if reasons:
                    items.append(ItemRef(item_type, index, tuple(reasons), item.confidence))
        note_reasons: list[ReviewReason] = []
        if result.ungrounded_dropped:
            note_reasons.append(ReviewReason.UNGROUNDED)
        if result.provenance.degraded:
            note_reasons.append(ReviewReason.DEGRADED)
        if requested:
            note_reasons.append(ReviewReason.REQUESTED)
        item_reasons = {reason for ref in items for reason in ref.reasons}
        ordered = tuple(r for r in ReviewReason if r in item_reasons or r in note_reasons)
        return ordered, tuple(items)

    async def route(self, request: BackendRequest, result: BackendResult, caller: Caller | None) -> str:
        if caller is None:
            return ""
        reasons, items = self.decide(request, result)
        if not reasons:
            return ""
        data = as_domain(result.data)
        wire = result.data.wire if isinstance(result.data, EncodedClinicalData) else self._encode(data)
        prompt = result.provenance.prompt
        task = await self._sink.create(
            NewReviewTask(
                tenant=caller.tenant,
                note_id=request.note_id,
                source_audit_id=caller.audit_id,
                reasons=reasons,
                items=items,
                item_counts={kind.value: len(values) for kind, values in _reviewable(data)},
                backend=result.provenance.backend,
                model=result.provenance.model,
                prompt_version=prompt.version if prompt else "",
                note_text=request.text,
                data_wire=wire,
            )
        )
        self._on_routed(caller.tenant, reasons)
        return task.name


def _reviewable(data: ClinicalData) -> list[tuple[EntityType, Sequence[Condition | Medication | VitalSign | Allergy]]]:
    return [
        (EntityType.CONDITION, data.conditions),
        (EntityType.MEDICATION, data.medications),
        (EntityType.VITAL_SIGN, data.vital_signs),
        (EntityType.ALLERGY, data.allergies),
    ]
