"""Consumes the batch queue: claim a chunk of notes under a lease, extract them, write their
outcomes in one transaction, audit the chunk; repeat. Every server replica runs one.

A consumer killed at any point loses nothing: notes it claimed are claimed again when their
lease expires, and a result it had not written is simply produced again (the store writes a
result only under a lease still held, so each note gets exactly one). The chunk's audit event
is written before its results: a note never has a result without an audit event naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from opentelemetry import trace

from healthai_server.domain.batch import ItemFailure, WorkItem
from healthai_server.domain.errors import DomainError
from healthai_server.storage.audit import AuditEvent, AuditRepository
from healthai_server.storage.batch import BatchStore, ItemOutcome, WriteReport
from healthai_server.storage.usage import UsageRecord

log = logging.getLogger("healthai.batch")
_tracer = trace.get_tracer("healthai.batch")
PROCESS_METHOD = "/healthai.v1.BatchService/ProcessNotes"
IDLE_SWEEP_EVERY = 10


class ProcessedNote(Protocol):
    result: bytes
    usage: UsageRecord | None
    note_hmac: str
    details: dict[str, object]


class NoteProcessor(Protocol):
    async def extract_many(self, items: Sequence[tuple[WorkItem, str]]) -> Sequence[ProcessedNote | Exception]:
        """Each (item, audit id)'s result, or the exception that note failed with, in order."""
        ...


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    consumers: int = 1
    claim_size: int = 32
    # Engine calls in flight per server (each carries up to notes_per_call notes).
    concurrency: int = 4
    # Notes sent to the engine in one call: one worker round trip (pickling, pool hand-offs,
    # event-loop wake-ups) per group instead of per note; see README, bench-batch. With two calls
    # per worker in flight, 4 keeps a worker's queue under the engine's admission wait limit.
    notes_per_call: int = 4
    lease_s: float = 60.0
    poll_interval_s: float = 1.0
    stats_interval_s: float = 5.0


class BatchRunner:
    def __init__(
        self,
        store: BatchStore,
        processor: NoteProcessor,
        classify: Callable[[BaseException], ItemFailure],
        audit: AuditRepository,
        settings: RunnerSettings,
        *,
        on_written: Callable[[WriteReport], None] = lambda _report: None,
        on_stats: Callable[[int, float, int], None] = lambda _depth, _age, _dead: None,
    ) -> None:
        self._store = store
        self._processor = processor
        self._classify = classify
        self._audit = audit
        self._settings = settings
        self._on_written = on_written
        self._on_stats = on_stats
        self.owner = f"{uuid.uuid4()}"
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._limit = asyncio.Semaphore(max(settings.concurrency, 1))
        self._dirty = False
        self._idle_rounds = 0

    def start(self) -> None:
        # Two loops per consumer: one extracts while the other claims and writes.
        for index in range(self._settings.consumers * 2):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"batch-consumer-{index}"))
        if self._settings.consumers:
            self._tasks.append(asyncio.create_task(self._stats_loop(), name="batch-stats"))

    def wake(self) -> None:
        """A job was created or replayed: look for work now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                worked = await self.run_once()
            except DomainError as error:  # the database is down: back off, try again
                log.warning("batch consumer paused", extra={"reason": error.reason})
                worked = False
            except Exception as error:  # a consumer must outlive any one bad chunk
                log.error("batch consumer error", extra={"error_type": type(error).__name__})
                worked = False
            if not worked:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.poll_interval_s)

    async def run_once(self) -> bool:
        """Claim and process one chunk; False when there was nothing to claim."""
        lease = timedelta(seconds=self._settings.lease_s)
        items = await self._store.claim(self.owner, self._settings.claim_size, lease)
        if not items:
            # Idle: finish jobs whose last notes were written here, and now and then any job
            # (a replica that died between writing the last results and finishing the job).
            self._idle_rounds += 1
            if self._dirty or self._idle_rounds % IDLE_SWEEP_EVERY == 0:
                self._dirty = False
                await self._store.complete_finished_jobs()
            return False
        audit_ids = {tenant: str(uuid.uuid4()) for tenant in {item.tenant for item in items}}
        with _tracer.start_as_current_span("batch.chunk", attributes={"healthai.batch.notes": len(items)}):
            heartbeat = asyncio.create_task(self._heartbeat([item.id for item in items], lease))
            try:
                size = max(self._settings.notes_per_call, 1)
                groups = [items[start : start + size] for start in range(0, len(items), size)]
                processed = [
                    note
                    for done in await asyncio.gather(*(self._group(group, audit_ids) for group in groups))
                    for note in done
                ]
            finally:
                heartbeat.cancel()
            await self._audit_chunk(processed, audit_ids)
            report = await self._store.write(self.owner, [outcome for outcome, _note in processed])
        self._on_written(report)
        self._dirty = True
        return True

    async def _group(
        self, items: list[WorkItem], audit_ids: dict[str, str]
    ) -> list[tuple[ItemOutcome, ProcessedNote | None]]:
        async with self._limit:
            with _tracer.start_as_current_span("batch.notes", attributes={"healthai.batch.notes": len(items)}) as span:
                started_ns = time.time_ns()
                try:
                    notes: Sequence[ProcessedNote | BaseException] = await self._processor.extract_many(
                        [(item, audit_ids[item.tenant]) for item in items]
                    )
                except asyncio.CancelledError:
                    raise
                except BaseException as error:  # the whole call failed: every note in it did
                    notes = [error] * len(items)
                ended_ns = time.time_ns()
                outcomes: list[tuple[ItemOutcome, ProcessedNote | None]] = []
                for item, note in zip(items, notes, strict=True):
                    # One span per note as well, spanning the shared engine call, so a trace still
                    # answers "what happened to this job's note on this attempt".
                    note_span = _tracer.start_span(
                        "batch.note",
                        attributes={"healthai.batch.job": item.job, "healthai.batch.attempt": item.attempts},
                        start_time=started_ns,
                    )
                    if isinstance(note, BaseException):
                        failure = self._classify(note)
                        span.set_attribute("healthai.batch.error_reason", failure.reason)
                        note_span.set_attribute("healthai.batch.error_reason", failure.reason)
                        outcomes.append((ItemOutcome(item, failure=failure), None))
                    else:
                        outcomes.append((ItemOutcome(item, result=note.result, usage=note.usage), note))
                    note_span.end(end_time=ended_ns)
                return outcomes

    async def _audit_chunk(
        self, processed: list[tuple[ItemOutcome, ProcessedNote | None]], audit_ids: dict[str, str]
    ) -> None:
        for tenant, audit_id in audit_ids.items():
            mine = [(o, n) for o, n in processed if o.item.tenant == tenant]
            notes = [
                {
                    "job": o.item.job,
                    "note_id": o.item.note_id,
                    "attempt": o.item.attempts,
                    "outcome": "ok" if o.result is not None else (o.failure.reason if o.failure else ""),
                    "note_hmac": n.note_hmac if n is not None else "",
                }
                for o, n in mine
            ]
            failed = sum(1 for o, _n in mine if o.result is None)
            await self._audit.append(
                AuditEvent(
                    audit_id=audit_id,
                    tenant=tenant,
                    principal="batch",
                    method=PROCESS_METHOD,
                    status_code="OK",  # the call that asked for the work succeeded; per-note outcomes in details
                    details={"notes": notes, "ok": len(mine) - failed, "failed": failed, "consumer": self.owner},
                )
            )

    async def _heartbeat(self, ids: list[int], lease: timedelta) -> None:
        """Extend the chunk's lease while it is worked on (a slow LLM must not lose it)."""
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            with contextlib.suppress(DomainError):
                await self._store.extend(self.owner, ids, lease)

    async def _stats_loop(self) -> None:
        while not self._stopping:
            started = time.monotonic()
            with contextlib.suppress(DomainError):
                stats = await self._store.stats()
                self._on_stats(stats.depth, stats.oldest_queued_age_s, stats.dead_letters)
            await asyncio.sleep(max(self._settings.stats_interval_s - (time.monotonic() - started), 0.1))
