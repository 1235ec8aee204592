"""Admission to the engine workers: shed by expected wait, deadline and hard cap; never idle the workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from healthai_server.backends.base import Deadline
from healthai_server.domain.clinical import ExtractionOptions
from healthai_server.domain.errors import DeadlineExceeded, Overloaded
from healthai_server.workers import CpuWorkers


@pytest.fixture
def workers() -> Iterator[CpuWorkers]:
    # Two worker processes (started lazily, so never here) and a known job cost of 10 ms.
    pool = CpuWorkers(2, b"k" * 32, max_pending=100, max_queue_wait_s=0.05)
    pool._job_s = 0.010
    yield pool
    pool.close()


def test_busy_workers_with_a_short_queue_still_admit(workers: CpuWorkers) -> None:
    workers.pending = 10  # 2 running, 8 waiting: 9 ahead of a new job over 2 workers = 45 ms
    assert workers.expected_wait_s() == pytest.approx(0.045)
    workers._admit(deadline=None)


def test_a_queue_longer_than_the_wait_cap_sheds_with_the_backlog_as_retry_delay(workers: CpuWorkers) -> None:
    shed: list[str] = []
    workers._on_shed = shed.append
    workers.pending = 12  # 11 ahead -> 55 ms > 50 ms
    with pytest.raises(Overloaded) as caught:
        workers._admit(deadline=None)
    assert caught.value.retry_after_s == pytest.approx(0.1)  # never less than 100 ms
    assert shed == ["server"]
    workers.pending = 30  # 29 ahead -> 145 ms: come back when it has drained
    with pytest.raises(Overloaded) as caught:
        workers._admit(deadline=None)
    assert caught.value.retry_after_s == pytest.approx(0.145)


def test_work_that_cannot_finish_before_the_deadline_is_shed_at_once(workers: CpuWorkers) -> None:
    workers.pending = 6  # 25 ms ahead + 10 ms of its own
    workers._admit(Deadline.after(1.0))
    with pytest.raises(Overloaded, match="longer than the deadline"):
        workers._admit(Deadline.after(0.02))
    workers.pending = 0  # no backlog, but the job alone takes longer than the caller allows
    with pytest.raises(DeadlineExceeded):
        workers._admit(Deadline.after(0.005))


def test_the_hard_cap_holds_even_when_jobs_are_cheap(workers: CpuWorkers) -> None:
    workers._job_s = 0.0001
    workers.pending = 100
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
