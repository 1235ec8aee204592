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
