"""Backend-level failures: a small hierarchy the resilience layer decides on.

Each error says whether a retry could help (`retryable`), which degraded reason a
fallback answer carries (`degraded_reason`), and whether it is evidence that the
backend is unhealthy (`trips_breaker`). Messages never quote note text.
"""

from __future__ import annotations

from healthai_server.domain.errors import FailedPrecondition
from healthai_server.domain.provenance import DegradedReason


class BackendError(Exception):
    """A backend could not produce a result for this request."""

    degraded_reason: DegradedReason = DegradedReason.UPSTREAM_ERROR
    retryable: bool = False
    trips_breaker: bool = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Seconds the upstream asked us to wait before the next attempt (retry-after), if it said.
        self.retry_after = retry_after


class RateLimited(BackendError):
    """HTTP 429: the provider is up but rejects our rate; honour `retry_after`."""

    degraded_reason = DegradedReason.RATE_LIMITED
    retryable = True


class UpstreamError(BackendError):
    """A 5xx (including 529 overloaded) or a connection failure: retry may help.

    A non-retryable UpstreamError (a 4xx other than 429: bad key, bad request) still
    counts against the breaker: retrying the same request cannot fix it, and a
    misconfigured backend should stop being called.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
        kind: str = "server_error",
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status
        self.retryable = retryable
        # A metrics-friendly label: server_error, overloaded, connection_error, client_error.
        self.kind = kind


class BackendTimeout(BackendError):
    """The attempt used up the time budget; nothing is left to retry with."""

    degraded_reason = DegradedReason.TIMEOUT


class InvalidOutput(BackendError):
    """The backend answered, but the answer failed validation even after one repair attempt.

    The provider is healthy, so this does not trip the breaker.
    """

    degraded_reason = DegradedReason.INVALID_OUTPUT
    trips_breaker = False

    def __init__(self, message: str, *, errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        # Validation messages name schema paths and expected types, never note text.
        self.errors = errors


class BackendRefused(BackendError):
    """Policy forbids this backend for this request (never a health signal)."""

    trips_breaker = False


class PhiTransferRefused(BackendRefused, FailedPrecondition):
    """The tenant is not covered by a BAA and no PHI guard is configured: the note was not sent.

    Also a domain FailedPrecondition, so when no fallback can serve, the caller hears why.
    """

    reason = "PHI_TRANSFER_REFUSED"


class CircuitOpen(BackendError):
    """The backend's circuit breaker is open (or its half-open probe is in flight): not called."""

    degraded_reason = DegradedReason.BREAKER_OPEN
    trips_breaker = False


def failure_label(error: BackendError) -> str:
    """A bounded label for metrics: breaker_open, timeout, rate_limited, invalid_output,
    overloaded, server_error, connection_error, client_error, refused, budget_exhausted."""
    if isinstance(error, UpstreamError):
        return error.kind
    if isinstance(error, BackendRefused):
        return "refused"
    return error.degraded_reason.value
