import pytest
from healthai_server.domain.clinical import Assertion, Association, Certainty, Conditionality, Temporality
from healthai_server.engine import ClinicalEngine
from healthai_server.engine.context import Category, Direction, parse_rules
from healthai_server.engine.resources import RuleDataError


def _assertion(engine: ClinicalEngine, text: str, surface: str, occurrence: int = 0) -> Assertion:
    data = engine.extract(text)
    hits = [c for c in data.conditions if c.span.text == surface]
    assert len(hits) > occurrence, [c.span.text for c in data.conditions]
    return hits[occurrence].assertion


def test_rules_are_data_and_validated() -> None:
    rules = parse_rules([{"literal": "denies", "category": "NEGATED_EXISTENCE", "direction": "forward"}])
    assert rules[0].category is Category.NEGATED_EXISTENCE and rules[0].direction is Direction.FORWARD
    with pytest.raises(RuleDataError):
        parse_rules([{"literal": "x", "category": "TERMINATE", "direction": "forward"}])
    with pytest.raises(RuleDataError):
        parse_rules([{"literal": "x", "category": "NOPE", "direction": "forward"}])


@pytest.mark.parametrize(
    ("text", "surface", "certainty"),
    [
        ("Denies fever, chills, or cough.", "cough", Certainty.NEGATIVE),
        ("REVIEW OF SYSTEMS:\nConstitutional: No fever.", "fever", Certainty.NEGATIVE),
        ("ROS: Negative for chest pain.", "chest pain", Certainty.NEGATIVE),
        ("Rule out pneumonia.", "pneumonia", Certainty.NEUTRAL_POSSIBLE),
        ("? pneumonia on CXR.", "pneumonia", Certainty.NEUTRAL_POSSIBLE),
        ("Likely pneumonia.", "pneumonia", Certainty.POSSIBLE_POSITIVE),
        ("Suspected appendicitis.", "appendicitis", Certainty.POSSIBLE_POSITIVE),
        ("PE is unlikely.", "PE", Certainty.POSSIBLE_NEGATIVE),
        ("No fever but has cough.", "cough", Certainty.POSITIVE),
        ("Patient has pneumonia.", "pneumonia", Certainty.POSITIVE),
    ],
)
def test_certainty(engine: ClinicalEngine, text: str, surface: str, certainty: Certainty) -> None:
    assert _assertion(engine, text, surface).certainty is certainty


def test_conditionality(engine: ClinicalEngine) -> None:
    assert _assertion(engine, "Return if chest pain.", "chest pain").conditionality is Conditionality.HYPOTHETICAL
    text = "Should he develop fever, call."
    assert _assertion(engine, text, "fever").conditionality is Conditionality.HYPOTHETICAL


def test_family(engine: ClinicalEngine) -> None:
    a = _assertion(engine, "Mother with breast cancer.", "breast cancer")
    assert a.association is Association.OTHER and a.relation == "mother"
    a = _assertion(engine, "FAMILY HISTORY: Father had MI.\n", "MI")
    assert a.association is Association.OTHER and a.relation == "father"
    # a relation word alone does not make a family mention
    a = _assertion(engine, "Mother reports fever.", "fever")
    assert a.association is Association.SUBJECT


def test_temporality(engine: ClinicalEngine) -> None:
    assert _assertion(engine, "History of stroke.", "stroke").temporality is Temporality.PAST
    assert _assertion(engine, "PMH: HTN\n", "HTN").temporality is Temporality.PAST
    a = _assertion(engine, "No history of stroke.", "stroke")
    assert a.temporality is Temporality.PAST and a.certainty is Certainty.NEGATIVE


def _conditions(engine: ClinicalEngine, text: str) -> dict[str, Assertion]:
    return {c.span.text: c.assertion for c in engine.extract(text).conditions}


def test_risk_and_consent_lists_are_hypothetical(engine: ClinicalEngine) -> None:
    text = (
        "The risks including bleeding, infection, deep vein thrombosis, MI, stroke and death were discussed. "
        "Toxicities were discussed with her including mucositis, diarrhea, nausea and neuropathy.\n"
    )
    found = _conditions(engine, text)
    for name in ("deep vein thrombosis", "MI", "stroke", "mucositis", "diarrhea", "nausea", "neuropathy"):
        assert found[name].conditionality is Conditionality.HYPOTHETICAL, name


def test_instructions_and_prevention_are_hypothetical(engine: ClinicalEngine) -> None:
    text = "Coumadin to prevent stroke. Return to the emergency room if fever or chest pain. Watch for signs of sepsis."
    found = _conditions(engine, text)
    for name in ("stroke", "fever", "chest pain", "sepsis"):
        assert found[name].conditionality is Conditionality.HYPOTHETICAL, name


def test_screening_and_rule_out_are_possible_not_present(engine: ClinicalEngine) -> None:
    found = _conditions(engine, "Colonoscopy to screen for colon cancer. CT to rule out pulmonary embolism.")
    assert found["colon cancer"].certainty is Certainty.NEUTRAL_POSSIBLE
    assert found["pulmonary embolism"].certainty is Certainty.NEUTRAL_POSSIBLE


def test_resolved_history_is_not_an_active_problem_but_chronic_history_is(engine: ClinicalEngine) -> None:
    text = "PAST MEDICAL HISTORY:\nHypertension. Asthma as a child. Depression, now resolved.\n"
    data = engine.extract(text)
    resolved = {c.span.text: c.resolved for c in data.conditions}
    assert resolved == {"Hypertension": False, "Asthma": True, "Depression": True}
    assert [p.name for p in data.problem_list] == ["hypertension"]
