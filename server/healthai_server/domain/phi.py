"""De-identification domain types."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from healthai_server.domain.clinical import Span


class PhiType(enum.Enum):
    NAME = "name"
    STREET_ADDRESS = "street_address"
    CITY = "city"
    ZIP_CODE = "zip_code"
    DATE = "date"
    AGE = "age"
    PHONE = "phone"
    FAX = "fax"
    EMAIL = "email"
    SSN = "ssn"
    MEDICAL_RECORD_NUMBER = "medical_record_number"
    HEALTH_PLAN_NUMBER = "health_plan_number"
    ACCOUNT_NUMBER = "account_number"
    LICENSE_NUMBER = "license_number"
    VEHICLE_IDENTIFIER = "vehicle_identifier"
    DEVICE_IDENTIFIER = "device_identifier"
    URL = "url"
    IP_ADDRESS = "ip_address"
    OTHER_IDENTIFIER = "other_identifier"
    ORGANIZATION = "organization"
    # A token the recall-first policy could not show to be safe (not a typed identifier).
    OTHER = "other"


class DeidentificationMode(enum.Enum):
    REDACT = "redact"
    MASK = "mask"
    SURROGATE = "surrogate"


class DeidentificationPolicy(enum.Enum):
    """What to remove. PRECISION removes what the typed recognizers find; RECALL_FIRST also
    removes every remaining token that cannot be shown to be safe (after Philter)."""

    PRECISION = "precision"
    RECALL_FIRST = "recall_first"


@dataclass(frozen=True, slots=True)
class PhiFinding:
    type: PhiType
    span: Span
    confidence: float
    replacement: str = ""


@dataclass(frozen=True, slots=True)
class DeidentifiedNote:
    text: str
    findings: tuple[PhiFinding, ...]
