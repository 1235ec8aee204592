"""First in the chain: establish the audit id and the request scope."""

from __future__ import annotations

import uuid
from typing import Any

from grpc import aio

from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.scope import RequestScope, set_scope

AUDIT_ID_HEADER = "x-audit-id"


def accept_or_create(candidate: str | None) -> str:
    """A caller's id is kept only when it is a canonical UUID (so it cannot smuggle text)."""
    if candidate:
        try:
            parsed = uuid.UUID(candidate)
        except ValueError:
            pass
        else:
            if str(parsed) == candidate.lower():
                return str(parsed)
    return str(uuid.uuid4())


def metadata_value(context: aio.ServicerContext[Any, Any], key: str) -> str | None:
    for item_key, value in context.invocation_metadata() or ():
        if item_key == key:
            return value if isinstance(value, str) else None
    return None


class AuditIdInterceptor:
    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        audit_id = accept_or_create(metadata_value(context, AUDIT_ID_HEADER))
        set_scope(RequestScope(audit_id=audit_id, method=call.method))
        await context.send_initial_metadata(((AUDIT_ID_HEADER, audit_id),))
        context.set_trailing_metadata(((AUDIT_ID_HEADER, audit_id),))
        return await proceed(request, context)
