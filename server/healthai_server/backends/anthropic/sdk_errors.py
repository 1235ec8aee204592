"""anthropic SDK exceptions -> backend errors (healthai_server.backends.errors)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import anthropic

from healthai_server.backends.errors import BackendError, BackendTimeout, InvalidOutput, RateLimited, UpstreamError

_RETRYABLE_CLIENT_STATUSES = frozenset({408, 409})


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """retry-after-ms, then retry-after as seconds or an HTTP date; None when absent or unreadable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def map_sdk_error(exc: anthropic.AnthropicError) -> BackendError:
    """The backend error for an SDK exception. Messages carry status and type, never bodies."""
    if isinstance(exc, anthropic.APITimeoutError):
        return BackendTimeout("the Anthropic API did not answer in time")
    if isinstance(exc, anthropic.APIConnectionError):
        return UpstreamError("could not reach the Anthropic API", kind="connection_error")
    if isinstance(exc, anthropic.APIResponseValidationError):
        return InvalidOutput("the Anthropic API returned a response the SDK could not read")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        retry_after = retry_after_seconds(exc.response.headers)
        error_type = exc.type or "unknown"
        if isinstance(exc, anthropic.RateLimitError):
            return RateLimited(f"Anthropic API rate limit ({error_type})", retry_after=retry_after)
        if isinstance(exc, anthropic.OverloadedError) or error_type == "overloaded_error":
            return UpstreamError(
                f"Anthropic API overloaded ({status})", status=status, retry_after=retry_after, kind="overloaded"
            )
        if status >= 500:
            return UpstreamError(
                f"Anthropic API server error {status} ({error_type})", status=status, retry_after=retry_after
            )
        return UpstreamError(
            f"Anthropic API rejected the request: {status} ({error_type})",
            status=status,
            retryable=status in _RETRYABLE_CLIENT_STATUSES,
            retry_after=retry_after,
            kind="client_error",
        )
    return UpstreamError(f"Anthropic SDK error ({type(exc).__name__})", retryable=False)
