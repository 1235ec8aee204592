"""Turn the caller's gRPC deadline into a domain Deadline, capped by the server's ceiling."""

from __future__ import annotations

from typing import Any

from grpc import aio

from healthai_server.backends.base import Deadline


def deadline_from(context: aio.ServicerContext[Any, Any], ceiling_s: float) -> Deadline:
    remaining = context.time_remaining()
    budget = ceiling_s if remaining is None else min(float(remaining), ceiling_s)
    return Deadline.after(budget)
