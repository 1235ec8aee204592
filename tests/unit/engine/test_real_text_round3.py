"""Round-3 error classes on real dictated notes, each pinned with sentences written for this test.

Condition recall: findings written as adjectives ("somnolent"), "<qualifier> <head>" findings
("radicular symptoms"), plurals of longer names ("gastric ulcers"), generic exam findings
("no deformity"); medications written as therapeutic classes ("antibiotics"); narrative past
tense scoped to a past event ("had a stroke in 2009").
"""

from __future__ import annotations

from healthai_server.engine import ClinicalEngine


def _found(engine: ClinicalEngine, text: str) -> dict[str, str | None]:
    return {c.span.text.lower(): (c.codings[0].code if c.codings else None) for c in engine.extract(text).conditions}


def test_findings_written_as_adjectives_take_the_nouns_concept(engine: ClinicalEngine) -> None:
    found = _found(engine, "On arrival she was somnolent, tachycardic and diaphoretic; both legs edematous.")
    assert found["somnolent"] == "R40.0"
    assert found["tachycardic"] == "R00.0"
    assert "edematous" in found


def test_a_derived_adjective_after_non_is_no_finding(engine: ClinicalEngine) -> None:
    found = _found(engine, "Abdomen soft, non-tender. Calf tender to touch.")
    assert list(found) == ["tender"]
    assert "red" not in _found(engine, "Red blood cell count was normal.")


def test_qualified_head_nouns_are_findings_and_pointing_words_are_not(engine: ClinicalEngine) -> None:
    found = _found(engine, "He reports radicular symptoms and psychiatric problems; nasal turbinate hypertrophy.")
    assert {"radicular symptoms", "psychiatric problems"} <= set(found)
    assert any("hypertrophy" in surface for surface in found)
    assert not _found(engine, "These symptoms began after discharge. Other medical problems are listed below.")


def test_plurals_of_longer_names_and_abbreviations(engine: ClinicalEngine) -> None:
    found = _found(engine, "Known gastric ulcers. Two myocardial infarctions. She has had TIAs before.")
    assert found["myocardial infarctions"] == "I21.9"
    assert "gastric ulcers" in found and "tias" in found


def test_generic_exam_findings_are_reported_uncoded(engine: ClinicalEngine) -> None:
    found = _found(engine, "Extremities: no deformity, no crepitus. Scattered abrasions over the knee.")
    assert found == {"deformity": None, "crepitus": None, "abrasions": None}


def _medications(engine: ClinicalEngine, text: str) -> dict[str, str]:
    return {m.span.text.lower(): m.name for m in engine.extract(text).medications}


def test_marked_therapeutic_classes_and_products_are_medications(engine: ClinicalEngine) -> None:
    meds = _medications(
        engine, "We started IV fluid and a stool softener. She takes oral contraceptives and uses home oxygen 2 L."
    )
    assert meds == {
        "iv fluid": "intravenous fluid",
        "stool softener": "stool softener",
        "oral contraceptives": "oral contraceptive",
        "home oxygen": "oxygen",
    }


def test_oxygen_as_a_measurement_is_no_medication(engine: ClinicalEngine) -> None:
    assert not _medications(engine, "O2 saturation 97% on room air. O2 93%. Oxygen saturation was normal.")


def test_a_class_under_an_allergy_header_is_an_allergen(engine: ClinicalEngine) -> None:
    data = engine.extract("ALLERGIES: Narcotics.\n")
    assert not data.medications
    assert [a.substance for a in data.allergies] == ["opioid"]


def test_a_combined_family_social_and_allergy_header_keeps_drugs_and_conditions(engine: ClinicalEngine) -> None:
    data = engine.extract(
        "FAMILY, SOCIAL\n\nAND ALLERGY HISTORY:\nShe has eczema. She is on Daypro. No known drug allergies.\n"
    )
    assert [m.name for m in data.medications] == ["oxaprozin"]
    assert not data.allergies and data.no_known_allergies
    assert [c.span.text for c in data.conditions] == ["eczema"]


def _assertions(engine: ClinicalEngine, text: str) -> dict[str, tuple[str, str]]:
    return {
        c.span.text.lower(): (c.assertion.certainty.value, c.assertion.temporality.value)
        for c in engine.extract(text).conditions
    }


def test_evaluation_of_a_complaint_is_present_and_evaluate_for_stays_possible(engine: ClinicalEngine) -> None:
    found = _assertions(engine, "She comes in for evaluation of knee pain. We will evaluate for gout.")
    assert found["knee pain"] == ("positive", "current")
    assert found["gout"][0] == "neutral_possible"


def test_possible_reaches_only_the_next_few_words_of_a_list(engine: ClinicalEngine) -> None:
    found = _assertions(engine, "History notable for possible asthma, chronic sinusitis, hypertension and gout.")
    assert found["asthma"][0] == "neutral_possible"
    assert found["gout"][0] == "positive"


def test_probable_cues_written_as_clinical_judgement(engine: ClinicalEngine) -> None:
    found = _assertions(engine, "I think this is reflux. The rash appears to be tinea. Findings compatible with gout.")
    assert found["reflux"][0] == found["tinea"][0] == found["gout"][0] == "possible_positive"


def test_narrative_past_scoped_to_a_told_event(engine: ClinicalEngine) -> None:
    found = _assertions(
        engine,
        "He had a stroke on 03/14/09. He was admitted on 03/14/09 with pneumonia. "
        "She was hospitalized for pancreatitis. She was diagnosed with bursitis at age 30.",
    )
    assert found["stroke"][1] == "past"
    assert found["pneumonia"][1] == "current"  # a day's date alone is this encounter's
    assert found["pancreatitis"][1] == "past"
    assert found["bursitis"][1] == "past"


def test_awareness_findings_and_the_indication_of_a_prn_drug(engine: ClinicalEngine) -> None:
    found = _found(engine, "He was obtunded and briefly unresponsive, now with mild discomfort. Tylenol for pain.")
    assert found == {"obtunded": "R40.0", "unresponsive": "R40.4", "discomfort": None, "pain": "R52"}
