"""A fake ReviewServiceStub: the only fake in the console's tests, at the gRPC boundary.

It records every request with its metadata and answers with real protobuf messages, or raises
the same grpc.aio.AioRpcError (with google.rpc.Status details) a real channel raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from healthai.v1 import clinical_pb2, common_pb2, review_service_pb2

NOTE = (
    "CHIEF COMPLAINT: chest pain.\r\n"
    "HPI: 64 y/o with hypertension and <b>type 2 diabetes</b>. Denies fever.\n"
    "MEDICATIONS: metformin 500 mg PO BID.\n"
    "VITALS: BP 182/96.\n"
    "Allergies: penicillin (rash).\n"
)
TENANT = "dev"
NAME = f"tenants/{TENANT}/reviewTasks/task-1"


def span(word: str) -> common_pb2.TextSpan:
    start = NOTE.index(word)
    return common_pb2.TextSpan(start=start, end=start + len(word), text=word)


def clinical_data() -> clinical_pb2.ClinicalData:
    return clinical_pb2.ClinicalData(
        conditions=[
            clinical_pb2.Condition(
                span=span("hypertension"),
                name="hypertension",
                codings=[common_pb2.Coding(system="http://hl7.org/fhir/sid/icd-10-cm", code="I10")],
                assertion=clinical_pb2.Assertion(certainty=clinical_pb2.CERTAINTY_POSITIVE),
                confidence=0.55,
            ),
            clinical_pb2.Condition(span=span("type 2 diabetes"), name="type 2 diabetes", confidence=0.9),
        ],
        medications=[
            clinical_pb2.Medication(
                span=span("metformin"),
                name="metformin",
                dose=common_pb2.Quantity(value=500, unit="mg"),
                route=clinical_pb2.ROUTE_ORAL,
                confidence=0.6,
            )
        ],
        vital_signs=[
            clinical_pb2.VitalSign(
                kind=clinical_pb2.VITAL_KIND_SYSTOLIC_BLOOD_PRESSURE,
                span=span("182"),
                quantity=common_pb2.Quantity(value=182, unit="mm[Hg]"),
                confidence=0.9,
            )
        ],
    )


def review_task(state: Any = review_service_pb2.REVIEW_TASK_STATE_CLAIMED, **overrides: Any) -> Any:
    task = review_service_pb2.ReviewTask(
        name=NAME,
        tenant=TENANT,
        note_id="note-7",
        reasons=[review_service_pb2.REVIEW_REASON_LOW_CONFIDENCE],
        items=[
            review_service_pb2.ReviewItemRef(
                item_type=clinical_pb2.ENTITY_TYPE_CONDITION,
                index=0,
                reasons=[review_service_pb2.REVIEW_REASON_LOW_CONFIDENCE],
                confidence=0.55,
            ),
            review_service_pb2.ReviewItemRef(
                item_type=clinical_pb2.ENTITY_TYPE_MEDICATION,
                index=0,
                reasons=[review_service_pb2.REVIEW_REASON_LOW_CONFIDENCE],
                confidence=0.6,
            ),
        ],
        state=state,
        etag="etag-1",
        claimed_by="rev-1" if state == review_service_pb2.REVIEW_TASK_STATE_CLAIMED else "",
        **overrides,
    )
    task.create_time.FromSeconds(1_700_000_000)
    if state == review_service_pb2.REVIEW_TASK_STATE_CLAIMED:
        task.lease_expire_time.FromSeconds(4_000_000_000)
    return task


def rpc_error(
    code: grpc.StatusCode,
    message: str,
    *,
    reason: str = "",
    violations: tuple[tuple[str, str], ...] = (),
    audit_id: str = "audit-123",
) -> grpc.aio.AioRpcError:
    details = []
    if reason:
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="healthai"))
        details.append(packed)
    if violations:
        packed = any_pb2.Any()
        packed.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations
                ]
            )
        )
        details.append(packed)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
    return grpc.aio.AioRpcError(
        code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(("x-audit-id", audit_id), ("grpc-status-details-bin", status.SerializeToString())),
        details=message,
    )


Answer = Callable[[Any], Any] | Exception | Any


@dataclass
class FakeReviewStub:
    """Answers per method: a message, an exception to raise, or a function of the request."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    calls: list[tuple[str, Any, dict[str, str]]] = field(default_factory=list)

    def answer(self, method: str, *answers: Answer) -> None:
        self.answers.setdefault(method, []).extend(answers)

    def requests(self, method: str) -> list[Any]:
        return [request for name, request, _ in self.calls if name == method]

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if not method[:1].isupper():
            raise AttributeError(method)

        async def call(request: Any, *, timeout: float, metadata: tuple[tuple[str, str], ...]) -> Any:
            assert timeout > 0
            self.calls.append((method, request, dict(metadata)))
            queue = self.answers.get(method) or [self.default(method, request)]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if isinstance(answer, Exception):
                raise answer
            return answer(request) if callable(answer) else answer

        return call

    @staticmethod
    def default(method: str, request: Any) -> Any:
        if method == "ListReviewTasks":
            return review_service_pb2.ListReviewTasksResponse(
                tasks=[review_task(review_service_pb2.REVIEW_TASK_STATE_PENDING)]
            )
        if method == "GetReviewTask":
            return review_service_pb2.GetReviewTaskResponse(task=review_task(), note_text=NOTE, data=clinical_data())
        if method == "ClaimReviewTask":
            return review_service_pb2.ClaimReviewTaskResponse(task=review_task())
        if method == "SubmitReviewDecision":
            return review_service_pb2.SubmitReviewDecisionResponse(
                task=review_task(review_service_pb2.REVIEW_TASK_STATE_COMPLETED)
            )
        raise AssertionError(method)
