"""Write one audit event for every RPC, success or failure, before the caller hears back.

Calls refused for a missing or bad token are the exception: they are counted into one row
per source address per window (interceptors/auth_failure_tally.py), so a flood of them
cannot grow the trail without bound.

It sits inside error mapping, so it sees the domain exception itself (and records the
status it will become) rather than racing an abort that has already been sent. A
successful call whose event cannot be written fails with UNAVAILABLE: a result is
never returned unaudited. A failed call whose event cannot be written keeps its own
status (the write failure is logged and counted).

The status recorded is the one the caller gets. A call whose deadline passes before its
event is committed (a slow handler, a chain-head lock held elsewhere) reached its client as
DEADLINE_EXCEEDED, whatever the handler returned: the repository records DEADLINE_EXCEEDED
then (and the handler's status in the details), and this interceptor answers with it, so the
record and the answer agree.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from grpc import aio

from healthai_server.auth.rbac import is_open_method
from healthai_server.domain.errors import AuthenticationFailed, DeadlineExceeded, DomainError, StorageUnavailable
from healthai_server.interceptors.audit_id import set_audit_id
from healthai_server.interceptors.auth_failure_tally import AuthFailureTally, source_of
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.interceptors.errors import status_code_for
from healthai_server.interceptors.outcome import status_name
from healthai_server.scope import RequestScope, current_scope
from healthai_server.storage.audit import DEADLINE_EXCEEDED, AuditEvent, AuditRepository

log = logging.getLogger("healthai.audit")


def event_from_scope(scope: RequestScope, code: str, deadline: float | None = None) -> AuditEvent:
    details = dict(scope.details)
    details["latency_ms"] = round(scope.elapsed_s() * 1000, 3)
    return AuditEvent(
        audit_id=scope.audit_id,
        tenant=scope.principal.tenant,
        principal=scope.principal.subject,
        method=scope.method,
        status_code=code,
        note_hmac=scope.note_hmac,
        details=details,
        deadline=deadline,
    )


def call_deadline(context: aio.ServicerContext[Any, Any]) -> float | None:
    """The call's deadline on the time.monotonic() clock, or None when the client set none."""
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def _code_for(error: BaseException, context: aio.ServicerContext[Any, Any]) -> str:
    if isinstance(error, DomainError):
        return status_code_for(error).name
    if isinstance(error, asyncio.CancelledError | aio.AbortError):
        return status_name(context, error)
    return grpc.StatusCode.INTERNAL.name


class AuditTrailInterceptor:
    def __init__(
        self,
        repository: AuditRepository,
        on_write_failure: Callable[[], None] = lambda: None,
        *,
        unauthenticated: AuthFailureTally | None = None,
    ) -> None:
        self._repository = repository
        self._on_write_failure = on_write_failure
        self._unauthenticated = unauthenticated

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if is_open_method(call.method):
            return await proceed(request, context)
        scope = current_scope()
        deadline = call_deadline(context)
        try:
            response = await proceed(request, context)
        except BaseException as error:
            if (
                isinstance(error, AuthenticationFailed)
                and scope.principal.is_anonymous
                and self._unauthenticated is not None
            ):
                set_audit_id(
                    context, self._unauthenticated.record(source_of(context.peer()), error.reason, call.method)
                )
                scope.aggregated = True
                raise
            await self._record(scope, _code_for(error, context), deadline, raise_on_failure=False)
            raise
        code = status_name(context, None)
        recorded = await self._record(scope, code, deadline, raise_on_failure=True)
        if recorded == DEADLINE_EXCEEDED and code != DEADLINE_EXCEEDED:
            # The client has given up already; what it saw is what the audit says.
            raise DeadlineExceeded("the deadline passed before the result could be returned")
        return response

    async def _record(
        self, scope: RequestScope, code: str, deadline: float | None, *, raise_on_failure: bool
    ) -> str | None:
        """Write the event; the status recorded, or None when it could not be written."""
        # Shielded: a cancelled call still gets its event written.
        try:
            recorded = await asyncio.shield(self._repository.record(event_from_scope(scope, code, deadline)))
        except Exception as error:
            # Whatever broke the write (a missing table raises ProgrammingError on PostgreSQL),
            # it must not replace a failed call's own status.
            self._on_write_failure()
            log.error("audit write failed", extra={"audit_id": scope.audit_id, "error_type": type(error).__name__})
            if raise_on_failure:
                raise StorageUnavailable("the audit trail is unavailable; the result was withheld") from None
            return None
        return recorded.status_code
