"""Stage 4, review routing: the hook through which answers that need a person reach the review queue.

The pipeline calls the router after validation, with the validated result; the router
decides (per-type confidence thresholds, validation findings, a degraded answer, or the
caller's request) and returns the name of the task it created, or "" when none was needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from healthai_server.backends.base import BackendRequest, BackendResult


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
