"""Admission to the engine workers: shed by expected wait, deadline and hard cap; never idle the workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from healthai_server.backends.base import Deadline
from healthai_server.domain.clinical import ExtractionOptions
from healthai_server.domain.errors import DeadlineExceeded, Overloaded
from healthai_server.workers import CpuWorkers, _ready


@pytest.fixture
def workers() -> Iterator[CpuWorkers]:
    # Two worker processes (started lazily, so never here) and a known job cost of 10 ms.
    pool = CpuWorkers(2, b"k" * 32, max_pending=100, max_queue_wait_s=0.05)
    pool._job_s = 0.010
    yield pool
    pool.close()


def test_busy_workers_with_a_short_queue_still_admit(workers: CpuWorkers) -> None:
    workers.pending = workers.calls = 10  # 2 running, 8 waiting: 9 ahead of a new job over 2 workers = 45 ms
    assert workers.expected_wait_s() == pytest.approx(0.045)
    workers._admit(deadline=None)


def test_a_queue_longer_than_the_wait_cap_sheds_with_the_backlog_as_retry_delay(workers: CpuWorkers) -> None:
    shed: list[str] = []
    workers._on_shed = shed.append
    workers.pending = workers.calls = 12  # 11 ahead -> 55 ms > 50 ms
    with pytest.raises(Overloaded) as caught:
        workers._admit(deadline=None)
    assert caught.value.retry_after_s == pytest.approx(0.1)  # never less than 100 ms
    assert shed == ["server"]
    workers.pending = workers.calls = 30  # 29 ahead -> 145 ms: come back when it has drained
    with pytest.raises(Overloaded) as caught:
        workers._admit(deadline=None)
    assert caught.value.retry_after_s == pytest.approx(0.145)


def test_work_that_cannot_finish_before_the_deadline_is_shed_at_once(workers: CpuWorkers) -> None:
    workers.pending = workers.calls = 6  # 25 ms ahead + 10 ms of its own
    workers._admit(Deadline.after(1.0))
    with pytest.raises(Overloaded, match="longer than the deadline"):
        workers._admit(Deadline.after(0.02))
    workers.pending = workers.calls = 0  # no backlog, but the job alone takes longer than the caller allows
    with pytest.raises(DeadlineExceeded):
        workers._admit(Deadline.after(0.005))


def test_the_hard_cap_holds_even_when_jobs_are_cheap(workers: CpuWorkers) -> None:
    workers._job_s = 0.0001
    workers.pending = workers.calls = 100
    with pytest.raises(Overloaded, match="queue is full"):
        workers._admit(deadline=None)


async def test_job_cost_is_learned_from_the_workers_own_timings() -> None:
    pool = CpuWorkers(1, b"k" * 32, max_queue_wait_s=0.05)
    try:
        await pool.extract("BP 120/80. Metformin 500 mg PO BID.", ExtractionOptions(), deadline=None)
        assert 0 < pool._job_s < 5.0
        assert pool.pending == 0
    finally:
        pool.close()


async def _worker_pids(pool: CpuWorkers) -> set[int]:
    return set(await asyncio.gather(*(pool._submit(_ready, deadline=None) for _ in range(8))))


async def test_a_killed_worker_is_replaced_and_the_next_call_succeeds() -> None:
    """Issue 12.1: one `kill -9` used to break every later call for good."""
    pool = CpuWorkers(1, b"k" * 32)
    try:
        await pool.warm_up()
        (victim,) = await _worker_pids(pool)
        os.kill(victim, signal.SIGKILL)
        # The call in flight when the worker died is not lost: it runs again on the new pool.
        encoded = await pool.extract("BP 120/80, on lisinopril 10 mg daily.", ExtractionOptions(), Deadline.after(30))
        assert encoded.wire
        assert pool.restarts == 1
        assert pool.healthy
        assert victim not in await _worker_pids(pool)
    finally:
        pool.close()


async def test_a_broken_pool_reports_unhealthy_until_rebuilt() -> None:
    pool = CpuWorkers(1, b"k" * 32)
    try:
        await pool.warm_up()
        (victim,) = await _worker_pids(pool)
        os.kill(victim, signal.SIGKILL)
        for _ in range(500):  # the pool notices a dead worker from its management thread
            if not pool.healthy:
                break
            await asyncio.sleep(0.02)
        assert not pool.healthy
        await pool.analyze("Hypertension.", Deadline.after(10))
        assert pool.healthy
    finally:
        pool.close()


_ORPHAN_SCRIPT = """
import asyncio, sys, time
from healthai_server.workers import CpuWorkers, _ready

async def main() -> None:
    pool = CpuWorkers(1, b"k" * 32)
    await pool.warm_up()
    print(await pool._submit(_ready, deadline=None), flush=True)
    time.sleep(60)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; it holds no memory and no note text.
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"
    return True


def test_workers_do_not_outlive_a_killed_server() -> None:
    """Issue 12.1: after `kill -9` of the server its workers lived on as orphans."""
    server = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
        assert _alive(worker)
        server.kill()
        server.wait(5)
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker)
    finally:
        server.kill()


async def test_a_group_of_notes_is_one_call_and_a_bad_note_fails_alone() -> None:
    """Batch chunks: one worker round trip for several notes; admission and the cost average
    count notes, and a note the engine cannot take is its own error, not the group's."""
    pool = CpuWorkers(1, b"k" * 32, max_queue_wait_s=0.05)
    try:
        notes = [
            ("BP 120/80. Metformin 500 mg PO BID.", ExtractionOptions()),
            (None, ExtractionOptions()),  # not text: the engine raises for this note only
            ("Assessment: hypertension.", ExtractionOptions()),
        ]
        results = await pool.extract_many(notes, Deadline.after(30))  # type: ignore[arg-type]
        assert [isinstance(r, Exception) for r in results] == [False, True, False]
        assert pool.pending == 0
        assert pool.calls == 0
        assert 0 < pool._job_s < 5.0
        assert await pool.extract_many([], None) == []
    finally:
        pool.close()


def test_a_worker_holding_a_group_is_busy_and_a_free_worker_admits_at_once(workers: CpuWorkers) -> None:
    workers.pending, workers.calls = 16, 1  # one batch call of 16 notes: the other worker is free
    assert workers.expected_wait_s() == 0.0
    workers.calls = 2  # both workers hold a group: a new call waits behind them
    assert workers.expected_wait_s() == pytest.approx(15 * 0.010 / 2)


def test_background_work_is_bounded_by_the_hard_cap_not_the_queue_wait(workers: CpuWorkers) -> None:
    """The batch queue bounds its own calls; its queued group must not be shed by its own backlog."""
    workers.pending, workers.calls = 16, 4  # 75 ms of work ahead: an interactive call is shed
    with pytest.raises(Overloaded):
        workers._admit(deadline=None)
    workers._admit(deadline=None, notes=4, background=True)
    workers.pending = workers.calls = 100
    with pytest.raises(Overloaded, match="queue is full"):
        workers._admit(deadline=None, background=True)
