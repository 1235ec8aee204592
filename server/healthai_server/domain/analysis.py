"""Clinical alerts computed from extracted data (deterministic, never from an LLM)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from healthai_server.domain.clinical import Span


class AlertKind(enum.Enum):
    CRITICAL_VITAL = "critical_vital"
    ALLERGY_CONFLICT = "allergy_conflict"
    IMPLAUSIBLE_VALUE = "implausible_value"


class AlertSeverity(enum.Enum):
    INFO = 1
    WARNING = 2
    CRITICAL = 3


@dataclass(frozen=True, slots=True)
class ClinicalAlert:
    kind: AlertKind
    severity: AlertSeverity
    message: str  # built from extracted facts, for the caller; never logged
    evidence: tuple[Span, ...] = ()
