"""The interface every extraction backend implements."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from healthai_server.domain.clinical import ClinicalData, EncodedClinicalData, ExtractionOptions
from healthai_server.domain.provenance import Provenance


@dataclass(frozen=True, slots=True)
class Deadline:
    """An absolute point on the monotonic clock; None-free so arithmetic stays simple."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


@dataclass(frozen=True, slots=True)
class BackendRequest:
    """What a backend needs for one note. `text` is PHI: never log it."""

    text: str
    tenant: str
    options: ExtractionOptions = field(default_factory=ExtractionOptions)
    deadline: Deadline | None = None
    note_id: str = ""


@dataclass(frozen=True, slots=True)
class BackendResult:
    # The local engine answers already encoded (see EncodedClinicalData); LLM backends with objects.
    data: ClinicalData | EncodedClinicalData
    provenance: Provenance
    ungrounded_dropped: int = 0


class ExtractionBackend(Protocol):
    """An extraction backend. Implementations raise healthai_server.backends.errors types."""

    @property
    def name(self) -> str: ...

    async def extract(self, request: BackendRequest) -> BackendResult: ...

    async def close(self) -> None: ...
