"""Batch job operations (create, get, list, cancel, delete, wait, results, dead letters,
replay) on the store, with AIP-155 idempotency. No gRPC types: the servicer maps.

Creating a job streams its notes into the store as a STAGING job (nothing claimable, and
never listed) in chunks, so a 100,000-note job never sits in memory; `finish` makes it
claimable in one transaction. A request id seen before with the same fingerprint returns the
first job and stages nothing; with another fingerprint it is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from healthai_server.domain.batch import DeadLetter, Job, NoteInput, NoteResult, Page
from healthai_server.domain.errors import FieldViolation, InvalidRequest, NotFound, OperationRunning
from healthai_server.storage.batch import BatchStore

OPERATION_PREFIX = "operations/"
JOB_PREFIX = "batch-"
STAGE_CHUNK = 500
_NAME = re.compile(r"^operations/(batch-[0-9a-f-]{36})$")
_FILTER = re.compile(r"^\s*done\s*=\s*(true|false)\s*$")

CREATE = "CreateBatchJob"
CANCEL = "CancelBatchJob"
REPLAY = "ReplayDeadLetters"


def operation_name(job: str) -> str:
    return OPERATION_PREFIX + job


def job_name(operation: str) -> str:
    match = _NAME.match(operation)
    if match is None:
        raise NotFound(f"no batch job named {operation[:100]!r}" if operation else "no operation name given")
    return match.group(1)


def parse_filter(text: str) -> bool | None:
    """The ListOperations filter this server understands: empty, or `done = true|false`."""
    if not text.strip():
        return None
    match = _FILTER.match(text)
    if match is None:
        raise InvalidRequest([FieldViolation("filter", "supported filters: `done = true` or `done = false`")])
    return match.group(1) == "true"


def _mismatch(field: str) -> InvalidRequest:
    return InvalidRequest(
        [FieldViolation(field, "was already used for a different request; use a new request id")],
        "the request id was already used for a different request",
    )


@dataclass(frozen=True, slots=True)
class JobLimits:
    max_notes: int = 100_000
    retention: timedelta = timedelta(days=30)
    idempotency_ttl: timedelta = timedelta(days=30)


class JobBuilder:
    """One CreateBatchJob call in progress. Call `add` per note, then `finish`, or `abort`."""

    def __init__(self, jobs: BatchJobs, tenant: str, principal: str, request_id: str, settings_digest: bytes) -> None:
        self._jobs = jobs
        self._tenant = tenant
        self._principal = principal
        self._request_id = request_id
        self._fingerprint = hashlib.sha256(settings_digest)
        self._seen: set[str] = set()
        self._pending: list[NoteInput] = []
        self._staged = 0
        self._name = JOB_PREFIX + str(uuid.uuid4())
        self._started = False
        self._replaying = False
        self.display_name = ""

    @property
    def count(self) -> int:
        return len(self._seen)

    async def start(self, display_name: str) -> None:
        self.display_name = display_name
        known = await self._jobs.store.recall(self._tenant, CREATE, self._request_id)
        # A retry of a job already created: only fingerprint the notes, store nothing.
        self._replaying = known is not None
        if not self._replaying:
            await self._jobs.store.create_staging(
                self._name, self._tenant, self._principal, display_name, self._jobs.limits.retention
            )
            self._started = True

    async def add(self, note: NoteInput, digest: bytes) -> None:
        index = len(self._seen)
        if index >= self._jobs.limits.max_notes:
            raise InvalidRequest(
                [FieldViolation("notes", f"a job holds at most {self._jobs.limits.max_notes} notes")],
                "the job has too many notes",
            )
        if note.note_id in self._seen:
            raise InvalidRequest(
                [FieldViolation(f"notes[{index}].note_id", "repeats an earlier note's id; ids must be unique")],
                "duplicate note id in the job",
            )
        self._seen.add(note.note_id)
        self._fingerprint.update(len(note.note_id).to_bytes(2, "big") + note.note_id.encode() + digest)
        if self._replaying:
            return
        self._pending.append(note)
        if len(self._pending) >= STAGE_CHUNK:
            await self._flush()

    async def _flush(self) -> None:
        await self._jobs.store.stage_notes(self._name, self._tenant, self._staged, self._pending)
        self._staged += len(self._pending)
        self._pending = []

    async def finish(self) -> Job:
        if not self._seen:
            raise InvalidRequest([FieldViolation("notes", "a job needs at least one note")], "the job has no notes")
        fingerprint = self._fingerprint.hexdigest()
        store = self._jobs.store
        if not self._replaying:
            await self._flush()
        answer = await store.remember(
            self._tenant, CREATE, self._request_id, fingerprint, self._name, ttl=self._jobs.limits.idempotency_ttl
        )
        if answer.response != self._name:  # created before (or by a concurrent retry)
            await self.abort()
            if answer.request_hash != fingerprint:
                raise _mismatch("settings.request_id")
            return await self._jobs.get(operation_name(answer.response), self._tenant)
        await store.finalize(self._name, self._tenant, len(self._seen))
        self._started = False
        self._jobs.wake()
        return await self._jobs.get(operation_name(self._name), self._tenant)

    async def abort(self) -> None:
        if self._started:
            self._started = False
            await self._jobs.store.discard(self._name, self._tenant)


class BatchJobs:
    def __init__(self, store: BatchStore, limits: JobLimits, wake: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.limits = limits
        self.wake = wake

    def builder(self, tenant: str, principal: str, request_id: str, settings_digest: bytes) -> JobBuilder:
        return JobBuilder(self, tenant, principal, request_id, settings_digest)

    async def get(self, operation: str, tenant: str) -> Job:
        job = await self.store.get(job_name(operation), tenant)
        if job is None:
            # Another tenant's job answers exactly like a missing one: its existence is not told.
            raise NotFound(f"no batch job named {operation!r}")
        return job

    async def list(self, tenant: str, page_size: int, page_token: str, filter_text: str) -> Page[Job]:
        return await self.store.list_jobs(tenant, _page_size(page_size), page_token, parse_filter(filter_text))

    async def cancel(self, operation: str, tenant: str, request_id: str = "") -> Job:
        job = await self.get(operation, tenant)
        if request_id:
            answer = await self.store.remember(
                tenant, CANCEL, request_id, _digest(operation), operation, ttl=self.limits.idempotency_ttl
            )
            if answer.request_hash != _digest(operation):
                raise _mismatch("request_id")
        await self.store.cancel(job.name, tenant)
        return await self.get(operation, tenant)

    async def delete(self, operation: str, tenant: str) -> None:
        job = await self.get(operation, tenant)
        if not job.done:
            raise OperationRunning("the job is still running; cancel it first, then delete it")
        await self.store.discard(job.name, tenant)

    async def wait(self, operation: str, tenant: str, timeout_s: float) -> Job:
        """The job once done, or as it is when the timeout passes (AIP-151 WaitOperation)."""
        deadline = time.monotonic() + timeout_s
        delay = 0.05
        while True:
            job = await self.get(operation, tenant)
            remaining = deadline - time.monotonic()
            if job.done or remaining <= 0:
                return job
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)

    async def results(self, operation: str, tenant: str, page_size: int, page_token: str) -> Page[NoteResult]:
        job = await self.get(operation, tenant)
        return await self.store.results(job.name, tenant, _page_size(page_size), page_token)

    async def dead_letters(self, operation: str, tenant: str, page_size: int, page_token: str) -> Page[DeadLetter]:
        job = await self.get(operation, tenant)
        return await self.store.dead_letters(job.name, tenant, _page_size(page_size), page_token)

    async def replay(
        self, operation: str, tenant: str, note_ids: Sequence[str], request_id: str = ""
    ) -> tuple[int, Job]:
        job = await self.get(operation, tenant)
        request = _digest(operation, *sorted(note_ids))
        if request_id:
            known = await self.store.recall(tenant, REPLAY, request_id)
            if known is not None:
                if known.request_hash != request:
                    raise _mismatch("request_id")
                return int(known.response), await self.get(operation, tenant)
        replayed = await self.store.replay(job.name, tenant, note_ids)
        if request_id:
            answer = await self.store.remember(
                tenant, REPLAY, request_id, request, str(replayed), ttl=self.limits.idempotency_ttl
            )
            replayed = int(answer.response)
        if replayed:
            self.wake()
        return replayed, await self.get(operation, tenant)


def _page_size(requested: int) -> int:
    return 100 if requested <= 0 else min(requested, 1000)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
