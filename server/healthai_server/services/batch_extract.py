"""The batch queue's one door into extraction: a stored note in, an encoded result out.

It calls `ExtractionPipeline.run`, the entry point ClinicalExtractionServicer uses, with a
pipeline built without a usage ledger: the batch store writes the usage row in the same
transaction as the note's result, so a retried or re-claimed note never bills twice. Mapping
to and from protobuf happens here (the queue below stores bytes), like the servicers do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from healthai.v1 import batch_service_pb2, extraction_service_pb2
from healthai.v1.batch_service_pb2 import BatchNote

from healthai_server.backends.base import BackendRequest, Deadline
from healthai_server.domain.batch import ItemFailure, WorkItem
from healthai_server.domain.errors import DomainError, FieldViolation, InvalidRequest
from healthai_server.domain.provenance import TokenUsage
from healthai_server.interceptors.errors import status_code_for
from healthai_server.pipeline.extraction import Caller, ExtractionOutcome, ExtractionPipeline
from healthai_server.pipeline.hashing import NoteHasher
from healthai_server.services import convert
from healthai_server.storage.usage import UsageRecord
from healthai_server.validation_rules import RequestValidator

BATCH_PRINCIPAL = "batch"


def encode_note(note: batch_service_pb2.BatchNote, default_options: extraction_service_pb2.ExtractionOptions) -> bytes:
    """What the queue stores for a note (encrypted at rest): the note with its effective options."""
    stored = batch_service_pb2.BatchNote()
    stored.CopyFrom(note)
    if not note.HasField("options"):
        stored.options.CopyFrom(default_options)
    return stored.SerializeToString(deterministic=True)


def note_digest(payload: bytes) -> bytes:
    """A request fingerprint's part for one note: a hash, never the text."""
    return hashlib.sha256(payload).digest()


class ExtractedNote:
    __slots__ = ("details", "note_hmac", "result", "usage")

    def __init__(self, result: bytes, usage: UsageRecord | None, note_hmac: str, details: dict[str, object]) -> None:
        self.result = result
        self.usage = usage
        self.note_hmac = note_hmac
        self.details = details


class BatchExtractor:
    def __init__(
        self, pipeline: ExtractionPipeline, hasher: NoteHasher, validator: RequestValidator, timeout_s: float
    ) -> None:
        self._pipeline = pipeline
        self._hasher = hasher
        self._validator = validator
        self._timeout_s = timeout_s

    async def extract(self, item: WorkItem, audit_id: str) -> ExtractedNote:
        """Raise DomainError for a failed note (the runner decides retry or dead letter)."""
        [outcome] = await self.extract_many([(item, audit_id)])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def extract_many(self, items: Sequence[tuple[WorkItem, str]]) -> list[ExtractedNote | Exception]:
        """Several claimed notes through the pipeline at once (one engine worker call for all of
        them on the local backend); each entry is the note's result or the error it failed with
        (the runner decides retry or dead letter per note)."""
        outcomes: list[ExtractedNote | Exception | None] = [None] * len(items)
        requests: list[tuple[BackendRequest, Caller | None]] = []
        positions: list[tuple[int, BatchNote]] = []
        for index, (item, audit_id) in enumerate(items):
            try:
                note, request = self._request(item, audit_id)
            except Exception as error:  # this note only: a bad payload or a limit it now breaks
                outcomes[index] = error
                continue
            requests.append((request, Caller(tenant=item.tenant, principal=BATCH_PRINCIPAL, audit_id=audit_id)))
            positions.append((index, note))
        extracted = await self._pipeline.run_many(requests) if requests else []
        for (index, note), outcome in zip(positions, extracted, strict=True):
            item, audit_id = items[index]
            outcomes[index] = outcome if isinstance(outcome, Exception) else self._encode(item, note, audit_id, outcome)
        return [outcome for outcome in outcomes if outcome is not None]

    def _request(self, item: WorkItem, audit_id: str) -> tuple[BatchNote, BackendRequest]:
        note = BatchNote()
        if not item.payload:
            raise InvalidRequest([FieldViolation("text", "the stored note could not be read (key rotated out?)")])
        note.ParseFromString(item.payload)
        self._validator.check(note)  # the server's note-length limit may have changed since submission
        request = BackendRequest(
            text=note.text,
            tenant=item.tenant,
            options=convert.options_from_pb(note.options),
            deadline=Deadline.after(self._timeout_s),
            note_id=note.note_id,
            note_context=convert.note_context_from_pb(note.context),
        )
        return note, request

    def _encode(self, item: WorkItem, note: BatchNote, audit_id: str, outcome: ExtractionOutcome) -> ExtractedNote:
        result, provenance = outcome.result, outcome.result.provenance
        response = extraction_service_pb2.ExtractClinicalDataResponse(
            audit_id=audit_id,
            note_id=note.note_id,
            data=convert.clinical_data_to_pb(result.data),
            provenance=convert.provenance_to_pb(provenance),
            fhir_bundle_json=outcome.fhir_json,
            ungrounded_dropped=result.ungrounded_dropped,
        )
        usage = None
        if provenance.backend != "local":  # the same rule as the unary pipeline's ledger
            prompt = provenance.prompt
            usage = UsageRecord(
                tenant=item.tenant,
                principal=BATCH_PRINCIPAL,
                audit_id=audit_id,
                backend=provenance.backend,
                model=provenance.model,
                usage=provenance.token_usage or TokenUsage(),
                cost_micros=provenance.cost_micros,
                prompt_id=prompt.id if prompt else "",
                prompt_version=prompt.version if prompt else "",
                cache_hit=provenance.cache_hit,
            )
        details: dict[str, object] = {"backend": provenance.backend, "phi_egress": outcome.phi_egress}
        return ExtractedNote(response.SerializeToString(), usage, self._hasher.fingerprint(note.text), details)


NOT_AN_ATTEMPT = frozenset({"OVERLOADED", "SHUTTING_DOWN"})
RETRYABLE_REASONS = frozenset(
    {"BACKEND_UNAVAILABLE", "SHUTTING_DOWN", "OVERLOADED", "STORAGE_UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL"}
)


def failure_of(error: BaseException) -> ItemFailure:
    """A note's failure as the queue keeps it: status code, reason, a message without note text."""
    if isinstance(error, DomainError):
        return ItemFailure(
            status_code_for(error).value[0],
            error.reason,
            error.message[:512],
            error.reason in RETRYABLE_REASONS,
            counts_as_attempt=error.reason not in NOT_AN_ATTEMPT,
        )
    # An unexpected exception's message may quote the note: keep only its type.
    return ItemFailure(13, "INTERNAL", f"unexpected {type(error).__name__}", retryable=True)
