"""Turn a failed RPC into one exception with everything the server sent: code, message,
stable reason, field violations, retry delay, quota failures and the audit id."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

AUDIT_ID_HEADER = "x-audit-id"


@dataclass
class HealthAIError(Exception):
    code: grpc.StatusCode
    message: str
    reason: str = ""
    audit_id: str = ""
    field_violations: list[tuple[str, str]] = field(default_factory=list)
    retry_after_s: float | None = None
    quota_violations: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

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


def from_rpc_error(error: grpc.RpcError) -> HealthAIError:
    call = error if isinstance(error, grpc.Call) else None
    code = call.code() if call is not None else grpc.StatusCode.UNKNOWN
    message = (call.details() if call is not None else str(error)) or ""
    result = HealthAIError(code=code, message=message)
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
