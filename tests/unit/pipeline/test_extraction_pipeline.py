"""The extraction pipeline's stages, in order, with real stages and small stand-in backends."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from healthai_server.backends.base import BackendRequest, BackendResult
from healthai_server.backends.egress import EgressGuard
from healthai_server.backends.errors import PhiTransferRefused
from healthai_server.domain.clinical import (
    ICD10CM_SYSTEM,
    ClinicalData,
    Coding,
    Condition,
    EntityType,
    ExtractionOptions,
    Span,
    ValidationFinding,
    as_domain,
)
from healthai_server.domain.provenance import Provenance
from healthai_server.pipeline.extraction import Caller, ExtractionPipeline
from healthai_server.pipeline.guard import PhiGuardStage
from healthai_server.pipeline.review import NoReview
from healthai_server.pipeline.validation import ValidationStage
from healthai_server.services.convert import encode_clinical_data
from healthai_server.validation import OutputValidator
from healthai_server.validation.rules import ClinicalRules

NOTE = "Assessment: neck pain. Plan: rest."


@dataclass
class Sending:
    """A backend that sends the note out (through the gate) and answers with fixed data."""

    data: ClinicalData
    sent: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "external"

    async def extract(self, request: BackendRequest) -> BackendResult:
        assert request.outbound is not None
        outbound = await request.outbound.prepare()
        request.outbound.release(self.name)
        self.sent.append(outbound.text)
        return BackendResult(self.data, Provenance("external", "m1"))

    async def close(self) -> None:
        return None


@dataclass
class Recorder:
    routed: list[BackendResult] = field(default_factory=list)
    needs_objects: bool = True

    async def route(self, request: BackendRequest, result: BackendResult, caller: Caller | None) -> str:
        self.routed.append(result)
        return "tenants/t1/reviewTasks/abc"


def condition(start: int, end: int, text: str, code: str = "M54.2") -> Condition:
    return Condition(Span(start, end, text), "neck pain", (Coding(ICD10CM_SYSTEM, code, "Cervicalgia"),))


@pytest.fixture(scope="module")
def rules() -> ClinicalRules:
    loaded = ClinicalRules.load()
    loaded.warm()
    return loaded


def pipeline(
    backend: Sending, rules: ClinicalRules, baa: frozenset[str] = frozenset(), **kw: object
) -> ExtractionPipeline:
    return ExtractionPipeline(
        backend,
        lambda data, request: "{}",
        guard=PhiGuardStage(EgressGuard(baa)),
        validation=ValidationStage(OutputValidator(rules)),
        **kw,  # type: ignore[arg-type]
    )


async def test_validation_reanchors_spans_drops_ungrounded_items_and_records_findings(rules: ClinicalRules) -> None:
    start = NOTE.index("neck pain")
    data = ClinicalData(
        conditions=(
            condition(0, 9, "neck pain"),  # wrong offsets, text in the note: moved
            condition(start, start + 9, "neck pain", code="E11.9"),  # code does not fit: removed
            condition(0, 5, "gout"),  # not in the note: dropped
        )
    )
    outcome = await pipeline(Sending(data), rules, baa=frozenset({"t1"})).run(BackendRequest(NOTE, "t1"))
    kept = as_domain(outcome.result.data).conditions
    assert outcome.result.ungrounded_dropped == 1
    assert kept[0].span.start == start and kept[0].findings == (ValidationFinding.SPAN_REANCHORED,)
    assert kept[1].codings == () and kept[1].findings == (ValidationFinding.CODE_REMOVED,)
    assert outcome.phi_egress == "clear"


async def test_nothing_leaves_for_a_tenant_without_a_baa_and_without_a_guard(rules: ClinicalRules) -> None:
    backend = Sending(ClinicalData())
    with pytest.raises(PhiTransferRefused):
        await pipeline(backend, rules).run(BackendRequest(NOTE, "t2"))
    assert backend.sent == []


async def test_validated_engine_output_is_not_checked_twice_and_review_sees_the_result(rules: ClinicalRules) -> None:
    start = NOTE.index("neck pain")
    encoded = encode_clinical_data(ClinicalData(conditions=(condition(0, 9, "neck pain"),)), validated=True)

    class Local(Sending):
        @property
        def name(self) -> str:
            return "local"

        async def extract(self, request: BackendRequest) -> BackendResult:
            assert request.options.keep_objects  # review routing reads items
            return BackendResult(encoded, Provenance("local", "engine"))

    router = Recorder()
    outcome = await pipeline(Local(ClinicalData()), rules, review=router).run(
        BackendRequest(NOTE, "t1", options=ExtractionOptions())
    )
    assert outcome.result.data is encoded  # trusted: validated where it was computed
    assert outcome.review_task == "tenants/t1/reviewTasks/abc" and router.routed
    assert outcome.phi_egress == "none"
    assert start > 0


async def test_no_review_routes_nothing() -> None:
    assert not NoReview().needs_objects
    assert (
        await NoReview().route(BackendRequest(NOTE, "t1"), BackendResult(ClinicalData(), Provenance("x", "y")), None)
        == ""
    )


async def test_the_guard_runs_once_per_request_however_often_a_backend_retries() -> None:
    calls: list[str] = []

    class Guarded:
        text = "[NAME] has neck pain"

        def to_original(self, start: int, end: int) -> tuple[int, int]:
            return start, end

    class Guard:
        async def protect(self, text: str, *, tenant: str, patient_ref: str) -> Guarded:
            calls.append(tenant)
            return Guarded()

    request = PhiGuardStage(EgressGuard(phi_guard=Guard())).apply(BackendRequest(NOTE, "t3"))
    assert request.outbound is not None and request.outbound.permits()
    with pytest.raises(RuntimeError):
        request.outbound.release("early")
    for _ in range(3):
        outbound = await request.outbound.prepare()
        request.outbound.release("anthropic")
    assert calls == ["t3"] and outbound.form == "surrogates"
    assert request.egress.summary == "surrogates" and len(request.egress.destinations) == 3
    assert outbound.to_original(0, 4) is not None and outbound.to_original(0, 999) is None
    assert PhiGuardStage(None).apply(BackendRequest(NOTE, "t3")).outbound is None


def test_every_code_of_the_engine_lexicon_exists_in_icd10cm(rules: ClinicalRules) -> None:
    """The rule check trusts the engine's lexicon codes without a lookup; this is why it may."""
    from healthai_server.engine.resources import load_conditions

    trusted = rules._curated()
    assert len(trusted) > 1000 and all(rules.codes.normalize(code) == code for code in trusted)
    assert "M40-M54" not in trusted and any(c.code == "M40-M54" for _s, c in load_conditions())


def test_a_height_in_feet_and_inches_is_grounded() -> None:
    from healthai_server.validation.grounding import value_in_text

    assert value_in_text(71, "5'11\"") and value_in_text(72, "6 ft 0 in") and not value_in_text(70, "5'11\"")


async def test_the_router_queues_by_threshold_finding_degradation_and_request() -> None:
    from healthai_server.domain.clinical import Medication
    from healthai_server.domain.provenance import DegradedReason
    from healthai_server.domain.review import NewReviewTask, ReviewReason, ReviewThresholds
    from healthai_server.pipeline.review import ThresholdRouter

    created: list[NewReviewTask] = []

    class Sink:
        async def create(self, new: NewReviewTask) -> object:
            created.append(new)

            class Task:
                name = f"tenants/{new.tenant}/reviewTasks/x{len(created)}"

            return Task()

    data = ClinicalData(
        conditions=(replace_confidence(condition(0, 9, "neck pain"), 0.9),),
        medications=(Medication(Span(0, 4, "rest"), "rest", confidence=0.5),),
    )
    router = ThresholdRouter(
        Sink(),  # type: ignore[arg-type]
        ReviewThresholds({EntityType.MEDICATION: 0.8}, default=0.1),
        lambda d: b"wire",
    )
    caller = Caller("t1", "svc", "audit-1")
    result = BackendResult(data, Provenance("local", "engine"))
    assert await router.route(BackendRequest(NOTE, "t1"), result, caller) == "tenants/t1/reviewTasks/x1"
    assert created[0].reasons == (ReviewReason.LOW_CONFIDENCE,) and created[0].data_wire == b"wire"
    assert [(i.item_type, i.index) for i in created[0].items] == [(EntityType.MEDICATION, 0)]
    confident = ClinicalData(conditions=data.conditions)
    assert (
        await router.route(BackendRequest(NOTE, "t1"), BackendResult(confident, Provenance("local", "e")), caller) == ""
    )
    degraded = Provenance("local", "e", degraded_reason=DegradedReason.BREAKER_OPEN)
    asked = BackendRequest(NOTE, "t1", options=ExtractionOptions(request_review=True))
    assert await router.route(asked, BackendResult(confident, degraded, ungrounded_dropped=1), caller)
    assert created[-1].reasons == (ReviewReason.UNGROUNDED, ReviewReason.DEGRADED, ReviewReason.REQUESTED)
    assert await router.route(asked, result, None) == ""  # no caller, nothing queued


def replace_confidence(item: Condition, confidence: float) -> Condition:
    from dataclasses import replace

    return replace(item, confidence=confidence)


@dataclass
class Grouped:
    """A backend that takes several notes at once; the note 'fail' fails alone."""

    calls: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "local"

    async def extract(self, request: BackendRequest) -> BackendResult:
        raise AssertionError("a backend that takes groups gets the group")

    async def extract_many(self, requests: list[BackendRequest]) -> list[BackendResult | Exception]:
        self.calls.append(len(requests))
        data = ClinicalData(conditions=(_condition(),))
        return [
            ValueError("this note failed") if r.note_id == "fail" else BackendResult(data, Provenance("local", "e1"))
            for r in requests
        ]

    async def close(self) -> None:
        return None


def _condition() -> Condition:
    return Condition(
        span=Span(12, 21, "neck pain"), name="neck pain", codings=(Coding(ICD10CM_SYSTEM, "M54.2", "Cervicalgia"),)
    )


async def test_run_many_makes_one_backend_call_and_keeps_failures_per_note() -> None:
    backend = Grouped()
    pipeline = ExtractionPipeline(backend, lambda _data, _request: "{}")
    requests = [
        (BackendRequest(text=NOTE, tenant="t", note_id=note_id), Caller("t", "batch", "a1"))
        for note_id in ("n1", "fail", "n3")
    ]
    outcomes = await pipeline.run_many(requests)
    assert backend.calls == [3]
    assert isinstance(outcomes[1], ValueError)
    for outcome in (outcomes[0], outcomes[2]):
        assert not isinstance(outcome, Exception)
        # The same stages as run(): validation grounded the condition against the note.
        assert [c.name for c in as_domain(outcome.result.data).conditions] == ["neck pain"]
        assert outcome.result.provenance.latency_s > 0


async def test_run_many_falls_back_to_one_note_at_a_time_for_other_backends() -> None:
    backend = Sending(ClinicalData(conditions=(_condition(),)))
    pipeline = ExtractionPipeline(backend, lambda _data, _request: "{}", guard=PhiGuardStage(None))
    outcomes = await pipeline.run_many([(BackendRequest(text=NOTE, tenant="t"), None)] * 2)
    assert len(outcomes) == 2
    assert all(isinstance(o, Exception) for o in outcomes)  # no egress guard: the gate refuses, per note
