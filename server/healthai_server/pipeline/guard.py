"""Stage 1, the PHI guard: decides what of the note may leave the process for this request.

The stage attaches an OutboundGate to the request; a backend that sends text out (an LLM)
can only obtain it through the gate, which applies the recall-first guard unless the
tenant is covered by a BAA, and records each release in the request's EgressLog. The
local engine never asks, so a note it answers never passes through the guard's CPU work.
"""

from __future__ import annotations

from dataclasses import replace

from healthai_server.backends.base import BackendRequest
from healthai_server.backends.egress import EgressGuard


class PhiGuardStage:
    def __init__(self, guard: EgressGuard | None) -> None:
        self._guard = guard

    def apply(self, request: BackendRequest) -> BackendRequest:
        if self._guard is None or request.outbound is not None:
            return request
        return replace(request, outbound=self._guard.gate(request.text, request.tenant, request.egress))
