"""The review backlog and the age of its oldest task, refreshed for the metrics on an interval
(the alert on age needs the gauge set even when nobody calls the service)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from healthai_server.domain.errors import StorageUnavailable
from healthai_server.domain.review import ItemDecision, ReviewTask
from healthai_server.observability.metrics import Metrics
from healthai_server.storage.review_tasks import ReviewTaskStore, utc_now

log = logging.getLogger("healthai.review")


class ReviewBacklogMonitor:
    def __init__(
        self, store: ReviewTaskStore, metrics: Metrics, interval_s: float, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._interval_s = interval_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> tuple[int, float]:
        rows = await self._store.backlog()
        depth = sum(count for _tenant, count, _oldest in rows)
        oldest = min((created for _t, _c, created in rows if created is not None), default=None)
        age = (self._clock() - oldest).total_seconds() if oldest is not None else 0.0
        self._metrics.set_review_backlog(depth, age)
        return depth, age

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="review-backlog")

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except StorageUnavailable:
                log.warning("review backlog not refreshed: storage unavailable")
            await asyncio.sleep(self._interval_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def decisions_recorder(
    metrics: Metrics, clock: Callable[[], datetime] = utc_now
) -> Callable[[ReviewTask, Sequence[ItemDecision]], None]:
    """The queue's on_decided hook: override rate and time to review in the metrics."""

    def record(task: ReviewTask, decisions: Sequence[ItemDecision]) -> None:
        metrics.record_review_decisions(
            task.backend,
            task.prompt_version,
            [(d.item_type.value, d.kind.value) for d in decisions],
            (clock() - task.created_at).total_seconds(),
        )

    return record
