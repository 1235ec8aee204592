"""Domain exceptions. Each carries a stable `reason` (an ErrorReason name) and a
message that never contains note text; interceptors/errors.py maps them to gRPC."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base class; `reason` is an ErrorReason value name without its prefix."""

    reason = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(DomainError):
    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], message: str = "the request is invalid") -> None:
        super().__init__(message)
        self.violations = violations


class AuthenticationFailed(DomainError):
    """reason is one of TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_WRONG_AUDIENCE."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PermissionDenied(DomainError):
    reason = "PERMISSION_DENIED"


class StorageUnavailable(DomainError):
    """The database is unreachable; nothing was written. Retryable, so it carries RetryInfo."""

    reason = "STORAGE_UNAVAILABLE"

    def __init__(self, message: str, retry_after_s: float = 2.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BackendUnavailable(DomainError):
    """No backend could serve; `retry_after_s` feeds google.rpc.RetryInfo."""

    reason = "BACKEND_UNAVAILABLE"

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ShuttingDown(BackendUnavailable):
    """The server is draining before it stops: retry on another replica."""

    reason = "SHUTTING_DOWN"


class DeadlineExceeded(DomainError):
    reason = "DEADLINE_EXCEEDED"


class MessageTimeout(DeadlineExceeded):
    """The caller did not send its request message, or a stream's next message, in time."""


class QuotaExhausted(DomainError):
    """`subject` and `description` feed google.rpc.QuotaFailure."""

    reason = "QUOTA_EXHAUSTED"

    def __init__(self, message: str, subject: str, description: str) -> None:
        super().__init__(message)
        self.subject = subject
        self.description = description


class Overloaded(DomainError):
    reason = "OVERLOADED"

    def __init__(self, message: str, retry_after_s: float = 0.5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class FailedPrecondition(DomainError):
    """The request is valid but the resource's state does not allow it now. The subclasses
    give clients a stable reason to act on instead of the message's wording."""

    reason = "FAILED_PRECONDITION"


class ReviewTaskClaimed(FailedPrecondition):
    reason = "REVIEW_TASK_CLAIMED"


class ReviewLeaseExpired(FailedPrecondition):
    reason = "REVIEW_LEASE_EXPIRED"


class ReviewTaskCompleted(FailedPrecondition):
    reason = "REVIEW_TASK_COMPLETED"


class NoteTextPurged(FailedPrecondition):
    reason = "NOTE_TEXT_PURGED"


class OperationRunning(FailedPrecondition):
    reason = "OPERATION_RUNNING"


class NotFound(DomainError):
    """The named resource does not exist for the caller's tenant (another tenant's looks the same)."""

    reason = "NOT_FOUND"


class Aborted(DomainError):
    """The resource changed since the caller read it (a stale etag): read again, then retry."""

    reason = "ABORTED"
