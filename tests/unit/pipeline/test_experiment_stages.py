"""Arms and shadow inside the pipeline: the arm picks the backend and is recorded in
provenance and the ledger; the shadow candidate passes the PHI guard stage like a live call,
never reaches review, and is only scheduled on the response path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from healthai_server.backends.base import BackendRequest, BackendResult
from healthai_server.backends.egress import EgressGuard
from healthai_server.domain.clinical import ClinicalData, Condition, Span
from healthai_server.domain.provenance import Provenance
from healthai_server.experiments.arms import Arm, ShadowConfig
from healthai_server.experiments.assignment import ArmAssigner
from healthai_server.experiments.store import ExperimentStore
from healthai_server.pipeline.experiments import ArmSelection
from healthai_server.pipeline.extraction import Caller, ExtractionPipeline
from healthai_server.pipeline.guard import PhiGuardStage
from healthai_server.pipeline.hashing import NoteHasher
from healthai_server.pipeline.shadow import ShadowRunner
from healthai_server.storage import migrate
from healthai_server.storage.db import Database
from healthai_server.storage.usage import UsageLedger

NOTE = "Patient John Smith has HTN."
HASHER = NoteHasher(b"n" * 32)


@dataclass
class Named:
    """A backend that sends the note through the gate (when it is external) and answers HTN."""

    label: str
    external: bool = True
    sent: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "anthropic" if self.external else "local"

    async def extract(self, request: BackendRequest) -> BackendResult:
        if self.external:
            assert request.outbound is not None
            outbound = await request.outbound.prepare()
            request.outbound.release(self.label)
            self.sent.append(outbound.text)
        start = request.text.find("HTN")
        data = ClinicalData(conditions=(Condition(Span(start, start + 3, "HTN"), "hypertension"),))
        return BackendResult(data, Provenance(self.name, self.label, cost_micros=10))

    async def close(self) -> None:
        return None


class Guarded:
    def __init__(self, text: str) -> None:
        self.text = text.replace("John Smith", "[NAME]")

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        return start + 4, end + 4  # "[NAME]" is 4 characters shorter than "John Smith"


class Guard:
    async def protect(self, text: str, *, tenant: str, patient_ref: str) -> Guarded:
        return Guarded(text)


@dataclass
class Router:
    routed: list[str] = field(default_factory=list)
    needs_objects: bool = False

    async def route(self, request: BackendRequest, result: BackendResult, caller: Caller | None) -> str:
        self.routed.append(result.provenance.model)
        return ""


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database.engine)
    yield database
    database.close()


def _selection(a: Named, b: Named) -> ArmSelection:
    arms = [Arm("a", "anthropic", weight=1), Arm("b", "anthropic", weight=1)]
    return ArmSelection(ArmAssigner(b"e" * 32, arms), {"a": a, "b": b}, HASHER.fingerprint)


async def test_the_arm_answers_and_is_recorded_in_provenance_and_ledger(db: Database) -> None:
    default, a, b = Named("default"), Named("arm-a"), Named("arm-b")
    pipe = ExtractionPipeline(
        default,
        lambda data, request: "{}",
        UsageLedger(db),
        guard=PhiGuardStage(EgressGuard(frozenset({"t1"}))),
        arms=_selection(a, b),
    )
    seen: dict[str, str] = {}
    for i in range(40):
        note = f"{NOTE} Visit {i}."
        outcome = await pipe.run(BackendRequest(note, "t1"), Caller("t1", "svc", f"audit-{i}"))
        arm = outcome.result.provenance.experiment_arm
        assert arm in {"a", "b"} and outcome.result.provenance.model == f"arm-{arm}"
        again = await pipe.run(BackendRequest(note, "t1"), Caller("t1", "svc", f"audit-{i}-again"))
        assert again.result.provenance.experiment_arm == arm  # the same note, the same arm
        seen[arm] = note
        assert outcome.shadow == ""
    assert set(seen) == {"a", "b"} and default.sent == []
    rows = await ExperimentStore(db).arm_calls(datetime.now(UTC) - timedelta(hours=1))
    assert len(rows) == 80 and {r.arm for r in rows} == {"a", "b"} and all(r.latency_ms > 0 for r in rows)


async def test_a_local_arm_is_ledgered_too_and_a_tenant_out_of_scope_gets_the_default(db: Database) -> None:
    local = Named("engine", external=False)
    arms = [Arm("local-only", "local", weight=1, tenants=frozenset({"pilot"}))]
    selection = ArmSelection(ArmAssigner(b"e" * 32, arms), {"local-only": local}, HASHER.fingerprint)
    pipe = ExtractionPipeline(Named("default", external=False), lambda d, r: "{}", UsageLedger(db), arms=selection)
    inside = await pipe.run(BackendRequest(NOTE, "pilot"), Caller("pilot", "svc", "x1"))
    assert inside.result.provenance.experiment_arm == "local-only" and inside.phi_egress == "none"
    outside = await pipe.run(BackendRequest(NOTE, "other"), Caller("other", "svc", "x2"))
    assert outside.result.provenance.experiment_arm == ""
    rows = await ExperimentStore(db).arm_calls(datetime.now(UTC) - timedelta(hours=1))
    assert [(r.arm, r.backend) for r in rows] == [("local-only", "local")]
    with pytest.raises(ValueError, match="without a backend"):
        ArmSelection(ArmAssigner(b"e" * 32, arms), {}, HASHER.fingerprint)


async def test_shadow_passes_the_guard_never_reaches_review_and_only_schedules(db: Database) -> None:
    live, candidate = Named("live"), Named("candidate")
    router = Router()
    store = ExperimentStore(db)
    guard = PhiGuardStage(EgressGuard(frozenset(), Guard()))  # no BAA: surrogates only
    runner = ShadowRunner(ShadowConfig(Arm("cand", "anthropic"), 1_000, 2), candidate, store, guard=guard)
    pipe = ExtractionPipeline(live, lambda d, r: "{}", guard=guard, review=router, shadow=runner)
    outcome = await pipe.run(BackendRequest(NOTE, "t9"), Caller("t9", "svc", "audit-s"))
    assert outcome.shadow == "scheduled" and candidate.sent == []  # not run yet: the answer comes first
    assert outcome.phi_egress == "surrogates"
    await runner.drain()
    assert candidate.sent == ["Patient [NAME] has HTN."]  # the guard applied to the shadow call as well
    assert live.sent == candidate.sent
    assert router.routed == ["live"]  # review saw the live answer only
    [row] = await store.comparisons(datetime.now(UTC) - timedelta(hours=1))
    assert row.phi_egress == "surrogates" and row.audit_id == "audit-s" and row.outcome == "ok"
    assert row.agreement["conditions"].tp == 1


async def test_shadow_submission_returns_immediately_even_when_the_candidate_is_slow(db: Database) -> None:
    class Slow(Named):
        async def extract(self, request: BackendRequest) -> BackendResult:
            await asyncio.sleep(5)
            return await super().extract(request)

    guard = PhiGuardStage(EgressGuard(frozenset({"t1"})))
    runner = ShadowRunner(
        ShadowConfig(Arm("slow", "anthropic"), 1_000, 1), Slow("slow"), ExperimentStore(db), guard=guard
    )
    pipe = ExtractionPipeline(Named("live"), lambda d, r: "{}", guard=guard, shadow=runner)
    await pipe.warm()  # the rule tables load once; not what is measured here
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = await pipe.run(BackendRequest(NOTE, "t1"), Caller("t1", "svc", "1"))
    second = await pipe.run(BackendRequest(NOTE, "t1"), Caller("t1", "svc", "2"))
    assert loop.time() - started < 0.5
    assert (first.shadow, second.shadow) == ("scheduled", "dropped_concurrency")
    await runner.drain(timeout_s=0.01)
