"""AnthropicBackend with the real SDK against the fake Messages API."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pytest
from healthai_server.backends.anthropic import TOOL_NAME, AnthropicBackend
from healthai_server.backends.base import BackendRequest, BackendResult, Deadline
from healthai_server.backends.errors import InvalidOutput, PhiTransferRefused, RateLimited, UpstreamError
from healthai_server.domain.clinical import (
    ICD10CM_SYSTEM,
    Certainty,
    EntityType,
    ExtractionOptions,
    Route,
    ValidationFinding,
    VitalInterpretation,
    VitalKind,
    as_domain,
)
from healthai_server.pipeline.validation import ValidationStage
from healthai_server.prompts import PromptRegistry
from healthai_server.validation import OutputValidator
from healthai_server.validation.rules import ClinicalRules
from opentelemetry.sdk.trace import TracerProvider

from tests.fakes.anthropic_api import (
    FakeAnthropicAPI,
    Usage,
    bad_request,
    overloaded,
    rate_limited,
    text_answer,
    tool_answer,
)
from tests.unit.backends.conftest import COVERED, NOT_COVERED, NOTE, BackendFactory, good_answer


def request(tenant: str = COVERED, **kwargs: object) -> BackendRequest:
    return BackendRequest(text=NOTE, tenant=tenant, deadline=Deadline.after(10), **kwargs)  # type: ignore[arg-type]


async def extract_validated(backend: AnthropicBackend, rules: ClinicalRules, req: BackendRequest) -> BackendResult:
    """The backend, then the pipeline's validation stage (clinical rules live there for every backend)."""
    return await ValidationStage(OutputValidator(rules)).run(req, await backend.extract(req))


async def test_extraction_maps_the_tool_answer_with_spans_recomputed_from_quotes(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory, rules: ClinicalRules
) -> None:
    fake_api.script(tool_answer(good_answer()))
    result = await extract_validated(make_backend(), rules, request())
    data = as_domain(result.data)
    assert [c.name for c in data.conditions] == ["hypertension", "type 2 diabetes mellitus", "chest pain"]
    spans = [x.span for x in data.conditions] + [x.span for x in data.medications]
    spans += [x.span for x in data.vital_signs] + [x.span for x in data.allergies]
    for span in spans:
        assert NOTE[span.start : span.end] == span.text
    htn, diabetes, chest_pain = data.conditions
    assert htn.codings[0].system == ICD10CM_SYSTEM and htn.codings[0].code == "I10"
    assert diabetes.codings[0].code == "E11.9"  # normalised with its dot
    assert chest_pain.assertion.certainty is Certainty.NEGATIVE
    metformin = data.medications[0]
    assert metformin.name == "metformin" and metformin.route is Route.ORAL
    assert metformin.instruction_span is not None and metformin.instruction_span.text == "metformin 500 mg PO BID"
    systolic = next(v for v in data.vital_signs if v.kind is VitalKind.SYSTOLIC_BLOOD_PRESSURE)
    assert systolic.quantity.unit == "mm[Hg]" and systolic.loinc.code == "8480-6"
    assert systolic.interpretation is VitalInterpretation.HIGH
    temp = next(v for v in data.vital_signs if v.kind is VitalKind.BODY_TEMPERATURE)
    assert temp.interpretation is VitalInterpretation.HIGH
    assert data.problem_list[0].evidence[0].text == "Hypertension, uncontrolled"
    assert result.ungrounded_dropped == 0


async def test_the_request_forces_the_tool_and_provenance_names_the_prompt(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory, prompts: PromptRegistry
) -> None:
    fake_api.script(tool_answer(good_answer(), usage=Usage(1000, 200)))
    result = await make_backend().extract(request())
    (sent,) = fake_api.requests
    assert sent.body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert sent.body["tools"][0]["name"] == TOOL_NAME
    assert sent.body["model"] == "claude-sonnet-4-5"
    prompt = prompts.get("clinical_extraction")
    assert result.provenance.prompt is not None
    assert result.provenance.prompt.version == prompt.version
    assert result.provenance.prompt.hash == hashlib.sha256(prompt.template.encode()).hexdigest()
    assert result.provenance.backend == "anthropic"
    assert result.provenance.model == "claude-sonnet-4-6"  # what the API said it ran
    assert result.provenance.cost_micros == 1000 * 3 + 200 * 15


async def test_exact_cost_with_cache_tokens(fake_api: FakeAnthropicAPI, make_backend: BackendFactory) -> None:
    fake_api.script(tool_answer(good_answer(), usage=Usage(1234, 567, 100, 50)))
    result = await make_backend().extract(request())
    usage = result.provenance.token_usage
    assert usage is not None and (usage.input_tokens, usage.output_tokens) == (1234, 567)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (100, 50)
    # 1234*3 + 567*15 + 100*0.30 + 50*3.75 = 12424.5 micro-dollars, rounded half up once.
    assert result.provenance.cost_micros == 12425


async def test_hallucinated_entity_is_dropped_and_counted(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    answer = good_answer()
    answer["conditions"].append(
        {"evidence": "atrial fibrillation", "name": "atrial fibrillation", "certainty": "positive", "confidence": 0.9}
    )
    answer["vital_signs"].append(
        {"evidence": "HR 88", "kind": "heart_rate", "value": 120, "unit": "/min", "confidence": 0.9}
    )
    fake_api.script(tool_answer(answer))
    result = await make_backend().extract(request())
    assert "atrial fibrillation" not in [c.name for c in as_domain(result.data).conditions]
    assert all(v.quantity.value != 120 for v in as_domain(result.data).vital_signs)
    assert result.ungrounded_dropped == 2


async def test_wrong_types_are_repaired_once_with_the_errors_sent_back(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    broken = good_answer()
    broken["conditions"][0]["confidence"] = "high"
    broken["vital_signs"][0]["kind"] = "blood_sugar"
    fake_api.script(tool_answer(broken, usage=Usage(1000, 100)), tool_answer(good_answer(), usage=Usage(1500, 300)))
    result = await make_backend().extract(request())
    assert len(as_domain(result.data).conditions) == 3
    _first, second = fake_api.requests
    repair = second.body["messages"][-1]["content"][0]
    assert repair["type"] == "tool_result" and repair["is_error"] is True
    assert "$.conditions[0].confidence: expected number" in repair["content"]
    assert "$.vital_signs[0].kind: must be one of" in repair["content"]
    assert second.body["messages"][-2]["role"] == "assistant"
    # Both calls are paid for.
    assert result.provenance.token_usage is not None and result.provenance.token_usage.input_tokens == 2500
    assert result.provenance.cost_micros == 2500 * 3 + 400 * 15


async def test_malformed_tool_input_twice_is_invalid_output(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.script(tool_answer("{not json"), tool_answer({"conditions": "none"}))
    with pytest.raises(InvalidOutput) as caught:
        await make_backend().extract(request())
    assert len(fake_api.requests) == 2
    assert any("expected array" in e for e in caught.value.errors)


async def test_text_instead_of_the_tool_is_repaired(fake_api: FakeAnthropicAPI, make_backend: BackendFactory) -> None:
    fake_api.script(text_answer("I think the patient has HTN."), tool_answer(good_answer()))
    result = await make_backend().extract(request())
    assert len(as_domain(result.data).conditions) == 3
    assert fake_api.requests[1].body["messages"][-1]["role"] == "user"


async def test_entity_type_filter_reaches_the_prompt_and_the_result(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.script(tool_answer(good_answer()))
    options = ExtractionOptions(entity_types=frozenset({EntityType.MEDICATION}))
    result = await make_backend().extract(request(options=options))
    assert as_domain(result.data).conditions == () and len(as_domain(result.data).medications) == 2
    assert "Extract only these kinds of data: medication." in fake_api.requests[0].body["system"]


async def test_clinical_rules_fix_codes_units_and_implausible_values(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory, rules: ClinicalRules
) -> None:
    answer = good_answer()
    answer["conditions"][0]["icd10cm"] = "E11.9"  # exists, but does not fit "HTN"
    answer["conditions"][1]["icd10cm"] = "Z99.999"  # does not exist
    answer["medications"][1]["dose_unit"] = "bananas"
    answer["vital_signs"][3] = {"evidence": "38.2 C", "kind": "heart_rate", "value": 38.2, "unit": "C", "confidence": 1}
    fake_api.script(tool_answer(answer))
    raw = as_domain((await make_backend().extract(request())).data)
    assert raw.conditions[0].codings[0].code == "E11.9"  # the backend itself applies no rules
    fake_api.script(tool_answer(answer))
    result = await extract_validated(make_backend(), rules, request())
    assert as_domain(result.data).conditions[0].codings == () and as_domain(result.data).conditions[1].codings == ()
    assert as_domain(result.data).conditions[0].findings == (ValidationFinding.CODE_REMOVED,)
    assert as_domain(result.data).medications[1].dose is None
    assert as_domain(result.data).medications[1].findings == (ValidationFinding.DOSE_REMOVED,)
    assert all(v.kind is not VitalKind.HEART_RATE or v.quantity.value == 88 for v in as_domain(result.data).vital_signs)


async def test_sdk_errors_map_to_backend_errors_and_sdk_retries_are_off(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    backend = make_backend()
    fake_api.script(rate_limited(retry_after=3))
    with pytest.raises(RateLimited) as limited:
        await backend.extract(request())
    assert limited.value.retry_after == 3
    fake_api.script(overloaded())
    with pytest.raises(UpstreamError) as upstream:
        await backend.extract(request())
    assert upstream.value.status == 529 and upstream.value.kind == "overloaded" and upstream.value.retryable
    fake_api.script(bad_request())
    with pytest.raises(UpstreamError) as rejected:
        await backend.extract(request())
    assert not rejected.value.retryable
    assert len(fake_api.requests) == 3  # one HTTP request per call: the SDK never retried


async def test_no_note_text_is_sent_for_an_uncovered_tenant_without_a_guard(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    backend = make_backend()
    assert not backend.admits(request(NOT_COVERED))
    with pytest.raises(PhiTransferRefused):
        await backend.extract(request(NOT_COVERED))
    with pytest.raises(PhiTransferRefused):
        await backend.summarize(NOTE, Deadline.after(5), tenant=NOT_COVERED)
    assert fake_api.requests == []


@dataclass
class _Guarded:
    text: str
    original: str
    offset_map: list[tuple[int, int, int]]  # (guarded_start, original_start, length_delta) per replacement

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        def convert(pos: int) -> int:
            shift = 0
            for g_start, _o_start, delta in self.offset_map:
                if pos > g_start:
                    shift += delta
            return pos + shift

        return convert(start), convert(end)


class NameGuard:
    """Replaces the patient's name with [NAME] (a stand-in for the real PhiGuard)."""

    name = "John Carter"
    calls: list[str]

    def __init__(self) -> None:
        self.calls = []

    async def protect(self, text: str, *, tenant: str, patient_ref: str) -> _Guarded:
        self.calls.append(tenant)
        at = text.find(self.name)
        guarded = text.replace(self.name, "[NAME]")
        return _Guarded(guarded, text, [(at, at, len(self.name) - len("[NAME]"))])


async def test_with_a_guard_the_guarded_text_is_sent_and_spans_map_back(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    guard = NameGuard()
    backend = make_backend(phi_guard=guard)
    fake_api.script(tool_answer(good_answer()))
    result = await backend.extract(request(NOT_COVERED))
    (sent,) = fake_api.requests
    assert "John Carter" not in sent.text_sent and "[NAME]" in sent.text_sent
    assert guard.calls == [NOT_COVERED]
    spans = [x.span for x in as_domain(result.data).conditions] + [x.span for x in as_domain(result.data).medications]
    spans += [x.span for x in as_domain(result.data).vital_signs]
    for span in spans:
        assert NOTE[span.start : span.end] == span.text
    assert as_domain(result.data).medications[0].span.text == "metformin"


async def test_the_sdk_sends_no_traceparent_even_inside_an_active_span(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    import anthropic

    tracer = TracerProvider().get_tracer("test")
    fake_api.script(tool_answer(good_answer()), tool_answer(good_answer()))
    with tracer.start_as_current_span("rpc"):
        await make_backend().extract(request())
        # Control: a client with default options does send it, so the check above is meaningful.
        control = anthropic.AsyncAnthropic(api_key="k", base_url=fake_api.url, max_retries=0)
        await control.messages.create(
            model="claude-sonnet-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
        await control.close()
    ours, theirs = fake_api.requests
    assert "traceparent" not in ours.headers
    assert "traceparent" in theirs.headers


async def test_api_key_and_base_url_come_from_the_environment(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key-123")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.url)
    fake_api.script(tool_answer(good_answer()))
    await make_backend(base_url=None, api_key=None).extract(request())
    (sent,) = fake_api.requests
    assert "env-key-123" in json.dumps(sent.headers)


async def test_summarize_returns_text_and_priced_provenance(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.script(
        text_answer("67M with HTN and T2DM, febrile; plan to control blood pressure.", usage=Usage(800, 40))
    )
    summary, provenance = await make_backend().summarize(NOTE, Deadline.after(5), tenant=COVERED)
    assert summary.startswith("67M with HTN")
    assert provenance.prompt is not None and provenance.prompt.id == "note_summary"
    assert provenance.cost_micros == 800 * 3 + 40 * 15
    assert "tools" not in fake_api.requests[0].body


async def test_an_empty_summary_is_invalid_output(fake_api: FakeAnthropicAPI, make_backend: BackendFactory) -> None:
    fake_api.script(text_answer("   "))
    with pytest.raises(InvalidOutput):
        await make_backend().summarize(NOTE, Deadline.after(5), tenant=COVERED)


def test_an_unpriced_model_is_refused_at_construction(make_backend: BackendFactory) -> None:
    from healthai_server.cost.pricing import UnknownModelPrice

    with pytest.raises(UnknownModelPrice):
        make_backend(model="gpt-unknown")
