"""Turn a failed RPC into one exception with everything the server sent: code, message,
stable reason, field violations, retry delay, quota failures and the audit id.

The exception's class says what went wrong, the way the Anthropic SDK does it: catch
`ResourceExhaustedError` to back off for `retry_after_s`, `InvalidArgumentError` to show
`field_violations`, or `HealthAIError` for all of them (every class below derives from it,
so callers written before the hierarchy existed keep working).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

AUDIT_ID_HEADER = "x-audit-id"


@dataclass
class HealthAIError(Exception):
    """A failed call. Subclasses by status code; unmapped codes raise this class itself."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    audit_id: str = ""
    field_violations: list[tuple[str, str]] = field(default_factory=list)
    retry_after_s: float | None = None
    quota_violations: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later unchanged (after `retry_after_s`, when given)."""
        return False

    def describe(self) -> str:
        lines = [f"error: {self.code.name}: {self.message}"]
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        lines += [f"  field {name}: {description}" for name, description in self.field_violations]
        lines += [f"  quota {subject}: {description}" for subject, description in self.quota_violations]
        if self.retry_after_s is not None:
            lines.append(f"  retry after: {self.retry_after_s:g} s")
        if self.audit_id:
            lines.append(f"  audit id: {self.audit_id}")
        return "\n".join(lines)


class InvalidArgumentError(HealthAIError):
    """The request broke the contract; `field_violations` names each bad field. Do not retry unchanged."""


class UnauthenticatedError(HealthAIError):
    """No token, or one that is expired, malformed or from the wrong issuer."""


class PermissionDeniedError(HealthAIError):
    """The token is valid but its role may not call this method (or see another tenant)."""


class ResourceExhaustedError(HealthAIError):
    """Overload or an exhausted budget. `retry_after_s` is set when waiting helps;
    `quota_violations` is set when a budget ran out (waiting for the next period helps)."""

    @property
    def retryable(self) -> bool:
        return self.retry_after_s is not None


class UnavailableError(HealthAIError):
    """The server is shutting down, starting or cannot reach its storage: retry, after `retry_after_s` if given."""

    @property
    def retryable(self) -> bool:
        return True


class DeadlineExceededError(HealthAIError):
    """The call did not finish before its deadline (set by `timeout_s`)."""

    @property
    def retryable(self) -> bool:
        return True


_BY_CODE: dict[grpc.StatusCode, type[HealthAIError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def error_class(code: grpc.StatusCode) -> type[HealthAIError]:
    """The exception class raised for a status code (HealthAIError for codes without their own)."""
    return _BY_CODE.get(code, HealthAIError)


def from_rpc_error(error: grpc.RpcError) -> HealthAIError:
    call = error if isinstance(error, grpc.Call) else None
    code = call.code() if call is not None else grpc.StatusCode.UNKNOWN
    message = (call.details() if call is not None else str(error)) or ""
    result = error_class(code)(code=code, message=message)
    if call is not None:
        for key, value in call.trailing_metadata() or ():
            if key == AUDIT_ID_HEADER and isinstance(value, str):
                result.audit_id = value
        status = rpc_status.from_call(call)
        for detail in status.details if status is not None else ():
            _absorb(result, detail)
    return result


def _absorb(result: HealthAIError, detail: object) -> None:
    info = error_details_pb2.ErrorInfo()
    bad = error_details_pb2.BadRequest()
    retry = error_details_pb2.RetryInfo()
    quota = error_details_pb2.QuotaFailure()
    if detail.Unpack(info):  # type: ignore[attr-defined]
        result.reason = info.reason
        result.audit_id = result.audit_id or info.metadata.get("audit_id", "")
    elif detail.Unpack(bad):  # type: ignore[attr-defined]
        result.field_violations = [(v.field, v.description) for v in bad.field_violations]
    elif detail.Unpack(retry):  # type: ignore[attr-defined]
        result.retry_after_s = retry.retry_delay.ToTimedelta().total_seconds()
    elif detail.Unpack(quota):  # type: ignore[attr-defined]
        result.quota_violations = [(v.subject, v.description) for v in quota.violations]


__all__ = [
    "AUDIT_ID_HEADER",
    "DeadlineExceededError",
    "HealthAIError",
    "InvalidArgumentError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "error_class",
    "from_rpc_error",
]
