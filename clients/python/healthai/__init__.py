"""HealthAI Python SDK: a typed client over the generated stubs (healthai.v1) and the `healthai` CLI."""

from healthai.client import HealthAIClient, HealthAIError

__all__ = ["HealthAIClient", "HealthAIError"]
