"""CPU-bound work (the local engine, de-identification) off the event loop.

A process pool of one worker per core (spawned, not forked: forking a process that
already runs gRPC threads is unsafe) lets one gRPC process use every core while it
keeps a single metrics registry, audit writer and connection pool. `processes=-1`
runs the work inline (tests, and the baseline in the RPC benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import trace

from healthai_server.backends.base import Deadline
from healthai_server.domain.analysis import ClinicalAlert
from healthai_server.domain.clinical import EncodedClinicalData, ExtractionOptions, ProblemListEntry
from healthai_server.domain.errors import BackendUnavailable, DeadlineExceeded, Overloaded
from healthai_server.domain.phi import DeidentificationMode, DeidentificationPolicy, DeidentifiedNote

if TYPE_CHECKING:
    from healthai_server.engine import ClinicalEngine
    from healthai_server.phi import Deidentifier
    from healthai_server.validation import OutputValidator

T = TypeVar("T")
_tracer = trace.get_tracer("healthai.engine")


@dataclass
class _WorkerState:
    engine: ClinicalEngine
    deidentifier: Deidentifier
    validator: OutputValidator


_state: _WorkerState | None = None
WORKER_NICENESS = 10


PARENT_POLL_S = 0.5


def _exit_with_parent(parent_pid: int, poll_s: float = PARENT_POLL_S) -> None:
    """End this worker when the serving process is gone (a `kill -9` leaves no one to stop it).

    A worker blocked on the call queue would otherwise live on as an orphan holding memory
    and note text; it is re-parented, so a changed parent pid means the server died."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="healthai-parent-watch", daemon=True).start()


def _initialise(
    deid_key: bytes, include_organizations: bool, recognizers_config: Path | None = None, parent_pid: int = 0
) -> None:
    global _state  # noqa: PLW0603 - one engine per worker process, built once
    if parent_pid:
        _exit_with_parent(parent_pid)
    # Workers yield the CPU to the serving process: when the machine is saturated, the
    # process that accepts, sheds and answers calls must keep running, or shedding itself
    # queues. Idle cores are still used in full; only contention is decided.
    os.nice(WORKER_NICENESS)
    from healthai_server.engine import ClinicalEngine
    from healthai_server.phi import Deidentifier
    from healthai_server.validation import OutputValidator

    validator = OutputValidator()
    # The engine's codes are checked against its own lexicon (loaded here); the ICD-10-CM
    # library (seconds to import) is loaded only if a code outside it ever turns up.
    validator.rules.warm_lexicon()
    _state = _WorkerState(
        validator=validator,
        engine=ClinicalEngine(),
        deidentifier=Deidentifier(
            secret_key=deid_key, include_organizations=include_organizations, recognizers_config=recognizers_config
        ),
    )


def _worker() -> _WorkerState:
    assert _state is not None, "worker not initialised"
    return _state


def _extract(text: str, options: ExtractionOptions) -> EncodedClinicalData:
    from healthai_server.services.convert import encode_clinical_data

    state = _worker()
    data = state.engine.extract(text, options)
    # The pipeline's validation stage, run here where the object graph lives (pipeline/validation.py).
    data = state.validator.check(text, data).data
    # The object graph travels back only when a later stage needs it (FHIR, review routing).
    return encode_clinical_data(data, keep_objects=options.include_fhir or options.keep_objects, validated=True)


def _extract_many(notes: list[tuple[str, ExtractionOptions]]) -> list[EncodedClinicalData | Exception]:
    """Several notes in one call (batch jobs): one pickled round trip per chunk instead of one per
    note. A note that fails is returned as its exception, so it fails alone; the others succeed."""
    results: list[EncodedClinicalData | Exception] = []
    for text, options in notes:
        try:
            results.append(_extract(text, options))
        except Exception as error:  # reported per note, as a one-note call would raise it
            results.append(error)
    return results


def _analyze(text: str) -> tuple[tuple[ProblemListEntry, ...], list[ClinicalAlert]]:
    from healthai_server.engine.alerts import compute_alerts

    data = _worker().engine.extract(text, ExtractionOptions())
    # Only what AnalyzeNote returns travels back: the rest of the graph would be pickled for nothing.
    return data.problem_list, compute_alerts(data)


def _deidentify(
    text: str, mode: DeidentificationMode, tenant: str, patient_ref: str, policy: DeidentificationPolicy
) -> DeidentifiedNote:
    note: DeidentifiedNote = _worker().deidentifier.deidentify(
        text, mode, tenant=tenant, patient_ref=patient_ref, policy=policy
    )
    return note


def _timed(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    """Run fn in the worker and report its compute time, which sizes the admission limit."""
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def _ready() -> int:
    _worker()
    return os.getpid()


class CpuWorkers:
    """Admission is by expected wait, not only by count: once every worker is busy, more
    queued work adds no throughput, only latency. A job is shed at once (Overloaded, with
    the backlog as the retry delay) when the work ahead of it would take longer than
    `max_queue_wait_s` or than the caller's remaining deadline; `max_pending` is a hard cap
    on memory. Job cost is a moving average of the workers' own compute times."""

    def __init__(
        self,
        processes: int,
        deid_key: bytes,
        *,
        include_organizations: bool = False,
        recognizers_config: Path | None = None,
        max_pending: int = 0,
        on_shed: Callable[[str], None] = lambda _reason: None,
        max_queue_wait_s: float = 0.0,
    ) -> None:
        self.inline = processes < 0
        self.max_pending = max_pending  # 0: no count cap
        self.max_queue_wait_s = max_queue_wait_s  # 0: no wait cap
        self.pending = 0  # notes submitted and not yet answered
        self.calls = 0  # worker calls in flight (a batch call carries several notes)
        self._job_s = 0.0  # moving average of compute time per job
        self._on_shed = on_shed
        self.processes = processes if processes > 0 else (os.cpu_count() or 1)
        self._executor: Executor | None = None
        self._initargs = (deid_key, include_organizations, recognizers_config, os.getpid())
        self.restarts = 0  # pools rebuilt after a worker died
        self._warming: asyncio.Task[None] | None = None  # warm-up of a rebuilt pool (a reference keeps it alive)
        if self.inline:
            _initialise(deid_key, include_organizations, recognizers_config)
        else:
            self._executor = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_initialise,
            initargs=self._initargs,
        )

    def _replace_broken_pool(self, broken: Executor | None) -> None:
        """A worker that died (OOM killer, `kill -9`) breaks the whole pool for good: build a
        new one. Calls that saw the same broken pool rebuild it once, not once each."""
        if broken is None or self._executor is not broken:
            return
        self._executor = self._new_pool()
        # Start every worker now, as warm_up does at start-up: the pool spawns processes only
        # when a job finds none idle, so a rebuilt pool served sequential callers with one
        # worker (and loaded the lexicons in the middle of a later call).
        for _ in range(self.processes):
            self._executor.submit(_ready)
        self.restarts += 1
        broken.shutdown(wait=False, cancel_futures=True)
        # A spawn-context pool starts processes lazily, one per submit that finds no idle worker:
        # sequential calls would run on one process and leave the lexicon loading of the others
        # to a later caller. Start them all now, as at start-up.
        self._warming = asyncio.get_running_loop().create_task(self._warm_quietly(self._executor))

    @property
    def healthy(self) -> bool:
        """False while the pool is broken and not yet rebuilt (health reports NOT_SERVING)."""
        return self._executor is None or not getattr(self._executor, "_broken", False)

    async def probe(self) -> bool:
        """Health probe that also heals: a pool that broke while idle is rebuilt here, since
        a pod marked NOT_SERVING gets no calls that would rebuild it. Never queues behind work."""
        if self.healthy:
            return True
        self._replace_broken_pool(self._executor)
        return False

    async def _warm_quietly(self, pool: Executor) -> None:
        """Start a rebuilt pool's processes, outside admission control (this is not a caller's
        work and must not be shed or counted); if the pool breaks again, the next call or
        probe rebuilds it anyway."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self.processes * 2)))

    async def warm_up(self) -> None:
        """Start every worker and load its lexicons before the server takes traffic."""
        if self._executor is not None:
            await asyncio.gather(*(self._submit(_ready, deadline=None) for _ in range(self.processes * 2)))

    async def _submit(
        self, fn: Any, *args: Any, deadline: Deadline | None, notes: int = 1, background: bool = False
    ) -> Any:
        """`notes`: how many notes the call carries; admission and the cost average count notes,
        so a batch group weighs what its notes weigh and unary admission is not skewed by it.
        `background`: work whose caller bounds its own concurrency and waits for no one (the batch
        queue); only the hard cap and the deadline apply, not the queue-wait limit that protects
        interactive callers' latency (the batch's own queued group would otherwise shed it)."""
        if deadline is not None and deadline.expired():
            raise DeadlineExceeded("the deadline expired before the work could start")
        if self._executor is None:
            return fn(*args)
        self._admit(deadline, notes, background=background)
        self.pending += notes
        self.calls += 1
        try:
            with _tracer.start_as_current_span(
                f"engine.{fn.__name__.lstrip('_')}", attributes={"healthai.engine.pending": self.pending}
            ):
                return await self._run(fn, args, deadline, notes)
        finally:
            self.pending -= notes
            self.calls -= 1

    def expected_wait_s(self) -> float:
        """How long a job submitted now would wait for a worker, by the current backlog. A worker
        with no call is free now, even when other workers hold batch calls of many notes."""
        if self.calls < self.processes:
            return 0.0
        queued_ahead = max(0, self.pending - self.processes + 1)
        return queued_ahead * self._job_s / self.processes

    def _admit(self, deadline: Deadline | None, notes: int = 1, *, background: bool = False) -> None:
        if deadline is not None and self._job_s * notes > deadline.remaining():
            # Not overload: the work alone outlasts the deadline, and a retry would too.
            raise DeadlineExceeded("the deadline is shorter than the work; allow more time")
        wait = self.expected_wait_s()
        if self.max_pending and self.pending >= self.max_pending:
            reason = "the clinical engine's queue is full"
        elif self.max_queue_wait_s and wait > self.max_queue_wait_s and not background:
            reason = "the clinical engine is at capacity"
        elif deadline is not None and wait > 0 and wait + self._job_s * notes > deadline.remaining():
            reason = "the clinical engine's backlog is longer than the deadline"
        else:
            return
        self._on_shed("server")
        # Come back when the backlog ahead has drained, at least 100 ms: a shorter hint makes
        # well-behaved clients retry into the same backlog.
        raise Overloaded(f"{reason}; retry after the suggested delay", retry_after_s=max(wait, 0.1))

    async def _run(self, fn: Any, args: tuple[Any, ...], deadline: Deadline | None, notes: int = 1) -> Any:
        # The work is pure (text in, result out), so a job lost with a dead worker is run once
        # more on the rebuilt pool; a second loss is reported as retryable.
        for attempt in (1, 2):
            executor = self._executor
            try:
                return await self._run_once(executor, fn, args, deadline, notes)
            except BrokenProcessPool as exc:
                self._replace_broken_pool(executor)
                if attempt == 2 or (deadline is not None and deadline.expired()):
                    raise BackendUnavailable("the local engine workers are restarting", retry_after_s=1.0) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run_once(
        self, executor: Executor | None, fn: Any, args: tuple[Any, ...], deadline: Deadline | None, notes: int = 1
    ) -> Any:
        loop = asyncio.get_running_loop()
        try:
            # Submitting to a broken pool raises at once, so the submit is inside the try too.
            future = loop.run_in_executor(executor, functools.partial(_timed, fn, *args))
            if deadline is None:
                result, job_s = await future
            else:
                result, job_s = await asyncio.wait_for(future, timeout=max(deadline.remaining(), 0.001))
        except TimeoutError as exc:
            raise DeadlineExceeded("the deadline is shorter than the work; allow more time") from exc
        job_s /= notes
        self._job_s = job_s if not self._job_s else 0.8 * self._job_s + 0.2 * job_s
        return result

    async def extract(self, text: str, options: ExtractionOptions, deadline: Deadline | None) -> EncodedClinicalData:
        result: EncodedClinicalData = await self._submit(_extract, text, options, deadline=deadline)
        return result

    async def extract_many(
        self, notes: list[tuple[str, ExtractionOptions]], deadline: Deadline | None
    ) -> list[EncodedClinicalData | Exception]:
        """Extract several notes in one worker call; a failed note is its exception in the list
        (a dead worker or an expired deadline still fails the whole call, as for one note)."""
        if not notes:
            return []
        result: list[EncodedClinicalData | Exception] = await self._submit(
            _extract_many, notes, deadline=deadline, notes=len(notes), background=True
        )
        return result

    async def analyze(
        self, text: str, deadline: Deadline | None
    ) -> tuple[tuple[ProblemListEntry, ...], list[ClinicalAlert]]:
        """The note's problem list and clinical alerts."""
        result: tuple[tuple[ProblemListEntry, ...], list[ClinicalAlert]] = await self._submit(
            _analyze, text, deadline=deadline
        )
        return result

    async def deidentify(
        self,
        text: str,
        mode: DeidentificationMode,
        *,
        tenant: str,
        patient_ref: str,
        deadline: Deadline | None,
        policy: DeidentificationPolicy = DeidentificationPolicy.PRECISION,
    ) -> DeidentifiedNote:
        result: DeidentifiedNote = await self._submit(
            _deidentify, text, mode, tenant, patient_ref, policy, deadline=deadline
        )
        return result

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
