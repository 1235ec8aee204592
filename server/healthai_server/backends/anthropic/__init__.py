"""The Anthropic Claude backend (official SDK, forced tool use, validated output)."""

from healthai_server.backends.anthropic.backend import DEFAULT_MODEL, AnthropicBackend
from healthai_server.backends.anthropic.schema import CLINICAL_DATA_V1, TOOL_NAME, clinical_data_schema
from healthai_server.backends.egress import GuardedText, PhiGuard

__all__ = [
    "CLINICAL_DATA_V1",
    "DEFAULT_MODEL",
    "TOOL_NAME",
    "AnthropicBackend",
    "GuardedText",
    "PhiGuard",
    "clinical_data_schema",
]
