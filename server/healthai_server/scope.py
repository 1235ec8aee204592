"""Per-request scope: what the interceptors and the servicer share about one call.

It lives in a ContextVar set by the outermost interceptor; the chain and the handler
run in one task, so every layer sees the same scope. It holds ids and counts only.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from healthai_server.auth.principal import Principal


@dataclass
class RequestScope:
    audit_id: str
    method: str
    started: float = field(default_factory=time.perf_counter)
    principal: Principal = field(default_factory=Principal.anonymous)
    note_hmac: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    request_bytes: int = 0
    response_bytes: int = 0
    status_code: str = "OK"
    # Recorded in an aggregate audit row (a refused unauthenticated call), not one of its own.
    aggregated: bool = False

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


_current: ContextVar[RequestScope | None] = ContextVar("healthai_request_scope", default=None)


def current_scope() -> RequestScope:
    scope = _current.get()
    if scope is None:
        raise RuntimeError("no request scope: called outside the interceptor chain")
    return scope


def set_scope(scope: RequestScope) -> None:
    _current.set(scope)
