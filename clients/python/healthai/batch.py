"""Batch jobs from Python: submit many notes as one long-running operation, follow it, read
results and dead letters. `HealthAIClient.batch` returns one of these on the same channel."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2

from healthai.errors import from_rpc_error
from healthai.v1 import batch_service_pb2, batch_service_pb2_grpc, extraction_service_pb2

T = TypeVar("T")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")


@dataclass(frozen=True)
class Progress:
    """A job's progress, from its operation's metadata."""

    name: str
    state: str
    total: int
    succeeded: int
    dead_lettered: int
    failed: int
    cancelled: int
    notes_per_second: float
    seconds_left: float | None
    done: bool

    @property
    def finished(self) -> int:
        return self.succeeded + self.dead_lettered + self.cancelled

    def line(self) -> str:
        left = "-" if self.seconds_left is None else f"{self.seconds_left:,.0f}s"
        return (
            f"{self.finished:,}/{self.total:,} notes  {self.notes_per_second:,.1f} notes/s  time left {left}  "
            f"(ok {self.succeeded:,}, retrying {self.failed:,}, dead letters {self.dead_lettered:,})  {self.state}"
        )


def progress_of(operation: operations_pb2.Operation) -> Progress:
    meta = batch_service_pb2.BatchJobMetadata()
    operation.metadata.Unpack(meta)
    left = (
        meta.estimated_time_remaining.ToTimedelta().total_seconds()
        if meta.HasField("estimated_time_remaining")
        else None
    )
    return Progress(
        name=operation.name,
        state=batch_service_pb2.BatchJobState.Name(meta.state).removeprefix("BATCH_JOB_STATE_"),
        total=meta.total_notes,
        succeeded=meta.succeeded,
        dead_lettered=meta.dead_lettered,
        failed=meta.failed,
        cancelled=meta.cancelled,
        notes_per_second=meta.notes_per_second,
        seconds_left=left,
        done=operation.done,
    )


def note_id_for(path: Path) -> str:
    """A note id from a file name: the stem, with characters ids may not hold replaced."""
    return _UNSAFE.sub("_", path.stem)[:128] or "note"


def read_notes(source: Path) -> list[tuple[str, str]]:
    """(note_id, text) pairs from a directory of .txt files, or a JSONL file of
    {"note_id": ..., "text": ...} lines."""
    if source.is_dir():
        return [(note_id_for(p), p.read_text(encoding="utf-8")) for p in sorted(source.glob("*.txt"))]
    notes = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                record = json.loads(line)
                notes.append((str(record["note_id"]), str(record["text"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{source}:{number}: expected a JSON object with note_id and text") from exc
    return notes


def request_id_for(notes: Iterable[tuple[str, str]], include_fhir: bool) -> str:
    """The same input gives the same request id, so a resubmission returns the first job."""
    digest = hashlib.sha256(b"fhir" if include_fhir else b"plain")
    for note_id, text in notes:
        digest.update(note_id.encode() + b"\x00" + hashlib.sha256(text.encode()).digest())
    return "cli-" + digest.hexdigest()[:40]


class BatchClient:
    def __init__(
        self, channel: grpc.Channel, metadata: Callable[[], tuple[tuple[str, str | bytes], ...]], timeout_s: float
    ) -> None:
        self._batch = batch_service_pb2_grpc.BatchServiceStub(channel)
        self._operations = operations_pb2_grpc.OperationsStub(channel)
        self._metadata = metadata
        self._timeout = timeout_s

    def _call(self, method: Callable[..., T], request: object, timeout_s: float | None = None) -> T:
        try:
            return method(request, timeout=timeout_s or self._timeout, metadata=self._metadata())
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def submit(
        self,
        notes: Iterable[tuple[str, str]],
        *,
        request_id: str,
        display_name: str = "",
        include_fhir: bool = False,
        timeout_s: float = 600.0,
    ) -> operations_pb2.Operation:
        """Create a job from (note_id, text) pairs; returns its operation once the notes are stored."""

        def messages() -> Iterator[batch_service_pb2.CreateBatchJobRequest]:
            yield batch_service_pb2.CreateBatchJobRequest(
                settings=batch_service_pb2.BatchJobSettings(
                    request_id=request_id,
                    display_name=display_name,
                    default_options=extraction_service_pb2.ExtractionOptions(include_fhir=include_fhir),
                )
            )
            for note_id, text in notes:
                yield batch_service_pb2.CreateBatchJobRequest(
                    note=batch_service_pb2.BatchNote(note_id=note_id, text=text)
                )

        return self._call(self._batch.CreateBatchJob, messages(), timeout_s)

    def get(self, name: str) -> operations_pb2.Operation:
        return self._call(self._operations.GetOperation, operations_pb2.GetOperationRequest(name=name))

    def wait(self, name: str, timeout_s: float) -> operations_pb2.Operation:
        request = operations_pb2.WaitOperationRequest(name=name, timeout=duration_pb2.Duration(seconds=int(timeout_s)))
        return self._call(self._operations.WaitOperation, request, timeout_s + 5)

    def list(self, *, done: bool | None = None, page_size: int = 100) -> list[operations_pb2.Operation]:
        text = "" if done is None else f"done = {str(done).lower()}"
        request = operations_pb2.ListOperationsRequest(name="operations", filter=text, page_size=page_size)
        return list(self._call(self._operations.ListOperations, request).operations)

    def cancel(self, name: str, request_id: str = "") -> operations_pb2.Operation:
        request = batch_service_pb2.CancelBatchJobRequest(name=name, request_id=request_id)
        return self._call(self._batch.CancelBatchJob, request).operation

    def delete(self, name: str) -> None:
        self._call(self._operations.DeleteOperation, operations_pb2.DeleteOperationRequest(name=name))

    def results(self, name: str, page_size: int = 500) -> Iterator[batch_service_pb2.BatchNoteResult]:
        token = ""
        while True:
            request = batch_service_pb2.ListBatchResultsRequest(name=name, page_size=page_size, page_token=token)
            page = self._call(self._batch.ListBatchResults, request)
            yield from page.results
            token = page.next_page_token
            if not token:
                return

    def dead_letters(self, name: str, page_size: int = 500) -> Iterator[batch_service_pb2.DeadLetter]:
        token = ""
        while True:
            request = batch_service_pb2.ListDeadLettersRequest(name=name, page_size=page_size, page_token=token)
            page = self._call(self._batch.ListDeadLetters, request)
            yield from page.dead_letters
            token = page.next_page_token
            if not token:
                return

    def replay(self, name: str, note_ids: Iterable[str] = (), request_id: str = "") -> int:
        request = batch_service_pb2.ReplayDeadLettersRequest(name=name, note_ids=list(note_ids), request_id=request_id)
        return int(self._call(self._batch.ReplayDeadLetters, request).replayed)
