"""The two dangerous errors of issue 10: an allergen reported as an active medication, and a
medication list read as allergies. Both come from section boundaries in real notes."""

from __future__ import annotations

from healthai_server.engine import ClinicalEngine


def test_home_medications_after_allergies_are_not_allergies(engine: ClinicalEngine) -> None:
    text = (
        "ALLERGIES:\nPenicillin causes hives.\n\n"
        "MEDICATIONS AT HOME:\nLisinopril 10 mg daily, metformin 500 mg b.i.d., aspirin 81 mg daily.\n"
    )
    data = engine.extract(text)
    assert [a.substance for a in data.allergies] == ["penicillin"]
    assert sorted(m.name for m in data.medications) == ["aspirin", "lisinopril", "metformin"]


def test_a_drug_under_an_allergy_header_is_never_a_medication(engine: ClinicalEngine) -> None:
    for header in ("ALLERGIES TO MEDICATIONS:", "DRUG ALLERGIES:", "Allergies:", "MEDICATION ALLERGIES:"):
        text = f"CURRENT MEDICATIONS:\nAs outlined.\n\n{header}\nErythromycin.\n\nREVIEW OF SYSTEMS:\nNegative.\n"
        data = engine.extract(text)
        assert [m.name for m in data.medications] == [], header
        assert [a.substance for a in data.allergies] == ["erythromycin"], header


def test_a_medication_section_never_yields_allergies(engine: ClinicalEngine) -> None:
    text = "MEDICATIONS:\nZyrtec 10 mg daily for allergies, Claritin for allergy season.\nALLERGIES: NKDA.\n"
    data = engine.extract(text)
    assert data.allergies == ()
    assert {m.name for m in data.medications} >= {"cetirizine"}
    assert data.no_known_allergies


def test_dictated_run_together_headers(engine: ClinicalEngine) -> None:
    text = "ALLERGIES: Sulfa. HOME MEDICATIONS: Metoprolol 25 mg b.i.d. and Norvasc 5 mg daily."
    data = engine.extract(text)
    assert [a.substance for a in data.allergies] == ["sulfonamide"]
    assert sorted(m.name for m in data.medications) == ["amlodipine", "metoprolol"]
