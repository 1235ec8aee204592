"""ReviewService: thin mapping between the contract and the review queue."""

from __future__ import annotations

from typing import Any

from grpc import aio
from healthai.v1 import review_service_pb2, review_service_pb2_grpc

from healthai_server.domain.errors import NotFound
from healthai_server.domain.review import TaskFilter
from healthai_server.review.queue import Reviewer, ReviewQueue
from healthai_server.scope import RequestScope, current_scope
from healthai_server.services import convert

pb = review_service_pb2


def _reviewer(scope: RequestScope) -> Reviewer:
    return Reviewer(tenant=scope.principal.tenant, subject=scope.principal.subject)


def _task_id(scope: RequestScope, name: str) -> str:
    """The task id from a resource name; another tenant's name is simply not found."""
    prefix = f"tenants/{scope.principal.tenant}/reviewTasks/"
    if not name.startswith(prefix):
        raise NotFound("no such review task")
    task_id = name.removeprefix(prefix)
    scope.details["review_task"] = task_id
    return task_id


class ReviewServicer(review_service_pb2_grpc.ReviewServiceServicer):
    def __init__(self, queue: ReviewQueue) -> None:
        self._queue = queue

    async def ListReviewTasks(
        self, request: pb.ListReviewTasksRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.ListReviewTasksResponse:
        scope = current_scope()
        filters = TaskFilter(
            state=convert.review_state_from_pb(request.state),
            item_type=convert.entity_type_from_pb(request.item_type),
            reason=convert.review_reason_from_pb(request.reason),
            min_age_s=request.min_age.ToTimedelta().total_seconds(),
        )
        tasks, token = await self._queue.list(_reviewer(scope), filters, request.page_size, request.page_token)
        scope.details["tasks"] = len(tasks)
        return pb.ListReviewTasksResponse(
            audit_id=scope.audit_id, tasks=[convert.review_task_to_pb(t) for t in tasks], next_page_token=token
        )

    async def GetReviewTask(
        self, request: pb.GetReviewTaskRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.GetReviewTaskResponse:
        scope = current_scope()
        content = await self._queue.read(_reviewer(scope), _task_id(scope, request.name))
        # A read of note text: the call's audit event says so (and which task), never the text.
        scope.details.update(note_text_read=bool(content.note_text), text_chars=len(content.note_text))
        return pb.GetReviewTaskResponse(
            audit_id=scope.audit_id,
            task=convert.review_task_to_pb(content.task),
            note_text=content.note_text,
            data=convert.clinical_data_from_wire(content.data_wire),
        )

    async def ClaimReviewTask(
        self, request: pb.ClaimReviewTaskRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.ClaimReviewTaskResponse:
        scope = current_scope()
        task_id = _task_id(scope, request.name) if request.name else ""
        filters = TaskFilter(
            item_type=convert.entity_type_from_pb(request.item_type),
            reason=convert.review_reason_from_pb(request.reason),
        )
        task = await self._queue.claim(_reviewer(scope), task_id, request.etag, filters)
        scope.details["review_task"] = task.id
        return pb.ClaimReviewTaskResponse(audit_id=scope.audit_id, task=convert.review_task_to_pb(task))

    async def SubmitReviewDecision(
        self, request: pb.SubmitReviewDecisionRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.SubmitReviewDecisionResponse:
        scope = current_scope()
        task_id = _task_id(scope, request.name)
        decisions = [convert.item_decision_from_pb(d) for d in request.decisions]
        task = await self._queue.submit(_reviewer(scope), task_id, request.etag, decisions)
        scope.details.update(decisions=len(decisions))
        return pb.SubmitReviewDecisionResponse(audit_id=scope.audit_id, task=convert.review_task_to_pb(task))
