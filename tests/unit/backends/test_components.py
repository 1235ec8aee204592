"""Prompts, pricing, budgets, schema, grounding, rules and the cache, one by one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from healthai_server.backends.anthropic.schema import SCHEMAS, clinical_data_schema
from healthai_server.backends.base import BackendResult
from healthai_server.cache import MemoryResultCache, cache_key, decode_result, encode_result
from healthai_server.cache.codec import UndecodablePayload
from healthai_server.cost.budget import BudgetGuard, BudgetPolicy, BudgetVerdict, InMemorySpendLedger, OnExhausted
from healthai_server.cost.pricing import PriceTable, UnknownModelPrice
from healthai_server.domain import clinical as c
from healthai_server.domain.errors import QuotaExhausted
from healthai_server.domain.provenance import DegradedReason, PromptRef, Provenance, TokenUsage
from healthai_server.prompts import PromptError, PromptRegistry, main
from healthai_server.validation import OutputValidator, QuoteLocator, ground_spans
from healthai_server.validation.rules import ClinicalRules
from healthai_server.validation.schema import validate

from tests.unit.backends.conftest import NOTE

# -- prompts ---------------------------------------------------------------------------------------


def test_prompt_hash_is_sha256_of_the_template_and_rendering_is_deterministic(prompts: PromptRegistry) -> None:
    p = prompts.get("clinical_extraction", "1.0.0")
    assert p.hash == hashlib.sha256(p.template.encode()).hexdigest()
    assert p.ref == PromptRef("clinical_extraction", "1.0.0", p.hash)
    variables = {"tool_name": "t", "entity_kinds": "conditions"}
    assert p.render(variables) == p.render(dict(reversed(list(variables.items()))))
    with pytest.raises(PromptError):
        p.render({"tool_name": "t"})
    with pytest.raises(PromptError):
        p.render({**variables, "extra": "x"})
    assert prompts.get("clinical_extraction").version == "1.1.0"  # latest by version order


def test_prompt_cli_list_show_diff(capsys: pytest.CaptureFixture[str], prompts: PromptRegistry) -> None:
    assert main(["list"]) == 0
    assert "clinical_extraction\t1.0.0\tclinical_data.v1" in capsys.readouterr().out
    assert main(["show", "note_summary", "1.0.0"]) == 0
    assert "hash: " + prompts.get("note_summary").hash in capsys.readouterr().out
    assert main(["diff", "clinical_extraction", "1.0.0", "1.1.0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- clinical_extraction@1.0.0\n+++ clinical_extraction@1.1.0\n")
    assert "\n+- A medication's `status`" in out
    assert main(["show", "nope"]) == 2


def test_prompt_files_are_checked(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "1.0.0.toml").write_text('id = "demo"\nversion = "2.0.0"\nschema = "text"\ntemplate = "hi"\n')
    with pytest.raises(PromptError, match="match the file name"):
        PromptRegistry(tmp_path)


# -- pricing and budgets -------------------------------------------------------------------------------


def test_cost_is_exact_integer_micro_dollars() -> None:
    table = PriceTable()
    usage = TokenUsage(input_tokens=1, output_tokens=1, cache_read_input_tokens=1, cache_creation_input_tokens=1)
    # 3 + 15 + 0.30 + 3.75 = 22.05 -> 22
    assert table.cost_micros("claude-sonnet-4-5", usage) == 22
    assert table.cost_micros("claude-sonnet-4-5-20250929", TokenUsage(1_000_000, 0)) == 3_000_000
    # A million requests of 1 cache-read token each would drift with floats; Decimal does not.
    assert table.price("claude-haiku-4-5").cost_micros(TokenUsage(cache_read_input_tokens=10**9)) == 100_000_000
    with pytest.raises(UnknownModelPrice):
        table.price("claude-opus-4-9")  # not a dated snapshot of claude-opus-4: a model of its own


def test_price_overrides_from_config() -> None:
    table = PriceTable().with_overrides({"claude-sonnet-4-5": {"input": "2.5"}, "custom-model": {"output": 0.1}})
    assert table.price("claude-sonnet-4-5").input == Decimal("2.5")
    assert table.price("claude-sonnet-4-5").output == Decimal("15")
    assert table.price("custom-model").output == Decimal("0.1")
    with pytest.raises(ValueError, match="unknown token kind"):
        PriceTable().with_overrides({"m": {"inptu": 1}})
    with pytest.raises(ValueError, match="non-negative"):
        PriceTable().with_overrides({"m": {"input": -1}})


async def test_budget_periods_are_utc_day_and_month() -> None:
    now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    ledger = InMemorySpendLedger()
    ledger.add("t", 700, now - timedelta(days=1))  # this month, not today
    ledger.add("t", 200, now - timedelta(hours=1))
    ledger.add("t", 10_000, now - timedelta(days=40))  # last month
    guard = BudgetGuard(
        ledger, {"t": BudgetPolicy(daily_limit_micros=1_000, monthly_limit_micros=1_000)}, now=lambda: now
    )
    status = await guard.check("t")
    assert (status.verdict, status.daily_spent_micros, status.monthly_spent_micros) == (BudgetVerdict.ALLOW, 200, 900)
    assert status.used_ratio == pytest.approx(0.9)
    ledger.add("t", 100, now)
    assert (await guard.check("t")).verdict is BudgetVerdict.FALLBACK
    reject = BudgetGuard(
        ledger, default=BudgetPolicy(daily_limit_micros=300, on_exhausted=OnExhausted.REJECT), now=lambda: now
    )
    with pytest.raises(QuotaExhausted, match="daily"):
        await reject.check("t")
    assert (await BudgetGuard(ledger).check("t")).verdict is BudgetVerdict.ALLOW  # no policy: unlimited


def test_budget_policy_from_config() -> None:
    policy = BudgetPolicy.from_mapping({"daily_limit_micros": 5, "on_exhausted": "reject"})
    assert policy == BudgetPolicy(5, 0, OnExhausted.REJECT)
    with pytest.raises(ValueError, match="on_exhausted"):
        BudgetPolicy.from_mapping({"on_exhausted": "explode"})
    with pytest.raises(ValueError, match="unknown key"):
        BudgetPolicy.from_mapping({"daily": 5})


# -- schema ----------------------------------------------------------------------------------------------


def test_the_tool_schema_is_valid_json_schema_and_matches_the_domain_enums() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = clinical_data_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    condition = props["conditions"]["items"]["properties"]
    assert condition["certainty"]["enum"] == [m.value for m in c.Certainty]
    assert condition["section"]["enum"] == [m.value for m in c.NoteSection]
    assert props["vital_signs"]["items"]["properties"]["kind"]["enum"] == [m.value for m in c.VitalKind]
    assert props["medications"]["items"]["properties"]["route"]["enum"] == [m.value for m in c.Route]
    assert set(SCHEMAS) == {"clinical_data.v1"}


def test_our_validator_agrees_with_jsonschema_on_typical_mistakes() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from tests.unit.backends.conftest import good_answer

    schema = clinical_data_schema()
    reference = jsonschema.Draft202012Validator(schema)
    cases = [good_answer()]
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda a: a["conditions"][0].update(confidence="high"),
        lambda a: a["conditions"][0].update(confidence=1.5),
        lambda a: a["vital_signs"][0].update(kind="blood_sugar"),
        lambda a: a["vital_signs"][0].pop("value"),
        lambda a: a.pop("allergies"),
        lambda a: a["problem_list"][0].update(evidence="not a list"),
        lambda a: a["medications"][0].update(as_needed="yes"),
        lambda a: a["problem_list"][0].update(rank=True),
    ]
    for mutate in mutations:
        answer = good_answer()
        mutate(answer)
        cases.append(answer)
    for case in cases:
        assert bool(validate(case, schema)) == (not reference.is_valid(case))


# -- grounding and rules ------------------------------------------------------------------------------------


def test_quote_locator_exact_then_flexible_and_successive_occurrences() -> None:
    note = "Metformin 500 mg.\nLater: metformin  500\nmg again."
    locator = QuoteLocator(note)
    first = locator.locate("metformin 500 mg", kind="m")
    assert first is not None and first.text == "Metformin 500 mg"  # case-insensitive fallback
    second = locator.locate("metformin 500 mg", kind="m")
    assert second is not None and second.text == "metformin  500\nmg"  # whitespace-flexible, next occurrence
    assert locator.locate("insulin", kind="m") is None
    assert locator.locate("   ", kind="m") is None


def test_ground_spans_checks_any_backends_offsets(rules: ClinicalRules) -> None:
    start = NOTE.index("HTN")
    good = c.Condition(c.Span(start, start + 3, "HTN"), "hypertension")
    shifted = c.Condition(c.Span(0, 3, "HTN"), "hypertension")  # wrong offsets, right text
    invented = c.Condition(c.Span(0, 5, "gout!"), "gout")
    data = c.ClinicalData(conditions=(good, shifted, invented))
    grounded, report = ground_spans(NOTE, data)
    assert report.dropped == 1 and report.reanchored == 1
    assert all(NOTE[x.span.start : x.span.end] == x.span.text for x in grounded.conditions)
    outcome = OutputValidator(rules).check(NOTE, data)
    assert outcome.grounding.dropped == 1


def test_rules_flag_implausible_vitals_and_drop_wrong_units(rules: ClinicalRules) -> None:
    span = c.Span(0, 3, "999")
    loinc = rules.loinc(c.VitalKind.HEART_RATE)
    implausible = c.VitalSign(c.VitalKind.HEART_RATE, c.Quantity(999, "/min"), loinc, span, confidence=0.9)
    wrong_unit = c.VitalSign(c.VitalKind.HEART_RATE, c.Quantity(80, "mg"), loinc, span)
    fahrenheit = c.VitalSign(c.VitalKind.BODY_TEMPERATURE, c.Quantity(105, "F"), loinc, span)
    data, report = rules.apply(c.ClinicalData(vital_signs=(implausible, wrong_unit, fahrenheit)))
    assert report.implausible_vitals == 1 and report.dropped_vitals == 1
    hr, temp = data.vital_signs
    assert hr.interpretation is c.VitalInterpretation.IMPLAUSIBLE and hr.confidence <= 0.3
    assert temp.quantity.unit == "[degF]" and temp.interpretation is c.VitalInterpretation.CRITICAL_HIGH
    assert temp.loinc.code == "8310-5"


def test_rules_check_icd_codes_exist_and_fit(rules: ClinicalRules) -> None:
    span = c.Span(0, 3, "CHF")

    def coded(code: str) -> c.Condition:
        return c.Condition(span, "congestive heart failure", (c.Coding(c.ICD10CM_SYSTEM, code),))

    data, report = rules.apply(c.ClinicalData(conditions=(coded("I509"), coded("E11.9"), coded("XYZ"))))
    assert [x.codings[0].code if x.codings else None for x in data.conditions] == ["I50.9", None, None]
    assert data.conditions[0].codings[0].display == "Heart failure, unspecified"
    assert report.removed_codes == 2


def test_rules_normalise_dose_units(rules: ClinicalRules) -> None:
    med = c.Medication(c.Span(0, 1, "x"), "albuterol", dose=c.Quantity(2, "puffs"), strength=c.Quantity(90, "mcg"))
    odd = c.Medication(c.Span(0, 1, "x"), "x", dose=c.Quantity(1, "spoonfuls"))
    data, report = rules.apply(c.ClinicalData(medications=(med, odd)))
    assert data.medications[0].dose == c.Quantity(2, "{puff}")
    assert data.medications[0].strength == c.Quantity(90, "ug")
    assert data.medications[1].dose is None and report.removed_doses == 1


# -- cache -------------------------------------------------------------------------------------------------


def _result() -> BackendResult:
    span = c.Span(3, 6, "HTN")
    data = c.ClinicalData(
        conditions=(c.Condition(span, "hypertension", (c.Coding(c.ICD10CM_SYSTEM, "I10", "Essential"),)),),
        medications=(c.Medication(span, "x", dose=c.Quantity(5.0, "mg"), frequency=c.Frequency("BID", "BID", 2.0)),),
        vital_signs=(
            c.VitalSign(c.VitalKind.HEART_RATE, c.Quantity(88, "/min"), c.Coding(c.LOINC_SYSTEM, "8867-4"), span),
        ),
        problem_list=(c.ProblemListEntry("hypertension", evidence=(span, span), rank=1),),
        no_known_allergies=True,
        no_known_allergies_span=span,
    )
    provenance = Provenance(
        "anthropic",
        "m",
        PromptRef("p", "1.0.0", "h"),
        DegradedReason.TIMEOUT,
        0.5,
        False,
        TokenUsage(1, 2, 3, 4),
        99,
    )
    return BackendResult(data, provenance, 2)


def test_codec_round_trips_a_result_and_rejects_garbage() -> None:
    result = _result()
    assert decode_result(encode_result(result)) == result
    for junk in (b"", b"{}", b'{"v": 99, "result": {}}', b'{"v": 1, "result": {"data": 5}}'):
        with pytest.raises(UndecodablePayload):
            decode_result(junk)


async def test_memory_cache_ttl_and_tenant_isolation() -> None:
    now = [100.0]
    cache = MemoryResultCache(max_entries=2, clock=lambda: now[0])
    await cache.put("a", "k", b"1", ttl_s=10)
    assert await cache.get("a", "k") == b"1"
    assert await cache.get("b", "k") is None
    now[0] += 11
    assert await cache.get("a", "k") is None
    for key in ("k1", "k2", "k3"):
        await cache.put("a", key, b"x", ttl_s=10)
    assert len(cache) == 2 and await cache.get("a", "k1") is None


def test_cache_key_depends_on_every_part() -> None:
    base = cache_key("h", "anthropic", "m", "1.0.0", c.ExtractionOptions())
    assert len(base) == 64
    assert base != cache_key("h2", "anthropic", "m", "1.0.0", c.ExtractionOptions())
    assert base != cache_key("h", "anthropic", "m", "1.1.0", c.ExtractionOptions())
    assert base != cache_key("h", "anthropic", "m2", "1.0.0", c.ExtractionOptions())
    assert base != cache_key("h", "anthropic", "m", "1.0.0", c.ExtractionOptions(include_fhir=True))
    options = c.ExtractionOptions(entity_types=frozenset({c.EntityType.MEDICATION, c.EntityType.CONDITION}))
    assert cache_key("h", "a", "m", "1", options) == cache_key("h", "a", "m", "1", options)
