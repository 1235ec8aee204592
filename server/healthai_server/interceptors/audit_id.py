"""First in the chain: establish the audit id and the request scope.

The audit id is always the server's own (a fresh UUID), so it is unique in the trail by
construction: a caller could otherwise reuse one id across calls and tenants (issue 12,
item 8), and no replica could tell from memory alone. A caller's `x-audit-id`, when it is a
canonical UUID, is kept as `correlation_id` in the call's audit details. The id actually
recorded goes back in the trailers (and the error details), and in the response headers
once it is final: after authentication (see `announce_audit_id`), because a refused
unauthenticated call is recorded under its source's aggregate row instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from grpc import aio

from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.scope import RequestScope, current_scope, set_scope

AUDIT_ID_HEADER = "x-audit-id"


def canonical_uuid(candidate: str | None) -> str | None:
    """The candidate when it is a canonical UUID (so it cannot smuggle text), else None."""
    if candidate:
        try:
            parsed = uuid.UUID(candidate)
        except ValueError:
            return None
        if str(parsed) == candidate.lower():
            return str(parsed)
    return None


def metadata_value(context: aio.ServicerContext[Any, Any], key: str) -> str | None:
    for item_key, value in context.invocation_metadata() or ():
        if item_key == key:
            return value if isinstance(value, str) else None
    return None


async def announce_audit_id(context: aio.ServicerContext[Any, Any]) -> None:
    """Send the call's audit id in the response headers (call once, when it is final)."""
    await context.send_initial_metadata(((AUDIT_ID_HEADER, current_scope().audit_id),))


def set_audit_id(context: aio.ServicerContext[Any, Any], audit_id: str) -> None:
    """Change the audit id the call will report (before its headers are sent)."""
    current_scope().audit_id = audit_id
    context.set_trailing_metadata(((AUDIT_ID_HEADER, audit_id),))


class AuditIdInterceptor:
    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        scope = RequestScope(audit_id=str(uuid.uuid4()), method=call.method)
        correlation_id = canonical_uuid(metadata_value(context, AUDIT_ID_HEADER))
        if correlation_id is not None:
            scope.details["correlation_id"] = correlation_id
        set_scope(scope)
        context.set_trailing_metadata(((AUDIT_ID_HEADER, scope.audit_id),))
        return await proceed(request, context)
