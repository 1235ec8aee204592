"""The one place domain errors become gRPC statuses with google.rpc details.

Every status carries ErrorInfo (stable reason, domain healthai.v1, the audit id);
INVALID_ARGUMENT adds BadRequest, UNAVAILABLE and overload add RetryInfo, quota
adds QuotaFailure. Anything unexpected becomes INTERNAL with only the audit id:
no stack trace, no exception message (it could quote note text).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status

from healthai_server.domain import errors as domain
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.scope import current_scope

ERROR_DOMAIN = "healthai.v1"
log = logging.getLogger("healthai.errors")

_STATUS_BY_TYPE: list[tuple[type[domain.DomainError], grpc.StatusCode]] = [
    (domain.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (domain.AuthenticationFailed, grpc.StatusCode.UNAUTHENTICATED),
    (domain.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (domain.StorageUnavailable, grpc.StatusCode.UNAVAILABLE),
    (domain.BackendUnavailable, grpc.StatusCode.UNAVAILABLE),
    (domain.DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (domain.QuotaExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (domain.Overloaded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (domain.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (domain.NotFound, grpc.StatusCode.NOT_FOUND),
]


def status_code_for(error: domain.DomainError) -> grpc.StatusCode:
    for error_type, code in _STATUS_BY_TYPE:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.INTERNAL


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: domain.DomainError, audit_id: str) -> tuple[grpc.StatusCode, status_pb2.Status]:
    code = status_code_for(error)
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata={"audit_id": audit_id}))
    ]
    if isinstance(error, domain.InvalidRequest):
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                        for v in error.violations
                    ]
                )
            )
        )
    if isinstance(error, domain.BackendUnavailable | domain.Overloaded | domain.StorageUnavailable):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(error.retry_after_s * 1000))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    if isinstance(error, domain.QuotaExhausted):
        details.append(
            _pack(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(subject=error.subject, description=error.description)
                    ]
                )
            )
        )
    status = status_pb2.Status(code=code.value[0], message=error.message, details=details)
    return code, status


def internal_error(audit_id: str) -> domain.DomainError:
    return domain.DomainError(f"internal error; quote audit id {audit_id} to the operators")


async def abort_with(context: aio.ServicerContext[Any, Any], error: domain.DomainError, audit_id: str) -> None:
    """Abort the call with `error`, keeping trailers set earlier (abort would drop them)."""
    _code, status = to_status(error, audit_id)
    rich = rpc_status.to_status(status)
    existing = tuple(context.trailing_metadata() or ())
    await context.abort(rich.code, rich.details, trailing_metadata=existing + tuple(rich.trailing_metadata))


def log_unexpected(error: BaseException, audit_id: str) -> None:
    """Log type and frames only: exception messages and locals may quote note text."""
    frames = [f"{frame.filename}:{frame.lineno}:{frame.name}" for frame in traceback.extract_tb(error.__traceback__)]
    log.error(
        "unexpected error",
        extra={"audit_id": audit_id, "error_type": type(error).__name__, "frames": frames[-8:]},
    )


class ErrorMappingInterceptor:
    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        try:
            return await proceed(request, context)
        except (aio.AbortError, asyncio.CancelledError):
            raise
        except domain.DomainError as error:
            # Read now: the audit trail may have moved the call to an aggregate row.
            await abort_with(context, error, current_scope().audit_id)
        except Exception as error:
            audit_id = current_scope().audit_id
            log_unexpected(error, audit_id)
            await abort_with(context, internal_error(audit_id), audit_id)
        return None
