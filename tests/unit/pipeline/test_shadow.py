"""The shadow runner: off the response path, within its concurrency cap and its budget,
its answer compared and stored (both engines), never raising into the caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from healthai_server.backends.base import BackendRequest, BackendResult
from healthai_server.backends.errors import BackendTimeout, PhiTransferRefused
from healthai_server.domain.clinical import ClinicalData, Condition, Span
from healthai_server.domain.errors import BackendUnavailable
from healthai_server.domain.provenance import PromptRef, Provenance
from healthai_server.experiments.agreement import Counts
from healthai_server.experiments.arms import Arm, ShadowConfig
from healthai_server.experiments.store import ExperimentStore, ShadowComparison
from healthai_server.pipeline.shadow import ShadowRunner
from healthai_server.storage import migrate
from healthai_server.storage.db import Database

NOTE = "HTN and COPD."
LIVE = BackendResult(
    ClinicalData(conditions=(Condition(Span(0, 3, "HTN"), "hypertension"), Condition(Span(8, 12, "COPD"), "copd"))),
    Provenance("anthropic", "claude-sonnet-4-6", PromptRef("clinical_extraction", "1.0.0", "h"), latency_s=0.2),
)


class Candidate:
    """A scriptable shadow backend: answers HTN only, after a gate opens; or raises."""

    def __init__(self, cost: int = 100, error: Exception | None = None) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.calls = 0
        self.cost = cost
        self.error = error
        self.seen: list[BackendRequest] = []

    @property
    def name(self) -> str:
        return "anthropic"

    async def extract(self, request: BackendRequest) -> BackendResult:
        self.calls += 1
        self.seen.append(request)
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        request.egress.record("anthropic", "surrogates")
        data = ClinicalData(conditions=(Condition(Span(0, 3, "HTN"), "hypertension"),))
        return BackendResult(data, Provenance("anthropic", "claude-haiku-4-5", cost_micros=self.cost))

    async def close(self) -> None:
        return None


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ExperimentStore]:
    db = Database(database_url)
    migrate.upgrade(db.engine)
    yield ExperimentStore(db)
    db.close()


def _runner(
    store: ExperimentStore,
    backend: Candidate,
    *,
    budget: int = 10_000,
    cap: int = 2,
    tenants: tuple[str, ...] = (),
    on_outcome: Callable[[str], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> ShadowRunner:
    arm = Arm("cand", "anthropic", "claude-haiku-4-5", "1.1.0", tenants=frozenset(tenants))
    config = ShadowConfig(arm, budget, cap)
    if clock is None:
        return ShadowRunner(config, backend, store, on_outcome=on_outcome)
    return ShadowRunner(config, backend, store, on_outcome=on_outcome, clock=clock)


def _request(tenant: str = "t1") -> BackendRequest:
    return BackendRequest(text=NOTE, tenant=tenant)


async def test_a_shadow_call_is_compared_and_stored(store: ExperimentStore) -> None:
    candidate = Candidate(cost=250)
    outcomes: list[str] = []
    runner = _runner(store, candidate, on_outcome=outcomes.append)
    await runner.start()
    request = _request()
    assert runner.submit(request, LIVE, audit_id="a-1", live_arm="control") == "scheduled"
    await runner.drain()
    assert outcomes == ["scheduled", "ok"]
    assert request.egress.summary == "none"  # the live request's egress log is untouched
    [row] = await store.comparisons(datetime.now(UTC) - timedelta(hours=1))
    assert (row.tenant, row.audit_id, row.live_arm, row.shadow_arm) == ("t1", "a-1", "control", "cand")
    assert row.outcome == "ok"
    assert row.agreement["conditions"] == Counts(1, 0, 1) and row.shadow_cost_micros == 250
    assert row.phi_egress == "surrogates" and row.shadow_model == "claude-haiku-4-5"
    assert row.live_prompt_version == "1.0.0" and row.shadow_prompt_version == "1.1.0"
    assert row.live_latency_ms == pytest.approx(200)
    assert await store.shadow_spent_micros(datetime.now(UTC) - timedelta(hours=1)) == 250
    assert await store.comparisons(datetime.now(UTC) - timedelta(hours=1), "other") == []


async def test_submit_never_waits_and_the_cap_drops_rather_than_queues(store: ExperimentStore) -> None:
    candidate = Candidate()
    candidate.gate.clear()  # the candidate hangs until released
    outcomes: list[str] = []
    runner = _runner(store, candidate, cap=2, on_outcome=outcomes.append)
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = [runner.submit(_request(), LIVE, audit_id=f"a-{i}", live_arm="") for i in range(5)]
    assert loop.time() - started < 0.05
    assert results == ["scheduled", "scheduled", "dropped_concurrency", "dropped_concurrency", "dropped_concurrency"]
    assert runner.in_flight == 2
    candidate.gate.set()
    await runner.drain()
    assert candidate.calls == 2 and runner.in_flight == 0
    assert outcomes.count("ok") == 2
    assert runner.submit(_request(), LIVE, audit_id="late", live_arm="") == "out_of_scope"  # drained: closed


async def test_budget_stops_shadow_calls_until_the_next_day(store: ExperimentStore) -> None:
    now = [datetime(2026, 12, 1, 23, 0, tzinfo=UTC)]
    candidate = Candidate(cost=600)
    runner = _runner(store, candidate, budget=1000, cap=8, clock=lambda: now[0])
    await runner.start()
    for i in range(2):
        assert runner.submit(_request(), LIVE, audit_id=f"a-{i}", live_arm="") == "scheduled"
        await asyncio.sleep(0.05)
    assert runner.spent_today_micros == 1200  # the overshoot is at most the calls in flight
    assert runner.submit(_request(), LIVE, audit_id="over", live_arm="") == "skipped_budget"
    # A restart does not refill the pot: spend is read back from the store.
    again = _runner(store, candidate, budget=1000, clock=lambda: now[0])
    await again.start()
    assert again.submit(_request(), LIVE, audit_id="over2", live_arm="") == "skipped_budget"
    now[0] = datetime(2026, 12, 2, 0, 1, tzinfo=UTC)
    assert again.submit(_request(), LIVE, audit_id="next-day", live_arm="") == "scheduled"
    await again.drain()
    await runner.drain()


async def test_tenant_scope(store: ExperimentStore) -> None:
    runner = _runner(store, Candidate(), tenants=("pilot",))
    assert runner.submit(_request("other"), LIVE, audit_id="a", live_arm="") == "out_of_scope"
    assert runner.submit(_request("pilot"), LIVE, audit_id="b", live_arm="") == "scheduled"
    await runner.close()


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (BackendTimeout("slow"), "timeout"),
        (PhiTransferRefused("no BAA"), "refused"),
        (BackendUnavailable("down"), "backend_unavailable"),
        (RuntimeError("bug"), "error"),
    ],
)
async def test_a_failed_candidate_is_recorded_not_raised(
    store: ExperimentStore, error: Exception, outcome: str
) -> None:
    outcomes: list[str] = []
    runner = _runner(store, Candidate(error=error), on_outcome=outcomes.append)
    runner.submit(_request(), LIVE, audit_id="a", live_arm="control")
    await runner.drain()
    [row] = await store.comparisons(datetime.now(UTC) - timedelta(hours=1))
    assert row.outcome == outcome and row.shadow_cost_micros == 0 and row.agreement == {}
    assert outcomes[-1] == "failed"


async def test_drain_cancels_calls_that_outlive_the_timeout(store: ExperimentStore) -> None:
    candidate = Candidate()
    candidate.gate.clear()
    runner = _runner(store, candidate)
    runner.submit(_request(), LIVE, audit_id="a", live_arm="")
    await asyncio.sleep(0)
    await runner.drain(timeout_s=0.05)
    assert runner.in_flight == 0


async def test_a_comparison_the_store_cannot_take_is_counted_not_raised(store: ExperimentStore) -> None:
    from healthai_server.domain.errors import StorageUnavailable

    class Down(ExperimentStore):
        async def record(self, row: ShadowComparison) -> None:
            raise StorageUnavailable("database down")

    outcomes: list[str] = []
    runner = ShadowRunner(
        ShadowConfig(Arm("cand", "anthropic"), 10_000, 2), Candidate(), Down(store._db), on_outcome=outcomes.append
    )
    runner.submit(_request(), LIVE, audit_id="a", live_arm="")
    await runner.drain()
    assert outcomes == ["scheduled", "store_failed"]
