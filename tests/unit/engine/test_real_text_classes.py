"""Error classes found on real dictated notes, each pinned with sentences written for this test.

One test per class of fix (not per note): negation phrases, lists, duration and dated history,
PRN indications, conditional circumstances, family temporality, possibility cues, problem-list
headers, allergy statements, combination names, code choice, and dictated vital signs.
"""

from __future__ import annotations

import pytest
from healthai_server.domain.clinical import ClinicalData, NoteSection, VitalKind
from healthai_server.engine import ClinicalEngine
from healthai_server.engine.resources import combination_name
from healthai_server.evaluation.clinical import drug_name_key


def _conditions(data: ClinicalData) -> dict[str, tuple[str, str, str, str]]:
    """surface (lower) -> (certainty, conditionality, association, temporality) of its last mention."""
    return {
        c.span.text.lower(): (
            c.assertion.certainty.value,
            c.assertion.conditionality.value,
            c.assertion.association.value,
            c.assertion.temporality.value,
        )
        for c in data.conditions
    }


def _certainty(engine: ClinicalEngine, text: str) -> dict[str, str]:
    return {surface: axes[0] for surface, axes in _conditions(engine.extract(text)).items()}


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("She has not had any chest pain or shortness of breath.", ["chest pain", "shortness of breath"]),
        ("He is not reporting palpitations, tremors, nausea, constipation or diarrhea.", ["diarrhea", "nausea"]),
        ("I do not see any evidence of cellulitis today.", ["cellulitis"]),
        ("Did not suffer from asthma, bronchitis, wheezing or cough.", ["cough", "wheezing"]),
        ("Review of systems is negative for fever, chills, gout, cataracts, glaucoma and hematuria.", ["hematuria"]),
        ("The CT scan was negative for pulmonary embolism.", ["pulmonary embolism"]),
        ("Nose: negative rhinorrhea.", ["rhinorrhea"]),
        ("Heart: regular rhythm without murmurs, rubs, heaves or gallops.", ["gallops"]),
        ("He has had no further seizures since then.", ["seizures"]),
        ("Eyes: (-) blurred vision.", ["blurred vision"]),
    ],
)
def test_negation_reaches_the_whole_list(engine: ClinicalEngine, text: str, negated: list[str]) -> None:
    certainty = _certainty(engine, text)
    for surface in negated:
        assert certainty[surface] == "negative", (surface, certainty)


@pytest.mark.parametrize(
    ("text", "present"),
    [
        ("No fever, has a cough.", "cough"),  # "has a" ends the negation's list
        ("She has some hemorrhoids, none of which are inflamed.", "hemorrhoids"),
        ("Take Tylenol No. 3 at bedtime for back pain.", "back pain"),
    ],
)
def test_what_ends_or_fakes_a_negation(engine: ClinicalEngine, text: str, present: str) -> None:
    assert _certainty(engine, text)[present] == "positive"


def test_duration_phrases_are_current_and_dated_events_past(engine: ClinicalEngine) -> None:
    found = _conditions(engine.extract("The boy has a three-day history of vomiting and a 24-hour history of fever."))
    assert found["vomiting"][3] == "current" and found["fever"][3] == "current"
    assert _conditions(engine.extract("4. Breast cancer in 1992."))["breast cancer"][3] == "past"
    assert _conditions(engine.extract("In 2004, her headaches returned."))["headaches"][3] == "past"
    # the date of this admission is not history
    assert _conditions(engine.extract("He was admitted on 10/27/07 with pneumonia."))["pneumonia"][3] == "current"


def test_prn_indications_are_hypothetical(engine: ClinicalEngine) -> None:
    text = (
        "MEDICATIONS:\n1. Acetaminophen 650 mg p.o. q.6h. p.r.n. fever.\n"
        "2. Lactulose 30 mL daily p.r.n. constipation.\n"
    )
    found = _conditions(engine.extract(text))
    assert found["fever"][1] == "hypothetical" and found["constipation"][1] == "hypothetical"


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("She continues to have pain with deep inspiration.", "pain"),
        ("He presented with dyspnea on minimal exertion.", "dyspnea"),
        ("He admits to exertional shortness of breath.", "shortness of breath"),
        ("The patient has increased back pain with stooping.", "back pain"),
    ],
)
def test_symptoms_under_a_circumstance_are_conditional(engine: ClinicalEngine, text: str, surface: str) -> None:
    assert _conditions(engine.extract(text))[surface][1] == "conditional"


def test_recurrence_and_symptoms_of_are_present_not_hypothetical(engine: ClinicalEngine) -> None:
    text = "He noted recurrence of his atrial fibrillation. Intermittent symptoms of bowel obstruction."
    found = _conditions(engine.extract(text))
    assert found["atrial fibrillation"][:2] == ("positive", "none")
    assert found["bowel obstruction"][:2] == ("positive", "none")


def test_risk_and_instruction_language_is_hypothetical(engine: ClinicalEngine) -> None:
    text = "Risk factors such as infection, swelling and numbness were explained. Call us for fever or vomiting."
    found = _conditions(engine.extract(text))
    for surface in ("infection", "numbness", "fever", "vomiting"):
        assert found[surface][1] == "hypothetical", surface


def test_family_conditions_are_other_and_current(engine: ClinicalEngine) -> None:
    text = "Her mother has a history of breast cancer. She has a brother who has diabetes."
    found = _conditions(engine.extract(text))
    assert found["breast cancer"][2:] == ("other", "current")
    assert found["diabetes"][2] == "other"
    found = _conditions(engine.extract("FAMILY HISTORY:\nFather with history of lung cancer.\n"))
    assert found["lung cancer"][2:] == ("other", "current")


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("Perhaps a very subtle tremor.", "tremor"),
        ("She is being evaluated for celiac disease.", "celiac disease"),
        ("A pancreatic neoplasm could not be excluded.", "neoplasm"),
        ("This could just be an arrhythmia.", "arrhythmia"),
        ("She is unsure if pyelonephritis was present.", "pyelonephritis"),
    ],
)
def test_possibility_cues(engine: ClinicalEngine, text: str, surface: str) -> None:
    assert _certainty(engine, text)[surface] == "neutral_possible"


def test_problem_list_is_current_and_past_conditions_headers_are_history(engine: ClinicalEngine) -> None:
    data = engine.extract("PROBLEM LIST:\n1. Hypertension.\n2. Osteoporosis.\n\nPAST MEDICAL CONDITIONS:\nGout.\n")
    by_surface = {c.span.text.lower(): c for c in data.conditions}
    assert by_surface["hypertension"].section is NoteSection.DIAGNOSES
    assert by_surface["hypertension"].assertion.temporality.value == "current"
    assert by_surface["gout"].section is NoteSection.PAST_MEDICAL_HISTORY


@pytest.mark.parametrize(
    "text",
    [
        "ALLERGIES:\nNone.\n\nMEDICATIONS:\nLisinopril 10 mg daily.\n",
        "ALLERGIES:\nNone known.\n",
        "ALLERGIES:\nDENIED.\n",
        "ALLERGIES:\nHe is not allergic to any medication.\n",
        "ALLERGIES:\nTO MEDICATIONS ARE NONE.  HE DENIES SHRIMP OR SEAFOOD ALLERGY.\n",
        "ALLERGIES:\nNo known medical allergies.\n",
    ],
)
def test_no_known_allergies_statements(engine: ClinicalEngine, text: str) -> None:
    data = engine.extract(text)
    assert data.no_known_allergies
    assert data.allergies == ()  # a denied allergen is no allergy


def test_allergy_statements_and_what_is_not_one(engine: ClinicalEngine) -> None:
    data = engine.extract(
        'He describes "allergy" to Haldol. His allergic reaction was to Keflex.\n'
        "Continue Claritin for allergies. He developed intolerance to lenalidomide.\n"
        "DRUG SENSITIVITIES:\nPenicillin.\n\nALLERGIES:\nEnvironmental.\n"
    )
    substances = {a.substance for a in data.allergies}
    assert {"haloperidol", "cephalexin", "penicillin", "environmental"} <= substances
    assert "loratadine" not in substances and "lenalidomide" not in substances
    medications = {m.name for m in data.medications}
    assert {"loratadine", "lenalidomide"} <= medications
    assert not {"haloperidol", "cephalexin"} & medications


def test_combination_products_are_named_with_a_slash(engine: ClinicalEngine) -> None:
    names = [m.name for m in engine.extract("MEDICATIONS: Vicodin, Augmentin, Demerol, quinine, Betadine.").medications]
    assert names[:4] == ["hydrocodone/acetaminophen", "amoxicillin/clavulanate", "meperidine", "quinine"]
    known = {"hydrocodone", "acetaminophen", "povidone"}
    assert combination_name("hydrocodone-acetaminophen", known) == "hydrocodone/acetaminophen"
    assert combination_name("povidone-iodine", known) == "povidone-iodine"  # "iodine" alone is not known here
    assert combination_name("omega-3 fatty acids", known) == "omega-3 fatty acids"
    assert drug_name_key("hydrocodone-acetaminophen") == drug_name_key("Hydrocodone / acetaminophen")


def test_code_choice_follows_the_icd10cm_index(engine: ClinicalEngine) -> None:
    data = engine.extract("Shortness of breath and SOB at night. Dyspnea. PND. Dyspnea on exertion.")
    codes = {c.span.text: c.codings[0].code for c in data.conditions}
    assert codes == {
        "Shortness of breath": "R06.02",
        "SOB": "R06.02",
        "Dyspnea": "R06.00",
        "PND": "R06.00",
        "Dyspnea on exertion": "R06.09",
    }
    surfaces = [c.span.text for c in engine.extract("No nausea, vomiting, or diarrhea.").conditions]
    assert surfaces == ["nausea", "vomiting", "diarrhea"]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("The patient's heart rate went down to 50s overnight.", VitalKind.HEART_RATE, 50),
        ("Pulse of 84, respirations are 16.", VitalKind.RESPIRATORY_RATE, 16),
        ("Sinus bradycardia at the rate of 51 beats per minute.", VitalKind.HEART_RATE, 51),
        ("Respiratory rate increased to 34 breaths per minute.", VitalKind.RESPIRATORY_RATE, 34),
        ("BP Standing:  116/68 today.", VitalKind.SYSTOLIC_BLOOD_PRESSURE, 116),
        ("Oxygen saturations on room air are 80.", VitalKind.OXYGEN_SATURATION, 80),
        ("His pain is a 5 to 6 on a scale of 1 to 10.", VitalKind.PAIN_SCORE, 5),
        ("The pain is at least 3-4/10 most days.", VitalKind.PAIN_SCORE, 3),
    ],
)
def test_dictated_vital_signs(engine: ClinicalEngine, text: str, kind: VitalKind, value: float) -> None:
    values = {v.kind: v.quantity.value for v in engine.extract(text).vital_signs}
    assert values.get(kind) == value, values


def test_plurals_of_one_word_names_and_new_lexicon_findings(engine: ClinicalEngine) -> None:
    data = engine.extract("He has had two strokes and has old scars. She reports mood swings and hair loss.")
    codes = {c.span.text: (c.codings[0].code if c.codings else None) for c in data.conditions}
    stroke = engine.extract("History of stroke.").conditions[0]
    assert codes["strokes"] == stroke.codings[0].code
    assert codes["scars"] == "L90.5"
    assert codes["mood swings"] == "R45.86" and codes["hair loss"] == "L65.9"
