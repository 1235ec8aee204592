"""The console's one door to the service: ReviewService over gRPC, with the reviewer's token.

`ReviewApi` is what the views need; `GrpcReviewApi` implements it on the generated stub (the
only place here that sees protobuf) and turns every failed call into an `ApiError` whose `kind`
the pages explain. A correction starts from the original item the service sent, with the
reviewer's changed fields applied and named in the update mask.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc
from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from healthai.v1 import clinical_pb2, common_pb2, review_service_pb2

from healthai_server.console.model import (
    AddedItem,
    ApiError,
    Decision,
    ItemDecision,
    ItemField,
    ReviewItem,
    TaskDetail,
    TaskFilter,
    TaskPage,
    TaskSummary,
)

CALL_TIMEOUT_S = 10.0
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"


class ReviewApi(Protocol):
    async def list_tasks(self, token: str, filters: TaskFilter, page_size: int, page_token: str) -> TaskPage: ...

    async def claim(self, token: str, name: str) -> TaskSummary: ...

    async def claim_next(self, token: str, filters: TaskFilter) -> TaskSummary | None: ...

    async def get(self, token: str, name: str) -> TaskDetail: ...

    async def submit(
        self,
        token: str,
        task: TaskDetail,
        etag: str,
        decisions: Sequence[ItemDecision],
        additions: Sequence[AddedItem],
    ) -> None: ...

    async def close(self) -> None: ...


# -- item types and their editable fields ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemKind:
    name: str  # condition, medication, ...
    entity_type: clinical_pb2.EntityType.ValueType
    data_field: str  # the list in ClinicalData
    message: type[Message]


ITEM_KINDS = {
    kind.name: kind
    for kind in (
        ItemKind("condition", clinical_pb2.ENTITY_TYPE_CONDITION, "conditions", clinical_pb2.Condition),
        ItemKind("medication", clinical_pb2.ENTITY_TYPE_MEDICATION, "medications", clinical_pb2.Medication),
        ItemKind("vital_sign", clinical_pb2.ENTITY_TYPE_VITAL_SIGN, "vital_signs", clinical_pb2.VitalSign),
        ItemKind("allergy", clinical_pb2.ENTITY_TYPE_ALLERGY, "allergies", clinical_pb2.Allergy),
    )
}
KIND_BY_ENTITY_TYPE = {kind.entity_type: kind for kind in ITEM_KINDS.values()}
REASONS: dict[str, review_service_pb2.ReviewReason.ValueType] = {
    "low_confidence": review_service_pb2.REVIEW_REASON_LOW_CONFIDENCE,
    "validation_finding": review_service_pb2.REVIEW_REASON_VALIDATION_FINDING,
    "ungrounded": review_service_pb2.REVIEW_REASON_UNGROUNDED,
    "degraded": review_service_pb2.REVIEW_REASON_DEGRADED,
    "requested": review_service_pb2.REVIEW_REASON_REQUESTED,
}
REASON_NAMES: dict[int, str] = {value: name for name, value in REASONS.items()}
STATES = {
    review_service_pb2.REVIEW_TASK_STATE_PENDING: "pending",
    review_service_pb2.REVIEW_TASK_STATE_CLAIMED: "claimed",
    review_service_pb2.REVIEW_TASK_STATE_COMPLETED: "completed",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """An editable field: its path in the item message, and how its text maps to a value."""

    path: str
    label: str
    enum: Any = None  # the generated enum wrapper (Name/Value/keys)
    prefix: str = ""  # the enum's value prefix, dropped in the form
    number: bool = False
    mask: str = ""  # the update-mask path when it differs from `path`

    @property
    def choices(self) -> tuple[str, ...]:
        if self.enum is None:
            return ()
        names: list[str] = list(self.enum.keys())
        return tuple(name.removeprefix(self.prefix).lower() for name in names if self.enum.Value(name))


FIELD_SPECS: dict[str, tuple[FieldSpec, ...]] = {
    "condition": (
        FieldSpec("name", "Name"),
        FieldSpec("code", "ICD-10-CM", mask="codings"),
        FieldSpec("assertion.certainty", "Certainty", clinical_pb2.Certainty, "CERTAINTY_"),
    ),
    "medication": (
        FieldSpec("name", "Name"),
        FieldSpec("dose.value", "Dose", number=True),
        FieldSpec("dose.unit", "Dose unit"),
        FieldSpec("route", "Route", clinical_pb2.Route, "ROUTE_"),
        FieldSpec("frequency.text", "Frequency"),
        FieldSpec("status", "Status", clinical_pb2.MedicationStatus, "MEDICATION_STATUS_"),
    ),
    "vital_sign": (
        FieldSpec("kind", "Kind", clinical_pb2.VitalKind, "VITAL_KIND_"),
        FieldSpec("quantity.value", "Value", number=True),
        FieldSpec("quantity.unit", "Unit"),
    ),
    "allergy": (
        FieldSpec("substance", "Substance"),
        FieldSpec("reaction", "Reaction"),
        FieldSpec("severity", "Severity", clinical_pb2.AllergySeverity, "ALLERGY_SEVERITY_"),
        FieldSpec("category", "Category", clinical_pb2.AllergyCategory, "ALLERGY_CATEGORY_"),
    ),
}


def _parent(message: Message, path: str) -> tuple[Message, str]:
    *parents, leaf = path.split(".")
    for name in parents:
        message = getattr(message, name)
    return message, leaf


def read_field(message: Message, spec: FieldSpec) -> str:
    if spec.path == "code":
        codings = getattr(message, "codings", ())
        return next((c.code for c in codings if c.system == ICD10CM_SYSTEM), "")
    parent, leaf = _parent(message, spec.path)
    value = getattr(parent, leaf)
    if spec.enum is not None:
        return str(spec.enum.Name(value)).removeprefix(spec.prefix).lower() if value else ""
    if spec.number:
        return f"{value:g}" if value else ""
    return str(value)


def write_field(message: Message, spec: FieldSpec, text: str) -> str | None:
    """Set the field from its form text; returns what is wrong with the text, or None."""
    text = text.strip()
    if spec.path == "code":
        codings = message.codings  # type: ignore[attr-defined]
        kept = [c for c in codings if c.system != ICD10CM_SYSTEM]
        del codings[:]
        if text:
            codings.add(system=ICD10CM_SYSTEM, code=text.upper(), display=getattr(message, "name", ""))
        codings.extend(kept)
        return None
    parent, leaf = _parent(message, spec.path)
    if spec.enum is not None:
        if not text:
            setattr(parent, leaf, 0)
            return None
        try:
            setattr(parent, leaf, spec.enum.Value(spec.prefix + text.upper()))
        except ValueError:
            return f"must be one of {', '.join(spec.choices)}"
        return None
    if spec.number:
        try:
            number = float(text) if text else 0.0
        except ValueError:
            return "must be a number"
        if not math.isfinite(number):
            return "must be a number"
        setattr(parent, leaf, number)
        return None
    setattr(parent, leaf, text)
    return None


def item_fields(kind: str, message: Message) -> tuple[ItemField, ...]:
    return tuple(ItemField(s.path, s.label, read_field(message, s), s.choices) for s in FIELD_SPECS[kind])


# -- errors ----------------------------------------------------------------------------------------

_KIND_BY_CODE = {
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.PERMISSION_DENIED: "forbidden",
    grpc.StatusCode.NOT_FOUND: "not_found",
    grpc.StatusCode.ABORTED: "stale",
    grpc.StatusCode.INVALID_ARGUMENT: "invalid",
    grpc.StatusCode.UNAVAILABLE: "unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "unavailable",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "unavailable",
}
# FAILED_PRECONDITION's ErrorInfo reason says which state refused the decision.
_PRECONDITION_KINDS = {
    "REVIEW_TASK_CLAIMED": "claimed",
    "REVIEW_LEASE_EXPIRED": "lease_expired",
    "REVIEW_TASK_COMPLETED": "completed",
    "NOTE_TEXT_PURGED": "retention",
}


def status_code(error: grpc.RpcError) -> grpc.StatusCode:
    return error.code() if isinstance(error, grpc.aio.AioRpcError | grpc.Call) else grpc.StatusCode.UNKNOWN


def api_error(error: grpc.RpcError) -> ApiError:
    code = status_code(error)
    message = (error.details() if isinstance(error, grpc.aio.AioRpcError | grpc.Call) else "") or ""
    result = ApiError(kind=_KIND_BY_CODE.get(code, "error"), message=message)
    trailing = error.trailing_metadata() if isinstance(error, grpc.aio.AioRpcError | grpc.Call) else None
    for key, value in trailing or ():
        if key == "x-audit-id" and isinstance(value, str):
            result.audit_id = value
        elif key == "grpc-status-details-bin" and isinstance(value, bytes):
            _absorb_status(result, value)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        result.kind = _PRECONDITION_KINDS.get(result.reason, "precondition")
    return result


def _absorb_status(result: ApiError, raw: bytes) -> None:
    try:
        status = status_pb2.Status.FromString(raw)
    except DecodeError:
        return
    for detail in status.details:
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            result.reason = info.reason
            result.audit_id = result.audit_id or info.metadata.get("audit_id", "")
        elif detail.Unpack(bad):
            result.field_violations = [(v.field, v.description) for v in bad.field_violations]


# -- the adapter -----------------------------------------------------------------------------------


def _time(stamp: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def summary_from_proto(task: review_service_pb2.ReviewTask) -> TaskSummary:
    types = []
    for ref in task.items:
        kind = KIND_BY_ENTITY_TYPE.get(ref.item_type)
        if kind is not None and kind.name not in types:
            types.append(kind.name)
    return TaskSummary(
        name=task.name,
        tenant=task.tenant,
        reasons=tuple(dict.fromkeys(REASON_NAMES.get(r, "other") for r in task.reasons)),
        item_types=tuple(types),
        item_count=len(task.items),
        created_at=_time(task.create_time, task.HasField("create_time")),
        state=STATES.get(task.state, "unknown"),
        etag=task.etag,
        claimed_by=task.claimed_by,
        lease_expires_at=_time(task.lease_expire_time, task.HasField("lease_expire_time")),
        note_id=task.note_id,
        backend=task.backend,
    )


def detail_from_proto(response: review_service_pb2.GetReviewTaskResponse) -> TaskDetail:
    flagged: dict[tuple[int, int], review_service_pb2.ReviewItemRef] = {
        (ref.item_type, ref.index): ref for ref in response.task.items
    }
    items = []
    for kind in ITEM_KINDS.values():
        for index, message in enumerate(getattr(response.data, kind.data_field)):
            ref = flagged.get((kind.entity_type, index))
            span = message.span
            items.append(
                ReviewItem(
                    item_type=kind.name,
                    index=index,
                    start=span.start,
                    end=span.end,
                    text=span.text,
                    confidence=ref.confidence if ref is not None else message.confidence,
                    reasons=tuple(REASON_NAMES.get(r, "other") for r in ref.reasons) if ref is not None else (),
                    fields=item_fields(kind.name, message),
                    flagged=ref is not None,
                )
            )
    items.sort(key=lambda item: (not item.flagged, item.start, item.item_type))
    return TaskDetail(
        summary=summary_from_proto(response.task),
        note_text=response.note_text,
        items=tuple(items),
        snapshot=response.data.SerializeToString(),
    )


def decisions_to_proto(
    task: TaskDetail, decisions: Sequence[ItemDecision], additions: Sequence[AddedItem]
) -> list[review_service_pb2.ItemDecision]:
    """The request's decisions; ApiError(invalid) names every form value that cannot be sent."""
    data = clinical_pb2.ClinicalData.FromString(task.snapshot)
    result: list[review_service_pb2.ItemDecision] = []
    problems: list[tuple[str, str]] = []
    kinds = {
        Decision.ACCEPT: review_service_pb2.REVIEW_DECISION_KIND_ACCEPT,
        Decision.REJECT: review_service_pb2.REVIEW_DECISION_KIND_REJECT,
        Decision.CORRECT: review_service_pb2.REVIEW_DECISION_KIND_CORRECT,
    }
    for decision in decisions:
        kind = ITEM_KINDS.get(decision.item_type)
        items = getattr(data, kind.data_field) if kind is not None else ()
        if kind is None or not 0 <= decision.index < len(items):
            problems.append((f"{decision.item_type}/{decision.index}", "no such item in this task"))
            continue
        proto = review_service_pb2.ItemDecision(
            kind=kinds[decision.decision], item_type=kind.entity_type, index=decision.index
        )
        if decision.decision is Decision.CORRECT:
            corrected = type(items[decision.index])()
            corrected.CopyFrom(items[decision.index])
            specs = {spec.path: spec for spec in FIELD_SPECS[kind.name]}
            for path, text in decision.changes.items():
                spec = specs.get(path)
                problem = "cannot be corrected here" if spec is None else write_field(corrected, spec, text)
                if problem or spec is None:
                    problems.append((f"{kind.name} {decision.index + 1} {path}", problem or ""))
                    continue
                proto.update_mask.paths.append(spec.mask or spec.path)
            getattr(proto.item, kind.name).CopyFrom(corrected)
        result.append(proto)
    for number, added in enumerate(additions, start=1):
        kind = ITEM_KINDS.get(added.item_type)
        if kind is None:
            problems.append((f"added item {number}", "choose a condition, medication, vital sign or allergy"))
            continue
        item = kind.message()
        item.span.CopyFrom(common_pb2.TextSpan(start=added.start, end=added.end, text=added.text))  # type: ignore[attr-defined]
        for spec in FIELD_SPECS[kind.name]:
            if added.fields.get(spec.path, "").strip():
                problem = write_field(item, spec, added.fields[spec.path])
                if problem:
                    problems.append((f"added item {number} {spec.path}", problem))
        proto = review_service_pb2.ItemDecision(
            kind=review_service_pb2.REVIEW_DECISION_KIND_ADD, item_type=kind.entity_type
        )
        getattr(proto.item, kind.name).CopyFrom(item)
        result.append(proto)
    if problems:
        raise ApiError("invalid", "some values cannot be sent", field_violations=problems)
    return result


def _entity_type(filters: TaskFilter) -> clinical_pb2.EntityType.ValueType:
    kind = ITEM_KINDS.get(filters.item_type)
    return kind.entity_type if kind is not None else clinical_pb2.ENTITY_TYPE_UNSPECIFIED


class GrpcReviewApi:
    """ReviewApi over a ReviewServiceStub (grpc.aio); the channel is closed with the app."""

    def __init__(
        self,
        stub: Any,
        channel: grpc.aio.Channel | None = None,
        timeout_s: float = CALL_TIMEOUT_S,
        *,
        on_error: Callable[[str, grpc.StatusCode], None] | None = None,
    ) -> None:
        self._stub = stub
        self._channel = channel
        self._timeout_s = timeout_s
        self._on_error = on_error  # (method, code) of every failed call, for the metrics

    async def _call(self, method: str, request: Message, token: str) -> Any:
        try:
            return await getattr(self._stub, method)(
                request, timeout=self._timeout_s, metadata=(("authorization", f"Bearer {token}"),)
            )
        except grpc.RpcError as error:
            if self._on_error is not None:
                self._on_error(method, status_code(error))
            raise api_error(error) from None

    async def list_tasks(self, token: str, filters: TaskFilter, page_size: int, page_token: str) -> TaskPage:
        request = review_service_pb2.ListReviewTasksRequest(
            item_type=_entity_type(filters),
            reason=REASONS.get(filters.reason, review_service_pb2.REVIEW_REASON_UNSPECIFIED),
            page_size=page_size,
            page_token=page_token,
        )
        if filters.min_age_minutes:
            request.min_age.CopyFrom(duration_pb2.Duration(seconds=filters.min_age_minutes * 60))
        response = await self._call("ListReviewTasks", request, token)
        return TaskPage(tuple(summary_from_proto(t) for t in response.tasks), response.next_page_token)

    async def claim(self, token: str, name: str) -> TaskSummary:
        response = await self._call("ClaimReviewTask", review_service_pb2.ClaimReviewTaskRequest(name=name), token)
        return summary_from_proto(response.task)

    async def claim_next(self, token: str, filters: TaskFilter) -> TaskSummary | None:
        request = review_service_pb2.ClaimReviewTaskRequest(
            item_type=_entity_type(filters),
            reason=REASONS.get(filters.reason, review_service_pb2.REVIEW_REASON_UNSPECIFIED),
        )
        try:
            response = await self._call("ClaimReviewTask", request, token)
        except ApiError as error:
            if error.kind == "not_found":
                return None
            raise
        return summary_from_proto(response.task)

    async def get(self, token: str, name: str) -> TaskDetail:
        response = await self._call("GetReviewTask", review_service_pb2.GetReviewTaskRequest(name=name), token)
        return detail_from_proto(response)

    async def submit(
        self,
        token: str,
        task: TaskDetail,
        etag: str,
        decisions: Sequence[ItemDecision],
        additions: Sequence[AddedItem],
    ) -> None:
        request = review_service_pb2.SubmitReviewDecisionRequest(
            name=task.summary.name, etag=etag, decisions=decisions_to_proto(task, decisions, additions)
        )
        await self._call("SubmitReviewDecision", request, token)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
