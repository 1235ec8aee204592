"""The batch consumer and job operations on a real SQLite store and audit trail, with a
processor that fails on demand: retries, dead letters, replay, idempotency, limits, the
operation's metadata, and metrics hooks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.protobuf import any_pb2
from healthai.v1 import batch_service_pb2, extraction_service_pb2
from healthai_server.batch import runner as runner_module
from healthai_server.batch.jobs import BatchJobs, JobLimits, job_name, operation_name, parse_filter
from healthai_server.batch.runner import BatchRunner, RunnerSettings
from healthai_server.domain.batch import Job, JobCounts, JobState, NoteInput, WorkItem
from healthai_server.domain.errors import (
    BackendUnavailable,
    InvalidRequest,
    NotFound,
    OperationRunning,
    Overloaded,
)
from healthai_server.domain.provenance import TokenUsage
from healthai_server.services.batch import job_metadata, job_operation
from healthai_server.services.batch_extract import encode_note, failure_of
from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditRepository
from healthai_server.storage.audit_keys import ChainKey, ChainKeyring
from healthai_server.storage.batch import BatchStore, RetryPolicy, WriteReport
from healthai_server.storage.crypto import FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.usage import UsageRecord
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Processed:
    def __init__(self, item: WorkItem, audit_id: str) -> None:
        self.result = b"result:" + item.note_id.encode()
        self.usage: UsageRecord | None = UsageRecord(
            item.tenant, "batch", audit_id + item.note_id, "anthropic", "m", TokenUsage(1, 1, 0, 0), 7
        )
        self.note_hmac = "h"
        self.details: dict[str, object] = {}


class FlakyProcessor:
    """Fails a note `failures[note_id]` times with a transient error; `broken` notes always fail."""

    def __init__(self, failures: dict[str, int], broken: set[str]) -> None:
        self.failures = dict(failures)
        self.broken = broken
        self.calls = 0
        self.boom = True

    async def extract(self, item: WorkItem, audit_id: str) -> Processed:
        self.calls += 1
        if item.note_id in self.broken:
            raise InvalidRequest([], "the stored note is too long for this server")
        if self.failures.get(item.note_id, 0) > 0:
            self.failures[item.note_id] -= 1
            raise BackendUnavailable("engine worker died")
        if item.note_id == "boom" and self.boom:
            raise RuntimeError("unexpected; this message could quote a note")
        return Processed(item, audit_id)

    async def extract_many(self, items: Sequence[tuple[WorkItem, str]]) -> list[Processed | Exception]:
        results: list[Processed | Exception] = []
        for item, audit_id in items:
            try:
                results.append(await self.extract(item, audit_id))
            except Exception as error:  # one note's failure is its own entry
                results.append(error)
        return results


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/h.db")
    migrate.upgrade(database.engine)
    yield database
    database.close()


def _parts(db: Database, max_attempts: int = 3) -> tuple[BatchStore, AuditRepository]:
    store = BatchStore(db, FieldEncryptor({"k": os.urandom(32)}, "k"), RetryPolicy(max_attempts, 0.0, 0.0))
    audit = AuditRepository(db, ChainKeyring(ChainKey.from_secret(os.urandom(32))))
    return store, audit


async def _create(jobs: BatchJobs, request_id: str, note_ids: list[str], tenant: str = "t1") -> Job:
    builder = jobs.builder(tenant, "svc", request_id, b"settings")
    await builder.start("test")
    for note_id in note_ids:
        await builder.add(NoteInput(note_id, note_id.encode()), note_id.encode())
    return await builder.finish()


async def test_runner_retries_dead_letters_and_replays(db: Database) -> None:
    store, audit = _parts(db)
    processor = FlakyProcessor({"a": 1}, {"bad"})
    reports: list[WriteReport] = []
    stats: list[tuple[int, float, int]] = []
    runner = BatchRunner(
        store,
        processor,
        failure_of,
        audit,
        RunnerSettings(consumers=1, claim_size=10, concurrency=4, poll_interval_s=0.01, stats_interval_s=0.01),
        on_written=reports.append,
        on_stats=lambda depth, age, dead: stats.append((depth, age, dead)),
    )
    jobs = BatchJobs(store, JobLimits(), runner.wake)
    job = await _create(jobs, "req-1", ["a", "b", "bad", "boom"])
    assert job.state is JobState.QUEUED and job.total_notes == 4
    runner.start()
    try:
        done = await jobs.wait(operation_name(job.name), "t1", 10)
        assert done.state is JobState.SUCCEEDED
        assert (done.counts.succeeded, done.counts.dead_lettered) == (2, 2)
        letters = await jobs.dead_letters(operation_name(job.name), "t1", 0, "")
        assert [(d.note_id, d.attempts, d.error.reason, d.error.message) for d in letters.items] == [
            ("bad", 1, "INVALID_ARGUMENT", "the stored note is too long for this server"),
            ("boom", 3, "INTERNAL", "unexpected RuntimeError"),  # the exception's own text is never kept
        ]
        results = await jobs.results(operation_name(job.name), "t1", 10, "")
        assert {r.note_id: r.attempts for r in results.items} == {"a": 2, "b": 1}
        assert sum(r.retried for r in reports) == 3 and sum(r.dead_lettered for r in reports) == 2
        # Replay after the "fix": the same request id answers the same and replays nothing twice.
        processor.broken.clear()
        processor.boom = False
        replayed, _job = await jobs.replay(operation_name(job.name), "t1", [], "replay-1")
        again, _job = await jobs.replay(operation_name(job.name), "t1", [], "replay-1")
        assert (replayed, again) == (2, 2)
        with pytest.raises(InvalidRequest):
            await jobs.replay(operation_name(job.name), "t1", ["other"], "replay-1")
        finished = await jobs.wait(operation_name(job.name), "t1", 10)
        assert finished.counts.succeeded == 4 and finished.done
        await asyncio.sleep(0.05)
        assert stats and stats[-1][0] == 0
    finally:
        await runner.stop()


async def test_every_note_has_its_own_span_inside_the_shared_engine_call(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(runner_module, "_tracer", provider.get_tracer("test"))
    store, audit = _parts(db, max_attempts=1)
    runner = BatchRunner(
        store,
        FlakyProcessor({}, {"bad"}),
        failure_of,
        audit,
        RunnerSettings(consumers=1, claim_size=10, concurrency=1, notes_per_call=4, poll_interval_s=0.01),
    )
    jobs = BatchJobs(store, JobLimits(), runner.wake)
    job = await _create(jobs, "req-spans", ["a", "b", "bad"])
    runner.start()
    try:
        assert (await jobs.wait(operation_name(job.name), "t1", 10)).done
    finally:
        await runner.stop()
    finished = spans.get_finished_spans()
    calls = [s for s in finished if s.name == "batch.notes"]
    notes = [s for s in finished if s.name == "batch.note"]
    assert len(calls) == 1 and len(notes) == 3
    assert all(n.parent is not None and n.parent.span_id == calls[0].context.span_id for n in notes)
    assert all(n.attributes and n.attributes["healthai.batch.job"] == job.name for n in notes)
    reasons = [dict(n.attributes or {}).get("healthai.batch.error_reason") for n in notes]
    assert [r for r in reasons if r] == ["INVALID_ARGUMENT"]


async def test_create_is_idempotent_and_refuses_bad_jobs(db: Database) -> None:
    store, _audit = _parts(db)
    jobs = BatchJobs(store, JobLimits(max_notes=3))
    first = await _create(jobs, "req-1", ["a", "b"])
    assert (await _create(jobs, "req-1", ["a", "b"])).name == first.name
    with pytest.raises(InvalidRequest) as caught:
        await _create(jobs, "req-1", ["a", "c"])
    assert [v.field for v in caught.value.violations] == ["settings.request_id"]
    for note_ids, field in [([], "notes"), (["a", "a"], "notes[1].note_id"), (["a", "b", "c", "d"], "notes")]:
        with pytest.raises(InvalidRequest) as caught:
            await _create(jobs, f"bad-{len(note_ids)}", note_ids)
        assert [v.field for v in caught.value.violations] == [field]
    listed = await jobs.list("t1", 0, "", "")
    assert [j.name for j in listed.items] == [first.name]  # refused jobs left nothing behind
    assert (await store.stats()).depth == 2
    with pytest.raises(NotFound):
        await jobs.get(operation_name(first.name), "t2")
    with pytest.raises(NotFound):
        job_name("operations/whatever")
    with pytest.raises(OperationRunning):
        await jobs.delete(operation_name(first.name), "t1")
    cancelled = await jobs.cancel(operation_name(first.name), "t1", "cancel-1")
    assert cancelled.state is JobState.CANCELLED
    assert (await jobs.cancel(operation_name(first.name), "t1", "cancel-1")).state is JobState.CANCELLED
    second = await _create(jobs, "req-2", ["z"])
    with pytest.raises(InvalidRequest):  # the same cancel request id for another job
        await jobs.cancel(operation_name(second.name), "t1", "cancel-1")
    await jobs.delete(operation_name(first.name), "t1")
    with pytest.raises(NotFound):
        await jobs.get(operation_name(first.name), "t1")


async def test_the_default_limit_refuses_the_100001st_note(db: Database) -> None:
    store, _audit = _parts(db)
    jobs = BatchJobs(store, JobLimits())
    builder = jobs.builder("t1", "svc", "big", b"s")
    await builder.start("big")
    for index in range(100_000):
        await builder.add(NoteInput(f"n{index}", b"x"), b"d")
    with pytest.raises(InvalidRequest) as caught:
        await builder.add(NoteInput("one-more", b"x"), b"d")
    assert [v.field for v in caught.value.violations] == ["notes"]
    await builder.abort()
    assert (await store.stats()).depth == 0


def test_filters() -> None:
    assert parse_filter("") is None
    assert parse_filter("done = true") is True
    assert parse_filter(" done=false ") is False
    with pytest.raises(InvalidRequest):
        parse_filter("state = RUNNING")


def test_operation_mapping_estimates_time_left() -> None:
    started = datetime(2026, 12, 1, 12, 0, 0)
    job = Job(
        "batch-00000000-0000-0000-0000-000000000001",
        "t1",
        "nightly",
        JobState.RUNNING,
        100,
        started,
        JobCounts(queued=40, running=10, succeeded=45, dead_lettered=5),
        started_at=started,
    )
    meta = job_metadata(job, now=started + timedelta(seconds=10))
    assert meta.notes_per_second == pytest.approx(5.0)
    assert meta.estimated_time_remaining.seconds == 10
    operation = job_operation(job)
    assert not operation.done and operation.name.startswith("operations/batch-")
    finished = Job(job.name, "t1", "", JobState.SUCCEEDED, 100, started, JobCounts(succeeded=100), started, started)
    summary = batch_service_pb2.BatchJobSummary()
    assert job_operation(finished).response.Unpack(summary) and summary.succeeded == 100
    cancelled = Job(job.name, "t1", "", JobState.CANCELLED, 100, started, JobCounts(cancelled=100))
    assert job_operation(cancelled).error.code == 1
    assert isinstance(job_operation(cancelled).metadata, any_pb2.Any)


def test_failures_keep_no_text_and_notes_take_the_job_defaults() -> None:
    unexpected = failure_of(RuntimeError("Patient John Smith has chest pain"))
    assert unexpected.message == "unexpected RuntimeError" and unexpected.retryable
    assert not failure_of(InvalidRequest([])).retryable
    shed = failure_of(Overloaded("engine busy"))
    assert shed.retryable and not shed.counts_as_attempt  # back-pressure is not the note's failure
    assert failure_of(BackendUnavailable("worker died")).counts_as_attempt
    note = batch_service_pb2.BatchNote(note_id="n", text="t")
    stored = batch_service_pb2.BatchNote.FromString(
        encode_note(note, extraction_service_pb2.ExtractionOptions(include_fhir=True))
    )
    assert stored.options.include_fhir
    _ = datetime.now(UTC)
