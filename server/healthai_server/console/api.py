"""The console's one door to the service: ReviewService over gRPC, with the reviewer's token.

`ReviewApi` is what the views need; `GrpcReviewApi` implements it on the generated stub (the
only place that sees protobuf), and turns every failed call into an `ApiError` whose `kind`
the pages explain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from healthai_server.console.model import AddedItem, ItemDecision, TaskDetail, TaskFilter, TaskPage


class ReviewApi(Protocol):
    async def list_tasks(self, token: str, filters: TaskFilter, page_size: int, page_token: str) -> TaskPage: ...

    async def claim(self, token: str, task_id: str) -> TaskDetail: ...

    async def get(self, token: str, task_id: str) -> TaskDetail: ...

    async def submit(
        self,
        token: str,
        task_id: str,
        etag: str,
        decisions: Sequence[ItemDecision],
        additions: Sequence[AddedItem],
    ) -> None: ...

    async def close(self) -> None: ...
