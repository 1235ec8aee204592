"""HealthAI Python SDK: a typed client over the generated stubs (healthai.v1) and the `healthai` CLI."""

from healthai.client import HealthAIClient
from healthai.errors import (
    DeadlineExceededError,
    HealthAIError,
    InvalidArgumentError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)

__all__ = [
    "DeadlineExceededError",
    "HealthAIClient",
    "HealthAIError",
    "InvalidArgumentError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
]
