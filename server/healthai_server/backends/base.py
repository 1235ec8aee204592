"""The interface every extraction backend implements."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from healthai_server.domain.clinical import ClinicalData, EncodedClinicalData, ExtractionOptions, NoteContext
from healthai_server.domain.provenance import Provenance

if TYPE_CHECKING:
    from healthai_server.backends.egress import OutboundGate


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


# How a note's text left the process, least to most exposed. "surrogates": the PHI guard
# replaced identifiers first; "clear": the tenant is covered by a BAA and the text went as is.
EGRESS_FORMS = ("none", "surrogates", "clear")


@dataclass(slots=True)
class EgressLog:
    """Where the note's text was actually sent during one request, written by the backend
    at the moment it sends, so a call that then fails and falls back is still recorded."""

    destinations: list[tuple[str, str]] = field(default_factory=list)

    def record(self, destination: str, form: str) -> None:
        if form not in EGRESS_FORMS:
            raise ValueError(f"unknown egress form {form!r}")
        self.destinations.append((destination, form))

    @property
    def summary(self) -> str:
        """The most exposed form the text left in ("none" when it never left)."""
        return max((form for _dest, form in self.destinations), key=EGRESS_FORMS.index, default="none")


@dataclass(frozen=True, slots=True)
class BackendRequest:
    """What a backend needs for one note. `text` is PHI: never log it."""

    text: str
    tenant: str
    options: ExtractionOptions = field(default_factory=ExtractionOptions)
    deadline: Deadline | None = None
    note_id: str = ""
    # Who and when the note is about: backends ignore it, the FHIR stage after them uses it.
    note_context: NoteContext = field(default_factory=NoteContext)
    # Shared by every backend in a fallback chain (dataclasses.replace keeps the same log).
    egress: EgressLog = field(default_factory=EgressLog)
    # Set by the pipeline's PHI guard stage: the only way a backend may obtain text to send
    # out of the process (None: the request did not pass the stage; see backends/egress.py).
    outbound: OutboundGate | None = None


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


@runtime_checkable
class BatchExtractionBackend(ExtractionBackend, Protocol):
    """A backend that extracts several notes in one call (the local engine: one worker round trip
    per chunk). Each entry is that note's result or the exception it failed with."""

    async def extract_many(self, requests: Sequence[BackendRequest]) -> list[BackendResult | Exception]: ...
